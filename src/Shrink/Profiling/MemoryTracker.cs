namespace Shrink.Profiling;

/// <summary>
/// Bytes of pooled tensor storage and kernel workspace currently rented, and the high-water mark since the last
/// <see cref="Reset"/>: the engine's own account of activation, gradient and scratch memory (parameters, their
/// gradients and optimizer state are not pooled and are not counted). Thread-safe; costs one interlocked add per rent.
/// </summary>
public static class MemoryTracker
{
    private static long s_live, s_peak;

    public static long LiveBytes => Volatile.Read(ref s_live);
    public static long PeakBytes => Volatile.Read(ref s_peak);

    /// <summary>Starts a new high-water mark at the current live bytes.</summary>
    public static void Reset() => Volatile.Write(ref s_peak, Volatile.Read(ref s_live));

    internal static void Rented(long bytes)
    {
        long live = Interlocked.Add(ref s_live, bytes);
        long peak;
        while (live > (peak = Volatile.Read(ref s_peak)) && Interlocked.CompareExchange(ref s_peak, live, peak) != peak) { }
    }

    internal static void Returned(long bytes) => Interlocked.Add(ref s_live, -bytes);
}

namespace Shrink.Data;

/// <summary>
/// A small, fast, splittable generator (SplitMix64) for the data layer. A stream is fully determined by the
/// values it is created from (seed, epoch, position...), never by which thread draws from it or when, which is
/// what makes shuffling and augmentation reproducible with prefetching on.
/// </summary>
internal struct SeededRandom
{
    private ulong _state;

    public SeededRandom(params ReadOnlySpan<long> keys)
    {
        ulong s = 0x9E3779B97F4A7C15UL;
        foreach (long k in keys) s = Mix(s ^ (ulong)k) + 0x9E3779B97F4A7C15UL;
        _state = s;
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n); n must be positive.</summary>
    public int Next(int n) => (int)((NextUInt64() >> 33) * (ulong)n >> 31);

    /// <summary>Uniform integer in [low, high] (inclusive).</summary>
    public int NextInclusive(int low, int high) => low + Next(high - low + 1);

    public bool NextBool() => (NextUInt64() >> 63) != 0;

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

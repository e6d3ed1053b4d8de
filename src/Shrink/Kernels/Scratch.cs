using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Shrink.Tensors;

namespace Shrink.Kernels;

/// <summary>
/// The kernels' own memory outside tensors: thread-local scratch arrays (pack buffers, im2col workspaces) grown on demand
/// and never shrunk, pinned arrays of packed weights, and native memory for one call's packed weights. Everything is
/// handed out 64-byte aligned. Pinned arrays are used through pointers with no <c>fixed</c> block, and a write past one
/// corrupts the pinned heap's next object, which crashes the GC much later somewhere else. So under SHRINK_GUARD each
/// allocation ends in the sentinel, checked when the kernel that filled it is done (or, for scratch, on its next call):
/// the process stops naming the culprit instead.
/// </summary>
internal static unsafe class Scratch
{
    private const int Align = 16; // floats of slack for the 64-byte alignment

    private static int Slack => Align + Tensor.GuardSlack;

    /// <summary>A 64-byte aligned pointer to at least <paramref name="floats"/> floats of <paramref name="array"/>
    /// (grown when shorter). <paramref name="tracked"/>: the floats are counted by <see cref="Profiling.MemoryTracker"/>.</summary>
    public static float* Grow(ref float[]? array, long floats, bool tracked = false)
    {
        if (array != null) Check(array, "a kernel's scratch");
        if (array == null || array.Length - Slack < floats)
        {
            if (array != null && tracked) Profiling.MemoryTracker.Returned((long)(array.Length - Slack) * sizeof(float));
            array = Pinned(floats, out _, "Kernel scratch");
            if (tracked) Profiling.MemoryTracker.Rented(floats * sizeof(float));
        }
        return Aligned(array);
    }

    /// <summary>
    /// A pinned array with room for <paramref name="floats"/> floats from the 64-byte aligned <paramref name="aligned"/>,
    /// ending in the guard (see <see cref="Check"/>). <paramref name="what"/> names it in the error when it is too large.
    /// </summary>
    public static float[] Pinned(long floats, out float* aligned, string what)
    {
        if (floats + Slack > Array.MaxLength) throw new ArgumentException($"{what} of {floats} floats is too large; use a smaller batch.");
        var array = GC.AllocateUninitializedArray<float>((int)floats + Slack, pinned: true);
        Tensor.SetGuard(array, array.Length - Tensor.GuardSlack);
        aligned = Aligned(array);
        return array;
    }

    /// <summary>Under SHRINK_GUARD, stops the process when something wrote past the end of an array from
    /// <see cref="Pinned"/> or <see cref="Grow"/> (<paramref name="what"/> names it); otherwise a no-op.</summary>
    public static void Check(float[] array, string what)
    {
        if (Tensor.Guarded && Tensor.GuardBreach(array, array.Length - Tensor.GuardSlack) is int at and >= 0)
            Environment.FailFast($"SHRINK_GUARD: something wrote past the end of {what} ({array.Length - Slack} floats; element {at}).");
    }

    /// <summary>64-byte aligned native memory for <paramref name="floats"/> floats, counted by
    /// <see cref="Profiling.MemoryTracker"/> and ending in the guard; give it back with <see cref="FreeNative"/>.</summary>
    public static float* AllocNative(long floats)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)((floats + Tensor.GuardSlack) * sizeof(float)), 64);
        Tensor.SetGuard(new Span<float>(p + floats, Tensor.GuardSlack));
        Profiling.MemoryTracker.Rented(floats * sizeof(float));
        return p;
    }

    /// <summary>Frees memory from <see cref="AllocNative"/>, first checking (under SHRINK_GUARD) that nothing wrote past it.</summary>
    public static void FreeNative(float* p, long floats, string what)
    {
        if (Tensor.Guarded && Tensor.GuardBreach(new ReadOnlySpan<float>(p + floats, Tensor.GuardSlack)) is int at and >= 0)
            Environment.FailFast($"SHRINK_GUARD: something wrote past the end of {what} ({floats} floats; element {floats + at}).");
        NativeMemory.AlignedFree(p);
        Profiling.MemoryTracker.Returned(floats * sizeof(float));
    }

    /// <summary>The first 64-byte aligned element of a pinned <paramref name="array"/>.</summary>
    public static float* Aligned(float[] array)
    {
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (float*)((p + 63) & ~(nint)63);
    }
}

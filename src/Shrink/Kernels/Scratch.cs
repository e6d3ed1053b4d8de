using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Shrink.Tensors;

namespace Shrink.Kernels;

/// <summary>
/// The kernels' thread-local scratch arrays (pack buffers, im2col workspaces): pinned, because pointers into them are
/// used with no <c>fixed</c> block; grown on demand and never shrunk; handed out 64-byte aligned. Under SHRINK_GUARD
/// each array ends in the sentinel, checked on every later call for the same array, so a kernel that wrote past its
/// scratch is stopped at its next call rather than corrupting the pinned heap.
/// </summary>
internal static unsafe class Scratch
{
    private const int Align = 16; // floats of slack for the 64-byte alignment

    private static int Slack => Align + Tensor.GuardSlack;

    /// <summary>A 64-byte aligned pointer to at least <paramref name="floats"/> floats of <paramref name="array"/>
    /// (grown when shorter). <paramref name="tracked"/>: the floats are counted by <see cref="Profiling.MemoryTracker"/>.</summary>
    public static float* Grow(ref float[]? array, long floats, bool tracked = false)
    {
        if (array != null && Tensor.Guarded && Tensor.GuardBreach(array, array.Length - Tensor.GuardSlack) is int at and >= 0)
            Environment.FailFast($"SHRINK_GUARD: a kernel wrote past the end of its {array.Length - Slack}-float scratch (element {at}).");
        if (array == null || array.Length - Slack < floats)
        {
            if (floats + Slack > Array.MaxLength) throw new ArgumentException($"Kernel scratch of {floats} floats is too large; use a smaller batch.");
            if (array != null && tracked) Profiling.MemoryTracker.Returned((long)(array.Length - Slack) * sizeof(float));
            array = GC.AllocateUninitializedArray<float>((int)floats + Slack, pinned: true);
            Tensor.SetGuard(array, array.Length - Tensor.GuardSlack);
            if (tracked) Profiling.MemoryTracker.Rented(floats * sizeof(float));
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (float*)((p + 63) & ~(nint)63);
    }
}

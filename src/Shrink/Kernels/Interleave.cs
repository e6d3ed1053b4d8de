using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shrink.Kernels;

/// <summary>
/// Even/odd de-interleaving of float streams: the stride-2 column gathers of im2col and col2im, and 2×2 pooling.
/// The register-level <c>Split</c>/<c>Merge</c> pairs are pure data movement (bit-exact); the span loops use
/// Vector512 (AVX-512F) → Vector256 (AVX2) → Vector128 (SSE) → scalar, with the same answer on every path.
/// SHRINK_FORCE_SCALAR=1 (or no hardware intrinsics) takes the scalar path.
/// </summary>
internal static class Interleave
{
    private static readonly Vector512<int> s_even512 = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> s_odd512 = s_even512 + Vector512<int>.One;
    private static readonly Vector512<int> s_low512 = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> s_high512 = s_low512 + Vector512.Create(8);

    internal static bool Use512 => !SpatialVector.ForceScalar && Avx512F.IsSupported && Vector512.IsHardwareAccelerated;
    internal static bool Use256 => !SpatialVector.ForceScalar && Avx2.IsSupported && Vector256.IsHardwareAccelerated;
    internal static bool Use128 => !SpatialVector.ForceScalar && Sse.IsSupported && Vector128.IsHardwareAccelerated;

    /// <summary>(a0 a2 … b0 b2 …, a1 a3 … b1 b3 …): the even and odd elements of the 32 floats a‖b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> Even, Vector512<float> Odd) Split(Vector512<float> a, Vector512<float> b) =>
        (Avx512F.PermuteVar16x32x2(a, s_even512, b), Avx512F.PermuteVar16x32x2(a, s_odd512, b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Even, Vector256<float> Odd) Split(Vector256<float> a, Vector256<float> b) =>
        (Avx2.Permute4x64(Avx.Shuffle(a, b, 0x88).AsDouble(), 0xD8).AsSingle(),
         Avx2.Permute4x64(Avx.Shuffle(a, b, 0xDD).AsDouble(), 0xD8).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<float> Even, Vector128<float> Odd) Split(Vector128<float> a, Vector128<float> b) =>
        (Sse.Shuffle(a, b, 0x88), Sse.Shuffle(a, b, 0xDD));

    /// <summary>The inverse of <c>Split</c>: (e0 o0 e1 o1 …, … e15 o15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> Low, Vector512<float> High) Merge(Vector512<float> even, Vector512<float> odd) =>
        (Avx512F.PermuteVar16x32x2(even, s_low512, odd), Avx512F.PermuteVar16x32x2(even, s_high512, odd));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Low, Vector256<float> High) Merge(Vector256<float> even, Vector256<float> odd)
    {
        Vector256<float> lo = Avx.UnpackLow(even, odd), hi = Avx.UnpackHigh(even, odd); // (e0 o0 e1 o1 | e4 o4 e5 o5), (e2 … | e6 …)
        return (Avx.Permute2x128(lo, hi, 0x20), Avx.Permute2x128(lo, hi, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<float> Low, Vector128<float> High) Merge(Vector128<float> even, Vector128<float> odd) =>
        (Sse.UnpackLow(even, odd), Sse.UnpackHigh(even, odd));

    /// <summary>dst[t] = src[2t] for t &lt; dst.Length; reads src[0 .. 2·dst.Length − 2] only.</summary>
    public static void GatherEven(ReadOnlySpan<float> src, Span<float> dst)
    {
        int n = dst.Length, t = 0;
        if (n == 0) return;
        if (src.Length < 2 * n - 1) throw new ArgumentException("GatherEven: source shorter than 2·n − 1.");
        ref float s = ref MemoryMarshal.GetReference(src);
        ref float d = ref MemoryMarshal.GetReference(dst);
        // A vector block of V outputs reads 2V inputs, the last one odd: it must lie before the last even input, 2n − 2.
        if (Use512)
            for (; t + 16 < n; t += 16)
                Split(Vector512.LoadUnsafe(ref s, (nuint)(2 * t)), Vector512.LoadUnsafe(ref s, (nuint)(2 * t + 16))).Even.StoreUnsafe(ref d, (nuint)t);
        if (Use256)
            for (; t + 8 < n; t += 8)
                Split(Vector256.LoadUnsafe(ref s, (nuint)(2 * t)), Vector256.LoadUnsafe(ref s, (nuint)(2 * t + 8))).Even.StoreUnsafe(ref d, (nuint)t);
        if (Use128)
            for (; t + 4 < n; t += 4)
                Split(Vector128.LoadUnsafe(ref s, (nuint)(2 * t)), Vector128.LoadUnsafe(ref s, (nuint)(2 * t + 4))).Even.StoreUnsafe(ref d, (nuint)t);
        for (; t < n; t++) Unsafe.Add(ref d, t) = Unsafe.Add(ref s, 2 * t);
    }

    /// <summary>dst[2t] += src[t] for t &lt; src.Length; touches dst[0 .. 2·src.Length − 2] only (the odd elements in
    /// between are read and written back unchanged, so no other thread may write them meanwhile).</summary>
    public static void AddEven(ReadOnlySpan<float> src, Span<float> dst)
    {
        int n = src.Length, t = 0;
        if (n == 0) return;
        if (dst.Length < 2 * n - 1) throw new ArgumentException("AddEven: destination shorter than 2·n − 1.");
        ref float s = ref MemoryMarshal.GetReference(src);
        ref float d = ref MemoryMarshal.GetReference(dst);
        if (Use512)
            for (; t + 16 < n; t += 16)
            {
                var (e, o) = Split(Vector512.LoadUnsafe(ref d, (nuint)(2 * t)), Vector512.LoadUnsafe(ref d, (nuint)(2 * t + 16)));
                var (lo, hi) = Merge(e + Vector512.LoadUnsafe(ref s, (nuint)t), o);
                lo.StoreUnsafe(ref d, (nuint)(2 * t));
                hi.StoreUnsafe(ref d, (nuint)(2 * t + 16));
            }
        if (Use256)
            for (; t + 8 < n; t += 8)
            {
                var (e, o) = Split(Vector256.LoadUnsafe(ref d, (nuint)(2 * t)), Vector256.LoadUnsafe(ref d, (nuint)(2 * t + 8)));
                var (lo, hi) = Merge(e + Vector256.LoadUnsafe(ref s, (nuint)t), o);
                lo.StoreUnsafe(ref d, (nuint)(2 * t));
                hi.StoreUnsafe(ref d, (nuint)(2 * t + 8));
            }
        if (Use128)
            for (; t + 4 < n; t += 4)
            {
                var (e, o) = Split(Vector128.LoadUnsafe(ref d, (nuint)(2 * t)), Vector128.LoadUnsafe(ref d, (nuint)(2 * t + 4)));
                var (lo, hi) = Merge(e + Vector128.LoadUnsafe(ref s, (nuint)t), o);
                lo.StoreUnsafe(ref d, (nuint)(2 * t));
                hi.StoreUnsafe(ref d, (nuint)(2 * t + 4));
            }
        for (; t < n; t++) Unsafe.Add(ref d, 2 * t) += Unsafe.Add(ref s, t);
    }
}

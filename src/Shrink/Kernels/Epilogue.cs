using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Shrink.Kernels;

/// <summary>
/// The activation epilogue of fused layers: dst[i] = min(max(src[i] + bias, lo), hi) — bias then clamp, so ReLU is
/// (0, +∞), ReLU6 (0, 6), no activation (−∞, +∞). src may equal dst (in place); otherwise they must not overlap.
/// Vector512 → Vector256 → Vector128 → scalar, identical results on every path (one add, then max, then min; a NaN
/// input gives NaN on the vector paths and lo/hi-clamped NaN is not guaranteed on the scalar path either way).
/// </summary>
public static unsafe class Epilogue
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BiasClamp(float* src, float bias, float lo, float hi, float* dst, int n)
    {
        bool clampLo = lo != float.NegativeInfinity, clampHi = hi != float.PositiveInfinity;
        if (bias == 0 && !clampLo && !clampHi)
        {
            if (src != dst) new ReadOnlySpan<float>(src, n).CopyTo(new Span<float>(dst, n));
            return;
        }
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> b = Vector512.Create(bias), l = Vector512.Create(lo), h = Vector512.Create(hi);
            for (; i + 16 <= n; i += 16)
                Vector512.Store(Vector512.Min(Vector512.Max(Vector512.Load(src + i) + b, l), h), dst + i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> b = Vector256.Create(bias), l = Vector256.Create(lo), h = Vector256.Create(hi);
            for (; i + 8 <= n; i += 8)
                Vector256.Store(Vector256.Min(Vector256.Max(Vector256.Load(src + i) + b, l), h), dst + i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> b = Vector128.Create(bias), l = Vector128.Create(lo), h = Vector128.Create(hi);
            for (; i + 4 <= n; i += 4)
                Vector128.Store(Vector128.Min(Vector128.Max(Vector128.Load(src + i) + b, l), h), dst + i);
        }
        for (; i < n; i++) dst[i] = MathF.Min(MathF.Max(src[i] + bias, lo), hi);
    }
}

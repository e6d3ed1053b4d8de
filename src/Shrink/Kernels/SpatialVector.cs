using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Shrink.Kernels;

/// <summary>
/// Small fused vector loops the spatial kernels share (Vector512 → Vector256 → Vector128 → scalar tail).
/// Each is one pass over contiguous spans; outputs may alias nothing but themselves. NaNs propagate.
/// Setting SHRINK_FORCE_SCALAR=1 forces the scalar path so both are tested on one machine.
/// </summary>
internal static class SpatialVector
{
    internal static readonly bool ForceScalar = Environment.GetEnvironmentVariable("SHRINK_FORCE_SCALAR") == "1";

    /// <summary>y[i] += a·x[i].</summary>
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (y.Length < n) throw new ArgumentException("Axpy: y shorter than x.");
        if (!ForceScalar)
        {
            if (Vector512.IsHardwareAccelerated && n >= 16)
            {
                var av = Vector512.Create(a);
                for (; i <= n - 16; i += 16)
                    Vector512.StoreUnsafe(Vector512.LoadUnsafe(ref yr, (nuint)i) + av * Vector512.LoadUnsafe(ref xr, (nuint)i), ref yr, (nuint)i);
            }
            if (Vector256.IsHardwareAccelerated && n - i >= 8)
            {
                var av = Vector256.Create(a);
                for (; i <= n - 8; i += 8)
                    Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref yr, (nuint)i) + av * Vector256.LoadUnsafe(ref xr, (nuint)i), ref yr, (nuint)i);
            }
            if (Vector128.IsHardwareAccelerated && n - i >= 4)
            {
                var av = Vector128.Create(a);
                for (; i <= n - 4; i += 4)
                    Vector128.StoreUnsafe(Vector128.LoadUnsafe(ref yr, (nuint)i) + av * Vector128.LoadUnsafe(ref xr, (nuint)i), ref yr, (nuint)i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref yr, i) += a * Unsafe.Add(ref xr, i);
    }

    /// <summary>Σ x[i]·y[i] (float accumulation in vector lanes, then summed).</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = x.Length, i = 0;
        if (y.Length < n) throw new ArgumentException("Dot: y shorter than x.");
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        float sum = 0;
        if (!ForceScalar)
        {
            if (Vector512.IsHardwareAccelerated && n >= 16)
            {
                var acc = Vector512<float>.Zero;
                for (; i <= n - 16; i += 16)
                    acc += Vector512.LoadUnsafe(ref xr, (nuint)i) * Vector512.LoadUnsafe(ref yr, (nuint)i);
                sum += Vector512.Sum(acc);
            }
            if (Vector256.IsHardwareAccelerated && n - i >= 8)
            {
                var acc = Vector256<float>.Zero;
                for (; i <= n - 8; i += 8)
                    acc += Vector256.LoadUnsafe(ref xr, (nuint)i) * Vector256.LoadUnsafe(ref yr, (nuint)i);
                sum += Vector256.Sum(acc);
            }
            if (Vector128.IsHardwareAccelerated && n - i >= 4)
            {
                var acc = Vector128<float>.Zero;
                for (; i <= n - 4; i += 4)
                    acc += Vector128.LoadUnsafe(ref xr, (nuint)i) * Vector128.LoadUnsafe(ref yr, (nuint)i);
                sum += Vector128.Sum(acc);
            }
        }
        for (; i < n; i++) sum += Unsafe.Add(ref xr, i) * Unsafe.Add(ref yr, i);
        return sum;
    }

    /// <summary>Σ (x[i] − mean)², accumulated in double across vector blocks.</summary>
    public static double SumSquaredDeviation(ReadOnlySpan<float> x, float mean)
    {
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        double sum = 0;
        if (!ForceScalar)
        {
            if (Vector256.IsHardwareAccelerated && n >= 8)
            {
                var m = Vector256.Create(mean);
                var acc = Vector256<float>.Zero;
                for (; i <= n - 8; i += 8)
                {
                    var d = Vector256.LoadUnsafe(ref xr, (nuint)i) - m;
                    acc += d * d;
                }
                sum += Vector256.Sum(acc);
            }
            if (Vector128.IsHardwareAccelerated && n - i >= 4)
            {
                var m = Vector128.Create(mean);
                var acc = Vector128<float>.Zero;
                for (; i <= n - 4; i += 4)
                {
                    var d = Vector128.LoadUnsafe(ref xr, (nuint)i) - m;
                    acc += d * d;
                }
                sum += Vector128.Sum(acc);
            }
        }
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref xr, i) - mean;
            sum += d * d;
        }
        return sum;
    }

    /// <summary>Σ dy[i]·(x[i] − mean).</summary>
    public static double DotCentered(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean)
    {
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        double sum = 0;
        if (!ForceScalar && Vector256.IsHardwareAccelerated && n >= 8)
        {
            var m = Vector256.Create(mean);
            var acc = Vector256<float>.Zero;
            for (; i <= n - 8; i += 8)
                acc += Vector256.LoadUnsafe(ref gr, (nuint)i) * (Vector256.LoadUnsafe(ref xr, (nuint)i) - m);
            sum += Vector256.Sum(acc);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref gr, i) * (Unsafe.Add(ref xr, i) - mean);
        return sum;
    }

    /// <summary>y[i] = a·x[i] + b.</summary>
    public static void Affine(ReadOnlySpan<float> x, float a, float b, Span<float> y)
    {
        int n = x.Length, i = 0;
        if (y.Length < n) throw new ArgumentException("Affine: y shorter than x.");
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (!ForceScalar)
        {
            if (Vector512.IsHardwareAccelerated && n >= 16)
            {
                var av = Vector512.Create(a);
                var bv = Vector512.Create(b);
                for (; i <= n - 16; i += 16)
                    Vector512.StoreUnsafe(Vector512.LoadUnsafe(ref xr, (nuint)i) * av + bv, ref yr, (nuint)i);
            }
            if (Vector256.IsHardwareAccelerated && n - i >= 8)
            {
                var av = Vector256.Create(a);
                var bv = Vector256.Create(b);
                for (; i <= n - 8; i += 8)
                    Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref xr, (nuint)i) * av + bv, ref yr, (nuint)i);
            }
            if (Vector128.IsHardwareAccelerated && n - i >= 4)
            {
                var av = Vector128.Create(a);
                var bv = Vector128.Create(b);
                for (; i <= n - 4; i += 4)
                    Vector128.StoreUnsafe(Vector128.LoadUnsafe(ref xr, (nuint)i) * av + bv, ref yr, (nuint)i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref yr, i) = Unsafe.Add(ref xr, i) * a + b;
    }

    /// <summary>y[i] = min(max(a·x[i] + b, lo), hi): <see cref="Affine"/> then a clamp (ReLU: 0, +∞) in one pass, bit for
    /// bit the two passes (IEEE maximum/minimum as <see cref="Activation.Relu"/>: NaN propagates, max(−0, 0) = +0).</summary>
    public static void AffineClamp(ReadOnlySpan<float> x, float a, float b, float lo, float hi, Span<float> y)
    {
        int n = x.Length, i = 0;
        if (y.Length < n) throw new ArgumentException("AffineClamp: y shorter than x.");
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (!ForceScalar)
        {
            if (Vector512.IsHardwareAccelerated && n >= 16)
            {
                Vector512<float> av = Vector512.Create(a), bv = Vector512.Create(b), l = Vector512.Create(lo), h = Vector512.Create(hi);
                for (; i <= n - 16; i += 16)
                    Vector512.StoreUnsafe(Vector512.Min(Vector512.Max(Vector512.LoadUnsafe(ref xr, (nuint)i) * av + bv, l), h), ref yr, (nuint)i);
            }
            if (Vector256.IsHardwareAccelerated && n - i >= 8)
            {
                Vector256<float> av = Vector256.Create(a), bv = Vector256.Create(b), l = Vector256.Create(lo), h = Vector256.Create(hi);
                for (; i <= n - 8; i += 8)
                    Vector256.StoreUnsafe(Vector256.Min(Vector256.Max(Vector256.LoadUnsafe(ref xr, (nuint)i) * av + bv, l), h), ref yr, (nuint)i);
            }
            if (Vector128.IsHardwareAccelerated && n - i >= 4)
            {
                Vector128<float> av = Vector128.Create(a), bv = Vector128.Create(b), l = Vector128.Create(lo), h = Vector128.Create(hi);
                for (; i <= n - 4; i += 4)
                    Vector128.StoreUnsafe(Vector128.Min(Vector128.Max(Vector128.LoadUnsafe(ref xr, (nuint)i) * av + bv, l), h), ref yr, (nuint)i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref yr, i) = MathF.Min(MathF.Max(Unsafe.Add(ref xr, i) * a + b, lo), hi);
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Shrink.Kernels;

/// <summary>
/// Batch normalization's per-channel reductions over x[N, C, S] (channel ch is N spans of S floats at pitch C·S), each
/// in one pass: the moments of training forward and the two sums of training backward. Sums run in float vector lanes
/// (Vector512 → Vector256 → Vector128 → scalar on every span) over a group of whole images of about
/// <see cref="GroupFloats"/> values, then in double across groups, so the order depends on N and S only, never on the
/// thread count. Spans of 16–49 floats (4×4 and 7×7 maps) cost one reduction per group, not per image. NaN propagates.
/// SHRINK_FORCE_SCALAR=1 forces the scalar path (same grouping).
/// </summary>
public static class BatchNorm
{
    /// <summary>Values per float accumulation group (whole images; at least one).</summary>
    internal const int GroupFloats = 1024;

    private static int ImagesPerGroup(int s) => Math.Max(1, GroupFloats / Math.Max(1, s));

    /// <summary>Channel <paramref name="ch"/>'s mean and Σ (x − mean)² over all N·S values, in one pass: the values are
    /// shifted by the channel's first value K (d = x − K; mean = K + Σd/count; Σ(x − mean)² = Σd² − (Σd)²/count, never
    /// below 0), which keeps the cancellation small when |mean| ≫ σ.</summary>
    public static (float Mean, double SumSquaredDeviation) Moments(ReadOnlySpan<float> x, int n, int c, int s, int ch)
    {
        long count = (long)n * s;
        if (count == 0) return (0f, 0);
        if ((long)((n - 1) * (long)c + ch + 1) * s > x.Length) throw new ArgumentException("BatchNorm.Moments: x is shorter than N·C·S.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        float shift = Unsafe.Add(ref x0, (nint)ch * s);
        int per = ImagesPerGroup(s);
        double sum = 0, sq = 0;
        for (int g0 = 0; g0 < n; g0 += per)
        {
            var (gs, gq) = ShiftedSums(ref x0, Math.Min(n, g0 + per), g0, (nint)c * s, ch, s, shift);
            sum += gs;
            sq += gq;
        }
        double meanShift = sum / count;
        return ((float)(shift + meanShift), Math.Max(0, sq - sum * meanShift));
    }

    /// <summary>Σ d and Σ d² with d = x − shift over images [i0, i1) of the channel, in float.</summary>
    private static (float Sum, float Squares) ShiftedSums(ref float x0, int i1, int i0, nint pitch, int ch, int s, float shift)
    {
        float sum = 0, sq = 0;
        if (!SpatialVector.ForceScalar && Vector512.IsHardwareAccelerated && s >= 16)
        {
            var k = Vector512.Create(shift);
            Vector512<float> a = default, q = default, a2 = default, q2 = default;
            Vector256<float> a8 = default, q8 = default;
            for (int i = i0; i < i1; i++)
            {
                ref float p = ref Unsafe.Add(ref x0, i * pitch + (nint)ch * s);
                int j = 0;
                for (; j <= s - 32; j += 32) // two accumulator pairs: the adds are not one dependency chain
                {
                    var d = Vector512.LoadUnsafe(ref p, (nuint)j) - k;
                    var e = Vector512.LoadUnsafe(ref p, (nuint)(j + 16)) - k;
                    a += d;
                    q += d * d;
                    a2 += e;
                    q2 += e * e;
                }
                for (; j <= s - 16; j += 16)
                {
                    var d = Vector512.LoadUnsafe(ref p, (nuint)j) - k;
                    a += d;
                    q += d * d;
                }
                if (j <= s - 8)
                {
                    var d = Vector256.LoadUnsafe(ref p, (nuint)j) - k.GetLower();
                    a8 += d;
                    q8 += d * d;
                    j += 8;
                }
                for (; j < s; j++)
                {
                    float d = Unsafe.Add(ref p, j) - shift;
                    sum += d;
                    sq += d * d;
                }
            }
            return (sum + Vector512.Sum(a + a2) + Vector256.Sum(a8), sq + Vector512.Sum(q + q2) + Vector256.Sum(q8));
        }
        if (!SpatialVector.ForceScalar && Vector256.IsHardwareAccelerated && s >= 8)
        {
            var k = Vector256.Create(shift);
            Vector256<float> a = default, q = default;
            for (int i = i0; i < i1; i++)
            {
                ref float p = ref Unsafe.Add(ref x0, i * pitch + (nint)ch * s);
                int j = 0;
                for (; j <= s - 8; j += 8)
                {
                    var d = Vector256.LoadUnsafe(ref p, (nuint)j) - k;
                    a += d;
                    q += d * d;
                }
                for (; j < s; j++)
                {
                    float d = Unsafe.Add(ref p, j) - shift;
                    sum += d;
                    sq += d * d;
                }
            }
            return (sum + Vector256.Sum(a), sq + Vector256.Sum(q));
        }
        if (!SpatialVector.ForceScalar && Vector128.IsHardwareAccelerated && s >= 4)
        {
            var k = Vector128.Create(shift);
            Vector128<float> a = default, q = default;
            for (int i = i0; i < i1; i++)
            {
                ref float p = ref Unsafe.Add(ref x0, i * pitch + (nint)ch * s);
                int j = 0;
                for (; j <= s - 4; j += 4)
                {
                    var d = Vector128.LoadUnsafe(ref p, (nuint)j) - k;
                    a += d;
                    q += d * d;
                }
                for (; j < s; j++)
                {
                    float d = Unsafe.Add(ref p, j) - shift;
                    sum += d;
                    sq += d * d;
                }
            }
            return (sum + Vector128.Sum(a), sq + Vector128.Sum(q));
        }
        for (int i = i0; i < i1; i++)
        {
            ref float p = ref Unsafe.Add(ref x0, i * pitch + (nint)ch * s);
            for (int j = 0; j < s; j++)
            {
                float d = Unsafe.Add(ref p, j) - shift;
                sum += d;
                sq += d * d;
            }
        }
        return (sum, sq);
    }

    /// <summary>Channel <paramref name="ch"/>'s Σ dy and Σ dy·(x − mean) over all N·S values, in one pass over dy and x
    /// (dy and x both [N, C, S]).</summary>
    public static (double SumDy, double SumDyXc) GradientSums(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s, int ch, float mean)
    {
        if ((long)n * s == 0) return (0, 0);
        long need = ((n - 1) * (long)c + ch + 1) * s;
        if (need > x.Length || need > dy.Length) throw new ArgumentException("BatchNorm.GradientSums: x or dy is shorter than N·C·S.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float g0r = ref MemoryMarshal.GetReference(dy);
        int per = ImagesPerGroup(s);
        double sumDy = 0, sumDyXc = 0;
        for (int g0 = 0; g0 < n; g0 += per)
        {
            var (a, b) = GradientGroup(ref g0r, ref x0, Math.Min(n, g0 + per), g0, (nint)c * s, ch, s, mean);
            sumDy += a;
            sumDyXc += b;
        }
        return (sumDy, sumDyXc);
    }

    /// <summary>Σ dy and Σ dy·(x − mean) over images [i0, i1) of the channel, in float.</summary>
    private static (float SumDy, float SumDyXc) GradientGroup(ref float g0, ref float x0, int i1, int i0, nint pitch, int ch, int s, float mean)
    {
        float sum = 0, dot = 0;
        if (!SpatialVector.ForceScalar && Vector512.IsHardwareAccelerated && s >= 16)
        {
            var m = Vector512.Create(mean);
            Vector512<float> a = default, b = default;
            Vector256<float> a8 = default, b8 = default;
            for (int i = i0; i < i1; i++)
            {
                nint off = i * pitch + (nint)ch * s;
                ref float p = ref Unsafe.Add(ref x0, off);
                ref float g = ref Unsafe.Add(ref g0, off);
                int j = 0;
                for (; j <= s - 16; j += 16)
                {
                    var gv = Vector512.LoadUnsafe(ref g, (nuint)j);
                    a += gv;
                    b += gv * (Vector512.LoadUnsafe(ref p, (nuint)j) - m);
                }
                if (j <= s - 8)
                {
                    var gv = Vector256.LoadUnsafe(ref g, (nuint)j);
                    a8 += gv;
                    b8 += gv * (Vector256.LoadUnsafe(ref p, (nuint)j) - m.GetLower());
                    j += 8;
                }
                for (; j < s; j++)
                {
                    float gv = Unsafe.Add(ref g, j);
                    sum += gv;
                    dot += gv * (Unsafe.Add(ref p, j) - mean);
                }
            }
            return (sum + Vector512.Sum(a) + Vector256.Sum(a8), dot + Vector512.Sum(b) + Vector256.Sum(b8));
        }
        if (!SpatialVector.ForceScalar && Vector256.IsHardwareAccelerated && s >= 8)
        {
            var m = Vector256.Create(mean);
            Vector256<float> a = default, b = default;
            for (int i = i0; i < i1; i++)
            {
                nint off = i * pitch + (nint)ch * s;
                ref float p = ref Unsafe.Add(ref x0, off);
                ref float g = ref Unsafe.Add(ref g0, off);
                int j = 0;
                for (; j <= s - 8; j += 8)
                {
                    var gv = Vector256.LoadUnsafe(ref g, (nuint)j);
                    a += gv;
                    b += gv * (Vector256.LoadUnsafe(ref p, (nuint)j) - m);
                }
                for (; j < s; j++)
                {
                    float gv = Unsafe.Add(ref g, j);
                    sum += gv;
                    dot += gv * (Unsafe.Add(ref p, j) - mean);
                }
            }
            return (sum + Vector256.Sum(a), dot + Vector256.Sum(b));
        }
        if (!SpatialVector.ForceScalar && Vector128.IsHardwareAccelerated && s >= 4)
        {
            var m = Vector128.Create(mean);
            Vector128<float> a = default, b = default;
            for (int i = i0; i < i1; i++)
            {
                nint off = i * pitch + (nint)ch * s;
                ref float p = ref Unsafe.Add(ref x0, off);
                ref float g = ref Unsafe.Add(ref g0, off);
                int j = 0;
                for (; j <= s - 4; j += 4)
                {
                    var gv = Vector128.LoadUnsafe(ref g, (nuint)j);
                    a += gv;
                    b += gv * (Vector128.LoadUnsafe(ref p, (nuint)j) - m);
                }
                for (; j < s; j++)
                {
                    float gv = Unsafe.Add(ref g, j);
                    sum += gv;
                    dot += gv * (Unsafe.Add(ref p, j) - mean);
                }
            }
            return (sum + Vector128.Sum(a), dot + Vector128.Sum(b));
        }
        for (int i = i0; i < i1; i++)
        {
            nint off = i * pitch + (nint)ch * s;
            ref float p = ref Unsafe.Add(ref x0, off);
            ref float g = ref Unsafe.Add(ref g0, off);
            for (int j = 0; j < s; j++)
            {
                float gv = Unsafe.Add(ref g, j);
                sum += gv;
                dot += gv * (Unsafe.Add(ref p, j) - mean);
            }
        }
        return (sum, dot);
    }

    /// <summary>y = a·x + b over channel <paramref name="ch"/> of every image (x, y [N, C, S]; y may be x): the training and
    /// evaluation forward once the statistics are known. Per element exactly <c>x·a + b</c>, as
    /// <see cref="SpatialVector.Affine"/>, so the loop over images just saves a call per span.</summary>
    public static void Normalize(ReadOnlySpan<float> x, Span<float> y, int n, int c, int s, int ch, float a, float b)
    {
        if (n == 0 || s == 0) return;
        long need = ((n - 1) * (long)c + ch + 1) * s;
        if (need > x.Length || need > y.Length) throw new ArgumentException("BatchNorm.Normalize: x or y is shorter than N·C·S.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        bool vector = !SpatialVector.ForceScalar;
        var a16 = Vector512.Create(a); var b16 = Vector512.Create(b);
        var a8 = Vector256.Create(a); var b8 = Vector256.Create(b);
        var a4 = Vector128.Create(a); var b4 = Vector128.Create(b);
        for (int i = 0; i < n; i++)
        {
            nint off = ((nint)i * c + ch) * s;
            ref float xr = ref Unsafe.Add(ref x0, off);
            ref float yr = ref Unsafe.Add(ref y0, off);
            int j = 0;
            if (vector)
            {
                if (Vector512.IsHardwareAccelerated)
                    for (; j <= s - 16; j += 16) (Vector512.LoadUnsafe(ref xr, (nuint)j) * a16 + b16).StoreUnsafe(ref yr, (nuint)j);
                if (Vector256.IsHardwareAccelerated)
                    for (; j <= s - 8; j += 8) (Vector256.LoadUnsafe(ref xr, (nuint)j) * a8 + b8).StoreUnsafe(ref yr, (nuint)j);
                if (Vector128.IsHardwareAccelerated)
                    for (; j <= s - 4; j += 4) (Vector128.LoadUnsafe(ref xr, (nuint)j) * a4 + b4).StoreUnsafe(ref yr, (nuint)j);
            }
            for (; j < s; j++) Unsafe.Add(ref yr, j) = Unsafe.Add(ref xr, j) * a + b;
        }
    }

    /// <summary>Training backward's element pass over channel <paramref name="ch"/> of every image:
    /// dx += a·dy + b·(x − mean) + shift, or dx = that when <paramref name="overwrite"/> (then dx may be dy: each element
    /// is read before it is written). Per element the float expression in that order (no fused multiply-add), whatever the vector width.</summary>
    public static void Gradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s, int ch, float a, float b, float mean,
        float shift, Span<float> dx, bool overwrite)
    {
        if (n == 0 || s == 0) return;
        long need = ((n - 1) * (long)c + ch + 1) * s;
        if (need > x.Length || need > dy.Length || need > dx.Length) throw new ArgumentException("BatchNorm.Gradient: a span is shorter than N·C·S.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float g0 = ref MemoryMarshal.GetReference(dy);
        ref float d0 = ref MemoryMarshal.GetReference(dx);
        bool vector = !SpatialVector.ForceScalar;
        var a16 = Vector512.Create(a); var b16 = Vector512.Create(b); var m16 = Vector512.Create(mean); var c16 = Vector512.Create(shift);
        var a8 = Vector256.Create(a); var b8 = Vector256.Create(b); var m8 = Vector256.Create(mean); var c8 = Vector256.Create(shift);
        var a4 = Vector128.Create(a); var b4 = Vector128.Create(b); var m4 = Vector128.Create(mean); var c4 = Vector128.Create(shift);
        for (int i = 0; i < n; i++)
        {
            nint off = ((nint)i * c + ch) * s;
            ref float xr = ref Unsafe.Add(ref x0, off);
            ref float gr = ref Unsafe.Add(ref g0, off);
            ref float dr = ref Unsafe.Add(ref d0, off);
            int j = 0;
            if (vector)
            {
                if (Vector512.IsHardwareAccelerated)
                    for (; j <= s - 16; j += 16)
                    {
                        var v = a16 * Vector512.LoadUnsafe(ref gr, (nuint)j) + b16 * (Vector512.LoadUnsafe(ref xr, (nuint)j) - m16) + c16;
                        (overwrite ? v : Vector512.LoadUnsafe(ref dr, (nuint)j) + v).StoreUnsafe(ref dr, (nuint)j);
                    }
                if (Vector256.IsHardwareAccelerated)
                    for (; j <= s - 8; j += 8)
                    {
                        var v = a8 * Vector256.LoadUnsafe(ref gr, (nuint)j) + b8 * (Vector256.LoadUnsafe(ref xr, (nuint)j) - m8) + c8;
                        (overwrite ? v : Vector256.LoadUnsafe(ref dr, (nuint)j) + v).StoreUnsafe(ref dr, (nuint)j);
                    }
                if (Vector128.IsHardwareAccelerated)
                    for (; j <= s - 4; j += 4)
                    {
                        var v = a4 * Vector128.LoadUnsafe(ref gr, (nuint)j) + b4 * (Vector128.LoadUnsafe(ref xr, (nuint)j) - m4) + c4;
                        (overwrite ? v : Vector128.LoadUnsafe(ref dr, (nuint)j) + v).StoreUnsafe(ref dr, (nuint)j);
                    }
            }
            for (; j < s; j++)
            {
                float v = a * Unsafe.Add(ref gr, j) + b * (Unsafe.Add(ref xr, j) - mean) + shift;
                ref float d = ref Unsafe.Add(ref dr, j);
                d = overwrite ? v : d + v;
            }
        }
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shrink.Kernels;

/// <summary>
/// The weight gradient of an ungrouped pointwise (1×1, stride 1, unpadded) convolution on a wide map:
/// dW[o, c] += Σ_n Σ_p dY[n, o, p]·X[n, c, p], x [N, Cin, P], dy [N, Cout, P], dw [Cout, Cin], all row-major. Both
/// operands are contiguous along p, so each 4×4 block of dW is 16 Vector512 dot products straight over the image rows —
/// no im2col gather, no packing. The batch is cut into fixed slices of <see cref="SliceImages"/> images, summed per
/// slice in parallel (images in order, each image's dot products reduced to float and added), then the slices are added
/// to dW in order: results never depend on the thread count (they differ in rounding from the GEMM path). On the
/// Vector256 tier (AVX2 + FMA) the blocks are 4×2 of Vector256 dot products (eight accumulators, as many as the FMA
/// pipes keep busy in sixteen registers), the tail masked the same way. Vector512 or Vector256 with FMA only
/// (<see cref="Applies"/>); NaN propagates; spans must not alias.
/// </summary>
public static unsafe class PointwiseWeightGradient
{
    /// <summary>Images per slice (fixed: the summation order depends on it, never on the threads).</summary>
    internal const int SliceImages = 8;

    /// <summary>SHRINK_NO_PWGRAD=1 (or this switch, for in-process A/B timing) keeps the GEMM path.</summary>
    internal static bool Enabled = Environment.GetEnvironmentVariable("SHRINK_NO_PWGRAD") != "1";

    /// <summary>SHRINK_NO_PWGRAD256=1 (or this switch, for in-process A/B timing) keeps the GEMM path on the Vector256 tier.</summary>
    internal static bool Enabled256 = Environment.GetEnvironmentVariable("SHRINK_NO_PWGRAD256") != "1";

    /// <summary>Whether <see cref="Accumulate"/> handles this conv: ungrouped pointwise, at least 256 positions (on 14×14 maps the GEMM is as fast), a
    /// weight of at most 64K values (one partial sum per slice is kept), Vector512 hardware or the Vector256 tier with FMA.</summary>
    public static bool Applies(in ConvDims d) =>
        Enabled && d.Pointwise && d.Groups == 1 && (long)d.Cout * d.Cin <= 1 << 16 && d.N > 0 && !SpatialVector.ForceScalar
        && (Use512 ? d.P >= 256 : Use256 && d.P >= MinPositions256);

    internal static int MinPositions256 = int.Parse(Environment.GetEnvironmentVariable("SHRINK_PWGRAD256_MINP") ?? "128");

    private static bool Use512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Gemm.ActiveLevel == GemmLevel.Vector512;

    private static bool Use256 => Enabled256 && Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported && Gemm.ActiveLevel == GemmLevel.Vector256;

    /// <summary>dw += Σ over images and positions of dy·xᵀ (see the class summary). Accumulates into dw.</summary>
    public static void Accumulate(in ConvDims d, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        if (!Applies(d)) throw new ArgumentException($"PointwiseWeightGradient does not apply to {d}.");
        if (x.Length < (long)d.N * d.InImage || dy.Length < (long)d.N * d.OutImage || dw.Length < d.Cout * d.Cin)
            throw new ArgumentException($"PointwiseWeightGradient: buffers too small for {d}.");
        int slices = (d.N + SliceImages - 1) / SliceImages, size = d.Cout * d.Cin;
        float[] partial = ArrayPool<float>.Shared.Rent(slices * size);
        try
        {
            fixed (float* px = x, pdy = dy, pdw = dw, pp = partial)
            {
                var body = new Body { D = d, X = px, Dy = pdy, Partial = pp, Narrow = !Use512 };
                KernelParallel.For(slices, ref body);
                for (int s = 0; s < slices; s++)
                {
                    var sum = new Span<float>(pdw, size);
                    TensorPrimitives.Add(sum, new ReadOnlySpan<float>(pp + (nint)s * size, size), sum);
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(partial); }
    }

    private struct Body : IParallelBody
    {
        public ConvDims D;
        public float* X, Dy, Partial;
        public bool Narrow;

        public readonly void Invoke(int slice)
        {
            var d = D;
            int cout = d.Cout, cin = d.Cin, p = d.P;
            float* part = Partial + (nint)slice * cout * cin;
            new Span<float>(part, cout * cin).Clear();
            int n1 = Math.Min(d.N, (slice + 1) * SliceImages);
            for (int n = slice * SliceImages; n < n1; n++)
            {
                float* xi = X + (nint)n * d.InImage, gi = Dy + (nint)n * d.OutImage;
                if (Narrow)
                {
                    for (int o = 0; o < cout; o += 4)
                        for (int c = 0; c < cin; c += 2)
                            Block256(gi, xi, p, o, Math.Min(4, cout - o), c, Math.Min(2, cin - c), part, cin);
                    continue;
                }
                for (int o = 0; o < cout; o += 4)
                    for (int c = 0; c < cin; c += 4)
                        Block(gi, xi, p, o, Math.Min(4, cout - o), c, Math.Min(4, cin - c), part, cin);
            }
        }
    }

    /// <summary>part[o + i, c + j] += Σ_q g[(o + i)·p + q]·x[(c + j)·p + q] for i &lt; ro, j &lt; rc (rows past the edge
    /// repeat the last row and are not stored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(float* g, float* x, int p, int o, int ro, int c, int rc, float* part, int ld)
    {
        float* g0 = g + (nint)o * p, g1 = g + (nint)(o + Math.Min(1, ro - 1)) * p, g2 = g + (nint)(o + Math.Min(2, ro - 1)) * p, g3 = g + (nint)(o + Math.Min(3, ro - 1)) * p;
        float* x0 = x + (nint)c * p, x1 = x + (nint)(c + Math.Min(1, rc - 1)) * p, x2 = x + (nint)(c + Math.Min(2, rc - 1)) * p, x3 = x + (nint)(c + Math.Min(3, rc - 1)) * p;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        int q = 0;
        for (; q <= p - 16; q += 16)
        {
            var v0 = Vector512.Load(x0 + q); var v1 = Vector512.Load(x1 + q); var v2 = Vector512.Load(x2 + q); var v3 = Vector512.Load(x3 + q);
            var u = Vector512.Load(g0 + q);
            a00 = Vector512.FusedMultiplyAdd(u, v0, a00); a01 = Vector512.FusedMultiplyAdd(u, v1, a01); a02 = Vector512.FusedMultiplyAdd(u, v2, a02); a03 = Vector512.FusedMultiplyAdd(u, v3, a03);
            u = Vector512.Load(g1 + q);
            a10 = Vector512.FusedMultiplyAdd(u, v0, a10); a11 = Vector512.FusedMultiplyAdd(u, v1, a11); a12 = Vector512.FusedMultiplyAdd(u, v2, a12); a13 = Vector512.FusedMultiplyAdd(u, v3, a13);
            u = Vector512.Load(g2 + q);
            a20 = Vector512.FusedMultiplyAdd(u, v0, a20); a21 = Vector512.FusedMultiplyAdd(u, v1, a21); a22 = Vector512.FusedMultiplyAdd(u, v2, a22); a23 = Vector512.FusedMultiplyAdd(u, v3, a23);
            u = Vector512.Load(g3 + q);
            a30 = Vector512.FusedMultiplyAdd(u, v0, a30); a31 = Vector512.FusedMultiplyAdd(u, v1, a31); a32 = Vector512.FusedMultiplyAdd(u, v2, a32); a33 = Vector512.FusedMultiplyAdd(u, v3, a33);
        }
        if (q < p)
        {
            var lane = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            var m = Vector512.LessThan(lane, Vector512.Create((float)(p - q)));
            var z = Vector512<float>.Zero;
            var v0 = Avx512F.MaskLoad(x0 + q, m, z); var v1 = Avx512F.MaskLoad(x1 + q, m, z); var v2 = Avx512F.MaskLoad(x2 + q, m, z); var v3 = Avx512F.MaskLoad(x3 + q, m, z);
            var u = Avx512F.MaskLoad(g0 + q, m, z);
            a00 = Vector512.FusedMultiplyAdd(u, v0, a00); a01 = Vector512.FusedMultiplyAdd(u, v1, a01); a02 = Vector512.FusedMultiplyAdd(u, v2, a02); a03 = Vector512.FusedMultiplyAdd(u, v3, a03);
            u = Avx512F.MaskLoad(g1 + q, m, z);
            a10 = Vector512.FusedMultiplyAdd(u, v0, a10); a11 = Vector512.FusedMultiplyAdd(u, v1, a11); a12 = Vector512.FusedMultiplyAdd(u, v2, a12); a13 = Vector512.FusedMultiplyAdd(u, v3, a13);
            u = Avx512F.MaskLoad(g2 + q, m, z);
            a20 = Vector512.FusedMultiplyAdd(u, v0, a20); a21 = Vector512.FusedMultiplyAdd(u, v1, a21); a22 = Vector512.FusedMultiplyAdd(u, v2, a22); a23 = Vector512.FusedMultiplyAdd(u, v3, a23);
            u = Avx512F.MaskLoad(g3 + q, m, z);
            a30 = Vector512.FusedMultiplyAdd(u, v0, a30); a31 = Vector512.FusedMultiplyAdd(u, v1, a31); a32 = Vector512.FusedMultiplyAdd(u, v2, a32); a33 = Vector512.FusedMultiplyAdd(u, v3, a33);
        }
        float* r = part + (nint)o * ld + c;
        Store(r, rc, a00, a01, a02, a03);
        if (ro > 1) Store(r + ld, rc, a10, a11, a12, a13);
        if (ro > 2) Store(r + 2 * ld, rc, a20, a21, a22, a23);
        if (ro > 3) Store(r + 3 * ld, rc, a30, a31, a32, a33);
    }

    /// <summary>The Vector256 block: part[o + i, c + j] += Σ_q g[(o + i)·p + q]·x[(c + j)·p + q] for i &lt; ro ≤ 4,
    /// j &lt; rc ≤ 2 (rows past the edge repeat the last row and are not stored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block256(float* g, float* x, int p, int o, int ro, int c, int rc, float* part, int ld)
    {
        float* g0 = g + (nint)o * p, g1 = g + (nint)(o + Math.Min(1, ro - 1)) * p, g2 = g + (nint)(o + Math.Min(2, ro - 1)) * p, g3 = g + (nint)(o + Math.Min(3, ro - 1)) * p;
        float* x0 = x + (nint)c * p, x1 = x + (nint)(c + Math.Min(1, rc - 1)) * p;
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
        int q = 0;
        for (; q <= p - 8; q += 8)
        {
            var v0 = Vector256.Load(x0 + q); var v1 = Vector256.Load(x1 + q);
            var u = Vector256.Load(g0 + q);
            a00 = Fma.MultiplyAdd(u, v0, a00); a01 = Fma.MultiplyAdd(u, v1, a01);
            u = Vector256.Load(g1 + q);
            a10 = Fma.MultiplyAdd(u, v0, a10); a11 = Fma.MultiplyAdd(u, v1, a11);
            u = Vector256.Load(g2 + q);
            a20 = Fma.MultiplyAdd(u, v0, a20); a21 = Fma.MultiplyAdd(u, v1, a21);
            u = Vector256.Load(g3 + q);
            a30 = Fma.MultiplyAdd(u, v0, a30); a31 = Fma.MultiplyAdd(u, v1, a31);
        }
        if (q < p)
        {
            var m = Vector256.LessThan(Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7), Vector256.Create((float)(p - q)));
            var v0 = Avx.MaskLoad(x0 + q, m); var v1 = Avx.MaskLoad(x1 + q, m);
            var u = Avx.MaskLoad(g0 + q, m);
            a00 = Fma.MultiplyAdd(u, v0, a00); a01 = Fma.MultiplyAdd(u, v1, a01);
            u = Avx.MaskLoad(g1 + q, m);
            a10 = Fma.MultiplyAdd(u, v0, a10); a11 = Fma.MultiplyAdd(u, v1, a11);
            u = Avx.MaskLoad(g2 + q, m);
            a20 = Fma.MultiplyAdd(u, v0, a20); a21 = Fma.MultiplyAdd(u, v1, a21);
            u = Avx.MaskLoad(g3 + q, m);
            a30 = Fma.MultiplyAdd(u, v0, a30); a31 = Fma.MultiplyAdd(u, v1, a31);
        }
        float* r = part + (nint)o * ld + c;
        Store(r, rc, a00, a01);
        if (ro > 1) Store(r + ld, rc, a10, a11);
        if (ro > 2) Store(r + 2 * ld, rc, a20, a21);
        if (ro > 3) Store(r + 3 * ld, rc, a30, a31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* r, int rc, Vector256<float> a0, Vector256<float> a1)
    {
        r[0] += Vector256.Sum(a0);
        if (rc > 1) r[1] += Vector256.Sum(a1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* r, int rc, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        r[0] += Vector512.Sum(a0);
        if (rc > 1) r[1] += Vector512.Sum(a1);
        if (rc > 2) r[2] += Vector512.Sum(a2);
        if (rc > 3) r[3] += Vector512.Sum(a3);
    }
}

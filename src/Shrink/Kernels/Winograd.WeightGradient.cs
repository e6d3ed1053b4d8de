using System.Runtime.CompilerServices;

namespace Shrink.Kernels;

/// <summary>
/// The weight gradient of a 3×3 stride-1 conv by the same F(4×4, 3×3) transforms. The forward tile is
/// Y = Aᵀ·[U ⊙ V]·A with U = G·g·Gᵀ, so the gradient of one tile reaches U through ∂M = A·∂Y·Aᵀ (a 6×6 tile from the
/// 4×4 output gradient), and ∂U_ξ[o, i] = Σ over tiles of ∂M_ξ[o, tile]·V_ξ[i, tile]: 36 GEMMs [Cout, tiles]·[tiles, Cin]
/// whose common dimension is the tiles of the whole batch, 36 multiply-adds per tile and channel pair instead of
/// im2col's 144. Then ∂g = Gᵀ·∂U·G. The tiles are walked in blocks, in order, and each point's GEMM runs on one thread
/// (the 36 points are what is split over threads), so the sums never depend on the thread count.
/// <para>Accuracy: the transforms scale values as in the forward pass (errors of ~1e-5 relative to Σ|dy·x| of a
/// weight), which is well below the noise of a mini-batch gradient.</para>
/// </summary>
public static unsafe partial class Winograd
{
    /// <summary>Floats of V and ∂M a block of tiles aims for (8 MB): the GEMMs' common dimension is the block's columns,
    /// so blocks are larger than the forward pass's.</summary>
    internal static int WeightBlockFloats = 2 << 20;

    /// <summary>SHRINK_NO_WINOGRAD_WGRAD=1 (or this switch, for in-process A/B timing) keeps the weight gradient on
    /// im2col + GEMM (SHRINK_NO_WINOGRAD does too).</summary>
    internal static bool WeightEnabled = Environment.GetEnvironmentVariable("SHRINK_NO_WINOGRAD_WGRAD") != "1";

    /// <summary>Whether <see cref="ConvGemm.BackwardWeight"/> sends the weight gradient here. Measured at batch 128 on
    /// AVX2 (<c>Shrink.Bench wgprobe</c>, docs/performance.md): 2.0–2.3× faster than im2col + GEMM on ResNet-18's
    /// 64…512-channel layers, 1.2–1.4× at 32–48 channels, break-even at 16; maps of at least 4×4 (one tile).</summary>
    public static bool PreferredForWeight(in ConvDims d) =>
        Enabled && WeightEnabled && Supports(d) && d.N >= 16 && d.Cin >= 32 && d.Cout >= 32 && d.Geo.OutH >= 4 && d.Geo.OutW >= 4;

    /// <summary>dw += ∂/∂w Σ dy·conv(x, w) for a 3×3 stride-1 conv (<see cref="Supports"/>): x [N, Cin, H, W],
    /// dy [N, Cout, OutH, OutW], dw [Cout, Cin, 3, 3]. Accumulates into dw. The bias gradient is not computed here.</summary>
    public static void BackwardWeight(in ConvDims d, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        Validate(d, x, dy, default);
        if (dw.Length < (long)d.Cout * d.Cin * 9) throw new ArgumentException($"Winograd: weight gradient too short for {d}.", nameof(dw));
        if (d.N == 0 || d.Cout == 0 || d.P == 0 || d.Cin == 0) return;
        fixed (float* px = x, pdy = dy, pdw = dw)
        {
            switch (Gemm.ActiveLevel)
            {
                case GemmLevel.Vector512: WeightGradient<Lanes512>(d, px, pdy, pdw); break;
                case GemmLevel.Vector256: WeightGradient<Lanes256>(d, px, pdy, pdw); break;
                case GemmLevel.Vector128: WeightGradient<Lanes128>(d, px, pdy, pdw); break;
                default: WeightGradient<LanesScalar>(d, px, pdy, pdw); break;
            }
        }
    }

    private static void WeightGradient<T>(in ConvDims d, float* x, float* dy, float* dw) where T : struct, ILanes<T>
    {
        int lanes = T.Count;
        var body = new WeightBody<T>
        {
            D = d, X = x, Dy = dy, Dw = dw,
            TilesH = (d.Geo.OutH + 3) / 4, TilesW = (d.Geo.OutW + 3) / 4,
            Ldu = (d.Cin + lanes - 1) / lanes * lanes,
        };
        int vectors = (d.N + lanes - 1) / lanes * body.TilesH * body.TilesW;
        // ∂U of a slice of output channels stays within SliceFloats; each slice transforms the input again.
        int maxRows = Math.Max(1, (int)(SliceFloats / (Points * (long)body.Ldu)));
        int slices = (d.Cout + maxRows - 1) / maxRows;
        int rows = (d.Cout + slices - 1) / slices;
        int perBlock = Math.Min(vectors, Math.Max(Math.Max(1, 128 / lanes), WeightBlockFloats / (Points * (d.Cin + rows) * lanes)));
        int maxCols = perBlock * lanes;
        body.VStride = (nint)d.Cin * maxCols + 16;
        body.MStride = (nint)rows * maxCols + 16;
        body.UStride = (nint)rows * body.Ldu + 16;
        long floats = Points * (body.VStride + body.MStride + body.UStride);
        var scratch = Rent(floats);
        try
        {
            fixed (float* ps = scratch)
            {
                body.V = ps;
                body.M = body.V + Points * body.VStride;
                body.U = body.M + Points * body.MStride;
                body.InSlices = Math.Min(d.Cin, 4 * KernelParallel.MaxThreads);
                for (body.O0 = 0; body.O0 < d.Cout; body.O0 += rows)
                {
                    body.Rows = Math.Min(rows, d.Cout - body.O0);
                    body.OutSlices = Math.Min(body.Rows, 4 * KernelParallel.MaxThreads);
                    for (body.V0 = 0; body.V0 < vectors; body.V0 += perBlock)
                    {
                        body.V1 = Math.Min(vectors, body.V0 + perBlock);
                        body.Cols = (body.V1 - body.V0) * lanes;
                        body.Phase = WeightPhase.Transform;
                        KernelParallel.For(body.InSlices + body.OutSlices, ref body);
                        body.Phase = WeightPhase.Multiply;
                        KernelParallel.For(Points, ref body);
                    }
                    body.Phase = WeightPhase.Finish;
                    KernelParallel.For(body.OutSlices, ref body);
                }
            }
        }
        finally { Return(scratch, floats); }
    }

    private enum WeightPhase { Transform, Multiply, Finish }

    /// <summary>One slice of output channels [O0, O0 + Rows), one block of tile vectors [V0, V1) at a time:
    /// <see cref="WeightPhase.Transform"/> fills V (input channel slices) and ∂M (output channel slices),
    /// <see cref="WeightPhase.Multiply"/> adds the block's product to ∂U_ξ (one point per index), and
    /// <see cref="WeightPhase.Finish"/> adds Gᵀ·∂U·G to dw (output channel slices).</summary>
    private struct WeightBody<T> : IParallelBody where T : struct, ILanes<T>
    {
        public ConvDims D;
        public float* X, Dy, Dw, V, M, U;
        public nint VStride, MStride, UStride;
        public int TilesH, TilesW, Ldu, O0, Rows, V0, V1, Cols, InSlices, OutSlices;
        public WeightPhase Phase;

        public readonly void Invoke(int index)
        {
            switch (Phase)
            {
                case WeightPhase.Transform:
                    if (index < InSlices) TransformInputSlice(index);
                    else TransformGradientSlice(index - InSlices);
                    break;
                case WeightPhase.Multiply:
                    // ∂U_ξ[Rows, Cin] (+)= ∂M_ξ[Rows, cols]·V_ξ[Cin, cols]ᵀ, on this thread (nested loops run inline).
                    Gemm.Sgemm(false, true, Rows, D.Cin, Cols, 1f, new ReadOnlySpan<float>(M + index * MStride, Rows * Cols), Cols,
                        new ReadOnlySpan<float>(V + index * VStride, D.Cin * Cols), Cols, V0 == 0 ? 0f : 1f,
                        new Span<float>(U + index * UStride, (Rows - 1) * Ldu + D.Cin), Ldu);
                    break;
                default:
                    Finish(index);
                    break;
            }
        }

        private readonly void TransformInputSlice(int index)
        {
            var d = D;
            int lanes = T.Count, c0 = (int)((long)d.Cin * index / InSlices), c1 = (int)((long)d.Cin * (index + 1) / InSlices);
            long floats = 6L * (4 * TilesW + 2) * lanes + 36L * lanes;
            var scratch = Rent(floats);
            try
            {
                fixed (float* ps = scratch)
                    TransformInput<T>(d, X, TilesH, TilesW, V0, V1, c0, c1, V, VStride, Cols, ps, ps + 6 * (4 * TilesW + 2) * lanes);
            }
            finally { Return(scratch, floats); }
        }

        /// <summary>∂M[ξ, o − O0, column] = (A·∂Y·Aᵀ)_ξ for the tile vectors [V0, V1) and a slice of the output channels.</summary>
        private readonly void TransformGradientSlice(int index)
        {
            var d = D;
            int lanes = T.Count, width = 4 * TilesW;
            int o0 = (int)((long)Rows * index / OutSlices), o1 = (int)((long)Rows * (index + 1) / OutSlices);
            nint rowStride = (nint)width * lanes;
            long floats = 4L * width * lanes + 24L * lanes;
            var scratch = Rent(floats);
            try
            {
                fixed (float* ps = scratch)
                {
                    float* strip = ps, tmp = ps + 4 * rowStride;
                    for (int s = V0; s < V1;)
                    {
                        int row = s / TilesW, tx0 = s % TilesW, tx1 = Math.Min(TilesW, tx0 + V1 - s);
                        int group = row / TilesH, ty = row % TilesH;
                        int images = Math.Min(lanes, d.N - group * lanes);
                        for (int o = o0; o < o1; o++)
                        {
                            // strip[(r·width + col)·lanes + lane] = dy[image, O0 + o, 4·ty + r, col], zero outside the map.
                            new Span<float>(strip, 4 * width * lanes).Clear();
                            for (int r = 0; r < 4 && 4 * ty + r < d.Geo.OutH; r++)
                                StageRow<T>(Dy + (nint)group * lanes * d.OutImage + (nint)(O0 + o) * d.P + (nint)(4 * ty + r) * d.Geo.OutW,
                                    d.OutImage, images, strip + r * rowStride, 0, d.Geo.OutW);
                            for (int tx = tx0; tx < tx1; tx++)
                                GradientTile<T>(strip + 4 * tx * lanes, rowStride, tmp, M + o * (nint)Cols + (s - V0 + tx - tx0) * lanes, MStride);
                        }
                        s += tx1 - tx0;
                    }
                }
            }
            finally { Return(scratch, floats); }
        }

        /// <summary>dw[O0 + o, i] += Gᵀ·∂U[o, i]·G for a slice of the output channels.</summary>
        private readonly void Finish(int index)
        {
            var d = D;
            int lanes = T.Count;
            int o0 = (int)((long)Rows * index / OutSlices), o1 = (int)((long)Rows * (index + 1) / OutSlices);
            long floats = 9L * Ldu + 18L * lanes;
            var scratch = Rent(floats);
            try
            {
                fixed (float* ps = scratch)
                {
                    float* taps = ps, tmp = ps + 9 * Ldu;
                    for (int o = o0; o < o1; o++)
                    {
                        for (int i = 0; i < d.Cin; i += lanes) KernelGradientTile<T>(U + o * (nint)Ldu + i, UStride, tmp, taps + i, Ldu);
                        float* k = Dw + (nint)(O0 + o) * d.Cin * 9;
                        for (int i = 0; i < d.Cin; i++, k += 9)
                            for (int t = 0; t < 9; t++) k[t] += taps[t * Ldu + i];
                    }
                }
            }
            finally { Return(scratch, floats); }
        }
    }

    /// <summary>A·(y0, y1, y2, y3): the transpose of the 1-D output transform (<see cref="Output1d"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gradient1d<T>(T y0, T y1, T y2, T y3, out T m0, out T m1, out T m2, out T m3, out T m4, out T m5)
        where T : struct, ILanes<T>
    {
        T s02 = y0 + y2, s13 = y1 + y3, t02 = y0 + 4f * y2, t13 = 2f * y1 + 8f * y3;
        m0 = y0;
        m1 = s02 + s13;
        m2 = s02 - s13;
        m3 = t02 + t13;
        m4 = t02 - t13;
        m5 = y3;
    }

    /// <summary>
    /// ∂M = A·∂Y·Aᵀ for one lane vector of tiles: ∂Y[a, b] is at <paramref name="src"/> + a·rowStride + b·Count, and
    /// ∂M[k, j] goes to <paramref name="dst"/> + (6k + j)·pointStride. <paramref name="tmp"/> holds 24 vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientTile<T>(float* src, nint rowStride, float* tmp, float* dst, nint pointStride) where T : struct, ILanes<T>
    {
        int n = T.Count;
        for (int b = 0; b < 4; b++)
        {
            float* s = src + b * n;
            Gradient1d(T.Load(s), T.Load(s + rowStride), T.Load(s + 2 * rowStride), T.Load(s + 3 * rowStride),
                out T m0, out T m1, out T m2, out T m3, out T m4, out T m5);
            float* t = tmp + b * n;
            m0.Store(t); m1.Store(t + 4 * n); m2.Store(t + 8 * n); m3.Store(t + 12 * n); m4.Store(t + 16 * n); m5.Store(t + 20 * n);
        }
        for (int k = 0; k < 6; k++)
        {
            float* t = tmp + 4 * k * n;
            Gradient1d(T.Load(t), T.Load(t + n), T.Load(t + 2 * n), T.Load(t + 3 * n), out T m0, out T m1, out T m2, out T m3, out T m4, out T m5);
            float* o = dst + 6 * k * pointStride;
            m0.Store(o); m1.Store(o + pointStride); m2.Store(o + 2 * pointStride); m3.Store(o + 3 * pointStride);
            m4.Store(o + 4 * pointStride); m5.Store(o + 5 * pointStride);
        }
    }

    /// <summary>Gᵀ·(u0, …, u5): the transpose of the 1-D weight transform (<see cref="Weight1d"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelGradient1d<T>(T u0, T u1, T u2, T u3, T u4, T u5, out T g0, out T g1, out T g2) where T : struct, ILanes<T>
    {
        T s12 = u1 + u2, s34 = u3 + u4;
        g0 = 0.25f * u0 - (1f / 6) * s12 + (1f / 24) * s34;
        g1 = (1f / 6) * (u2 - u1) + (1f / 12) * (u3 - u4);
        g2 = (1f / 6) * (s34 - s12) + u5;
    }

    /// <summary>
    /// ∂g = Gᵀ·∂U·G for one lane vector of kernels: ∂U[k, l] is at <paramref name="src"/> + (6k + l)·pointStride,
    /// tap t = 3p + q of ∂g goes to <paramref name="dst"/> + t·tapStride. <paramref name="tmp"/> holds 18 vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelGradientTile<T>(float* src, nint pointStride, float* tmp, float* dst, nint tapStride) where T : struct, ILanes<T>
    {
        int n = T.Count;
        for (int k = 0; k < 6; k++)
        {
            float* s = src + 6 * k * pointStride;
            KernelGradient1d(T.Load(s), T.Load(s + pointStride), T.Load(s + 2 * pointStride), T.Load(s + 3 * pointStride),
                T.Load(s + 4 * pointStride), T.Load(s + 5 * pointStride), out T g0, out T g1, out T g2);
            float* t = tmp + k * n;
            g0.Store(t); g1.Store(t + 6 * n); g2.Store(t + 12 * n);
        }
        for (int q = 0; q < 3; q++)
        {
            float* t = tmp + 6 * q * n;
            KernelGradient1d(T.Load(t), T.Load(t + n), T.Load(t + 2 * n), T.Load(t + 3 * n), T.Load(t + 4 * n), T.Load(t + 5 * n),
                out T g0, out T g1, out T g2);
            g0.Store(dst + q * tapStride); g1.Store(dst + (3 + q) * tapStride); g2.Store(dst + (6 + q) * tapStride);
        }
    }
}

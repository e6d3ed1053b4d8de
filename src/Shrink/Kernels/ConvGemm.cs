namespace Shrink.Kernels;

/// <summary>
/// The sizes of one grouped 2-D convolution over a batch: x[N, Cin, H, W], w[Cout, Cin/G, kh, kw], y[N, Cout, OutH, OutW].
/// </summary>
public readonly record struct ConvDims(int N, int Cin, int H, int W, int Cout, int Groups, Window2d Geo)
{
    public int Cgin => Cin / Groups;
    public int Cgout => Cout / Groups;
    /// <summary>Rows of the column matrix of one group: Cin/G·kh·kw.</summary>
    public int K => Cgin * Geo.KernelH * Geo.KernelW;
    /// <summary>Output positions per image.</summary>
    public int P => Geo.OutH * Geo.OutW;
    public int InImage => Cin * H * W;
    public int OutImage => Cout * P;
    /// <summary>1×1, stride 1, no padding: the image itself is the column matrix.</summary>
    public bool Pointwise => Geo.KernelH == 1 && Geo.KernelW == 1 && Geo.StrideH == 1 && Geo.StrideW == 1 && Geo.PadTop == 0 && Geo.PadLeft == 0
        && Geo.OutH == H && Geo.OutW == W;
    public bool Depthwise => Groups > 1 && Groups == Cin;
}

/// <summary>
/// Convolution as GEMM over a batch (im2col + packed SGEMM; col2im for the data gradient). Small images are folded
/// together: a chunk of <c>nb</c> images forms one column matrix [K, nb·P], so the GEMM's N dimension is wide even for
/// 4×4 maps. Forward and the data gradient split the chunks over threads (single-threaded GEMMs); with one chunk
/// (batch 1) the GEMM itself is parallel. The weight gradient walks the chunks in order with a parallel GEMM, so its
/// accumulation order never depends on the thread count: results are bitwise identical for any number of threads.
/// Pointwise convs on wide maps (≥ 128 positions, Vector512) skip the copies: forward and data gradient multiply each
/// image in place (<see cref="Gemm.DirectB"/>, bitwise the packed GEMM's result), the weight gradient (≥ 256 positions)
/// is <see cref="PointwiseWeightGradient"/> (fixed image slices, thread-count independent). On the Vector256 tier
/// (AVX2 + FMA) the same convs (≥ 128 positions) go to <see cref="PointwiseDirect"/> for forward and data gradient
/// (chosen by shape and tier alone; each output column one FMA chain) and to the Vector256 blocks of
/// <see cref="PointwiseWeightGradient"/> for the weight gradient.
/// Depthwise convolutions go to <see cref="DepthwiseConv"/>, parallel over images or channels. Spans must not alias.
/// </summary>
public static unsafe class ConvGemm
{
    /// <summary>Columns a chunk aims for: wide enough for the GEMM's panels, small enough to stay in L2/L3.</summary>
    private const int TargetColumns = 512;

    /// <summary>Columns per chunk for the weight gradient (the GEMM's k dimension: longer is better).</summary>
    private const int TargetColumnsWeight = 2048;

    /// <summary>Images per chunk for <paramref name="target"/> columns; for the parallel paths also small enough to give
    /// every thread two chunks when the batch allows. (Forward and data-gradient results do not depend on the chunking:
    /// each output column is computed alone. The weight gradient, whose sum is split by chunks, passes
    /// <paramref name="parallel"/> = false and so never depends on the thread count.) Chunks are not made smaller than
    /// that: each chunk's GEMM packs the whole weight matrix again, which dominates for 512×4608 weights.</summary>
    public static int ImagesPerChunk(in ConvDims d, int target, bool parallel = true)
    {
        int nb = Math.Clamp(target / Math.Max(1, d.P), 1, Math.Max(1, d.N));
        int want = 2 * KernelParallel.MaxThreads;
        if (parallel && want > 1 && (d.N + nb - 1) / nb < want && d.N >= want) nb = (d.N + want - 1) / want;
        return nb;
    }

    /// <summary>y = clamp(conv(x, w) + bias, lo, hi) (bias may be empty; lo/hi ±∞ for no activation). Overwrites y.</summary>
    public static void Forward(in ConvDims d, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y,
        float lo = float.NegativeInfinity, float hi = float.PositiveInfinity) => Forward(d, x, w, bias, y, lo, hi, null);

    /// <summary>SHRINK_NO_PREPACK=1 (or this switch, for in-process A/B timing) ignores pre-packed weights.</summary>
    internal static bool UsePrepacked = Environment.GetEnvironmentVariable("SHRINK_NO_PREPACK") != "1";

    /// <summary>Pre-packs w [Cout, Cin/G·kh·kw] for <see cref="Forward(in ConvDims, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, float, float, PackedMatrix[])"/>:
    /// one packed matrix per group (depthwise convs use no GEMM: do not pack them). The array is referenced, not copied: keep it unchanged.</summary>
    public static PackedMatrix[]? PackWeights(int cout, int groups, int k, float[] w)
    {
        int cg = cout / groups;
        var packed = new PackedMatrix[groups];
        for (int g = 0; g < groups; g++) packed[g] = Gemm.PackA(false, cg, k, w, g * cg * k, k);
        return packed;
    }

    /// <summary>As the overload without <paramref name="packed"/>, with the weights also given pre-packed (one matrix per
    /// group, from <see cref="PackWeights"/>): inference then never repacks them. Results are bitwise the same.</summary>
    public static void Forward(in ConvDims d, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y,
        float lo, float hi, PackedMatrix[]? packed)
    {
        if (x.Length < (long)d.N * d.InImage || y.Length < (long)d.N * d.OutImage || w.Length < (long)d.Cout * d.K || (!bias.IsEmpty && bias.Length < d.Cout))
            throw new ArgumentException($"Conv: buffers too small for {d}.");
        if (d.N == 0 || d.Cout == 0 || d.P == 0) return;
        if (Winograd.Preferred(d)) { Winograd.Forward(d, x, w, bias, y, lo, hi); return; }
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            var body = new ForwardBody { D = d, X = px, Wt = pw, Bias = bias.IsEmpty ? null : pb, Y = py, Lo = lo, Hi = hi };
            if (packed != null && UsePrepacked && !d.Depthwise && packed.Length == d.Groups && packed[0].Rows == d.Cgout && packed[0].Cols == d.K
                && packed[0].Level == Gemm.ActiveLevel)
                body.Packed = packed;
            if (d.Depthwise)
            {
                body.Slices = d.N >= KernelParallel.MaxThreads ? d.N : Math.Min(d.Cin, 4 * KernelParallel.MaxThreads);
                if ((long)d.N * d.OutImage * d.Geo.KernelH * d.Geo.KernelW < (1 << 16)) body.Slices = 1;
                KernelParallel.For(body.Slices, ref body);
                return;
            }
            // Vector256 tier: pointwise convs on wide maps multiply each image in place (PointwiseDirect; pre-packed
            // weights are not used, so packed and unpacked forwards agree bit for bit). Images, or column ranges of an
            // image when there are fewer images than threads: each output column is computed alone either way.
            if (PointwiseDirect.Applies(d))
            {
                body.Packed = null;
                body.Pieces = DirectPieces(d);
                KernelParallel.For(d.N * body.Pieces, ref body);
                return;
            }
            if (PointwiseDirect.AppliesNarrow(d))
            {
                body.Packed = null;
                body.Nb = ImagesPerChunk(d, TargetColumns);
                using var pack = new NarrowPack(d, pw, transA: false);
                body.PackedA = pack.Data;
                KernelParallel.For((d.N + body.Nb - 1) / body.Nb, ref body);
                return;
            }
            // Pointwise convs on wide maps read each image in place (no im2col copy, no packing of B): one image per chunk.
            body.Direct = body.Packed == null && d.Pointwise && d.N >= KernelParallel.MaxThreads && Gemm.DirectBApplies(d.Cgout, d.P, d.K);
            body.Nb = body.Direct ? 1 : ImagesPerChunk(d, TargetColumns);
            int chunks = (d.N + body.Nb - 1) / body.Nb;
            if (chunks == 1) { body.Invoke(0); return; }
            // Training (no pre-packed weights): pack the weights once per call instead of once per chunk (each chunk's
            // Sgemm would repack the whole Cout×K matrix: 4.7 MB for 512×2304). Same packing, same GEMM: bitwise equal.
            float* store = null;
            long floats = 0;
            if (body.Packed == null && PackOncePerCall && d.Groups == 1 && body.Nb > 1 && body.Nb * d.P >= 64)
            {
                floats = Gemm.PackedFloats(d.Cout, d.K);
                store = Scratch.AllocNative(floats);
                var view = Gemm.PackedView(d.Cout, d.K, store);
                Gemm.PackRows(view, 0, d.Cout, pw, d.K);
                body.Packed = [view];
            }
            try { KernelParallel.For(chunks, ref body); }
            finally
            {
                if (store != null) Scratch.FreeNative(store, floats, $"the packed weights of a {d.Cout}×{d.K} conv");
            }
        }
    }

    /// <summary>op(W_g) of every group packed for <see cref="PointwiseDirect.MultiplyImages"/> (W_g for the forward, W_gᵀ for
    /// the data gradient), in tracked native memory freed on dispose.</summary>
    private readonly struct NarrowPack : IDisposable
    {
        public readonly float* Data;
        private readonly long _floats;

        public NarrowPack(in ConvDims d, float* w, bool transA)
        {
            int m = transA ? d.Cgin : d.Cgout, k = transA ? d.Cgout : d.Cgin, size = PointwiseDirect.PackedFloats(m, k);
            _floats = (long)size * d.Groups;
            Data = Scratch.AllocNative(_floats);
            for (int g = 0; g < d.Groups; g++)
                PointwiseDirect.Pack(transA, m, k, w + (nint)g * d.Cgout * d.K, d.K, Data + (nint)g * size);
        }

        public void Dispose() => Scratch.FreeNative(Data, _floats, "narrow packed conv weights");
    }

    /// <summary>Column pieces per image for <see cref="PointwiseDirect"/>: one, or enough to give every thread work when
    /// there are fewer images than threads (never less than 64 columns a piece). The results do not depend on it.</summary>
    private static int DirectPieces(in ConvDims d)
    {
        int threads = KernelParallel.MaxThreads;
        if (d.N >= threads) return 1;
        return Math.Max(1, Math.Min((2 * threads + d.N - 1) / d.N, d.P / 64));
    }

    /// <summary>Columns [j0, j1) of piece <paramref name="piece"/> of <paramref name="pieces"/>, cut at strips of
    /// <see cref="PointwiseDirect.NR"/>.</summary>
    private static (int J0, int J1) PieceColumns(int p, int piece, int pieces)
    {
        int strips = (p + PointwiseDirect.NR - 1) / PointwiseDirect.NR;
        int s0 = (int)((long)strips * piece / pieces), s1 = (int)((long)strips * (piece + 1) / pieces);
        return (s0 * PointwiseDirect.NR, Math.Min(p, s1 * PointwiseDirect.NR));
    }

    /// <summary>For in-process A/B timing: false packs the weights in every image chunk (the old behaviour).</summary>
    internal static bool PackOncePerCall = Environment.GetEnvironmentVariable("SHRINK_PACK_PER_CHUNK") != "1";

    private struct ForwardBody : IParallelBody
    {
        public ConvDims D;
        public float* X, Wt, Bias, Y;
        public float Lo, Hi;
        public int Nb, Slices;
        public PackedMatrix[]? Packed;
        public bool Direct;
        public int Pieces;
        public float* PackedA;

        public readonly void Invoke(int index)
        {
            var d = D;
            if (d.Depthwise)
            {
                DepthwiseSlice(d, index, Slices, X, Wt, Bias, Y, Lo, Hi);
                return;
            }
            if (PackedA != null)
            {
                // Narrow maps: a chunk of images against the weights packed once (PointwiseDirect.MultiplyImages).
                int first = index * Nb, count = Math.Min(Nb, d.N - first), size = PointwiseDirect.PackedFloats(d.Cgout, d.K);
                for (int g = 0; g < d.Groups; g++)
                {
                    float* yg = Y + (nint)first * d.OutImage + (nint)g * d.Cgout * d.P;
                    PointwiseDirect.MultiplyImages(PackedA + (nint)g * size, d.Cgout, d.K, count, X + (nint)first * d.InImage + (nint)g * d.Cgin * d.P, d.P,
                        d.InImage, yg, d.P, d.OutImage, d.P, accumulate: false);
                    if (Bias == null && Lo == float.NegativeInfinity && Hi == float.PositiveInfinity) continue;
                    for (int i = 0; i < count; i++)
                        for (int o = 0; o < d.Cgout; o++)
                        {
                            float* row = yg + (nint)i * d.OutImage + (nint)o * d.P;
                            Epilogue.BiasClamp(row, Bias == null ? 0f : Bias[g * d.Cgout + o], Lo, Hi, row, d.P);
                        }
                }
                return;
            }
            if (Pieces > 0)
            {
                int n = index / Pieces;
                var (j0, j1) = PieceColumns(d.P, index % Pieces, Pieces);
                for (int g = 0; g < d.Groups; g++)
                {
                    float* yg = Y + (nint)n * d.OutImage + (nint)g * d.Cgout * d.P;
                    PointwiseDirect.Multiply(false, d.Cgout, d.K, Wt + (nint)g * d.Cgout * d.K, d.K,
                        X + (nint)n * d.InImage + (nint)g * d.Cgin * d.P, d.P, yg, d.P, j0, j1, accumulate: false);
                    for (int o = 0; o < d.Cgout; o++)
                    {
                        float* row = yg + (nint)o * d.P + j0;
                        Epilogue.BiasClamp(row, Bias == null ? 0f : Bias[g * d.Cgout + o], Lo, Hi, row, j1 - j0);
                    }
                }
                return;
            }
            int n0 = index * Nb, nb = Math.Min(Nb, d.N - n0);
            int cols = nb * d.P, k = d.K;
            bool direct = nb == 1;
            float* col = d.Pointwise && direct ? null : Workspace(ref t_col, (long)k * cols);
            float* tmp = direct ? null : Workspace(ref t_out, (long)d.Cgout * cols);
            for (int g = 0; g < d.Groups; g++)
            {
                float* b;
                if (col == null) b = X + (nint)n0 * d.InImage + (nint)g * d.Cgin * d.H * d.W;
                else
                {
                    for (int i = 0; i < nb; i++)
                    {
                        float* xi = X + (nint)(n0 + i) * d.InImage + (nint)g * d.Cgin * d.H * d.W;
                        var dst = new Span<float>(col + (nint)i * d.P, (int)Math.Min(int.MaxValue, (long)(k - 1) * cols + d.P));
                        if (d.Pointwise) CopyRows(xi, d.P, col + (nint)i * d.P, cols, k, d.P);
                        else Im2Col.Forward(new ReadOnlySpan<float>(xi, d.Cgin * d.H * d.W), d.Cgin, d.H, d.W, d.Geo, dst, cols);
                    }
                    b = col;
                }
                float* wg = Wt + (nint)g * d.Cgout * k;
                if (direct)
                {
                    float* yg = Y + (nint)n0 * d.OutImage + (nint)g * d.Cgout * d.P;
                    if (Packed != null)
                        Gemm.Sgemm(Packed[g], false, cols, 1f, new ReadOnlySpan<float>(b, (int)((long)(k - 1) * cols + cols)), cols, 0f,
                            new Span<float>(yg, (int)((long)(d.Cgout - 1) * d.P + cols)), d.P);
                    else if (Direct) Gemm.DirectB(false, d.Cgout, cols, k, wg, k, b, cols, 0f, yg, d.P);
                    else GemmSmallN.Multiply(d.Cgout, cols, k, wg, k, b, cols, yg, d.P); // packed GEMM unless the map is tiny
                    for (int o = 0; o < d.Cgout; o++)
                    {
                        float* row = yg + (nint)o * d.P;
                        Epilogue.BiasClamp(row, Bias == null ? 0f : Bias[g * d.Cgout + o], Lo, Hi, row, d.P);
                    }
                }
                else
                {
                    if (Packed != null)
                        Gemm.Sgemm(Packed[g], false, cols, 1f, new ReadOnlySpan<float>(b, (int)((long)(k - 1) * cols + cols)), cols, 0f,
                            new Span<float>(tmp, d.Cgout * cols), cols);
                    else Gemm.Sgemm(false, false, d.Cgout, cols, k, 1f, new ReadOnlySpan<float>(wg, d.Cgout * k), k,
                        new ReadOnlySpan<float>(b, (int)((long)(k - 1) * cols + cols)), cols, 0f, new Span<float>(tmp, d.Cgout * cols), cols);
                    for (int i = 0; i < nb; i++)
                    {
                        float* yi = Y + (nint)(n0 + i) * d.OutImage + (nint)g * d.Cgout * d.P;
                        for (int o = 0; o < d.Cgout; o++)
                            Epilogue.BiasClamp(tmp + (nint)o * cols + (nint)i * d.P, Bias == null ? 0f : Bias[g * d.Cgout + o], Lo, Hi,
                                yi + (nint)o * d.P, d.P);
                    }
                }
            }
        }
    }

    /// <summary>Slice <paramref name="index"/> of <paramref name="slices"/> of a depthwise conv: whole images when
    /// slices = N, else a range of channels of every image.</summary>
    private static void DepthwiseSlice(in ConvDims d, int index, int slices, float* x, float* w, float* bias, float* y, float lo, float hi)
    {
        int m = d.Cout / d.Cin, taps = d.Geo.KernelH * d.Geo.KernelW, plane = d.H * d.W;
        int n0, n1, c0, c1;
        if (slices == d.N) { n0 = index; n1 = index + 1; c0 = 0; c1 = d.Cin; }
        else { n0 = 0; n1 = d.N; c0 = (int)((long)d.Cin * index / slices); c1 = (int)((long)d.Cin * (index + 1) / slices); }
        if (c1 <= c0) return;
        int cs = c1 - c0;
        for (int n = n0; n < n1; n++)
        {
            var xs = new ReadOnlySpan<float>(x + (nint)n * d.InImage + (nint)c0 * plane, cs * plane);
            var ws = new ReadOnlySpan<float>(w + (nint)c0 * m * taps, cs * m * taps);
            var bs = bias == null ? default : new ReadOnlySpan<float>(bias + c0 * m, cs * m);
            float* yo = y + (nint)n * d.OutImage + (nint)c0 * m * d.P;
            DepthwiseConv.Forward(xs, cs, d.H, d.W, ws, bs, m, d.Geo, new Span<float>(yo, cs * m * d.P));
            if (lo != float.NegativeInfinity || hi != float.PositiveInfinity) Epilogue.BiasClamp(yo, 0f, lo, hi, yo, cs * m * d.P);
        }
    }

    /// <summary>dx += convᵀ(dy, w): the data gradient. Accumulates into dx.</summary>
    public static void BackwardData(in ConvDims d, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        if (dx.Length < (long)d.N * d.InImage || dy.Length < (long)d.N * d.OutImage || w.Length < (long)d.Cout * d.K)
            throw new ArgumentException($"Conv backward: buffers too small for {d}.");
        if (d.N == 0 || d.Cout == 0 || d.P == 0) return;
        if (Winograd.PreferredForData(d)) { Winograd.BackwardData(d, dy, w, dx); return; }
        fixed (float* pdy = dy, pw = w, pdx = dx)
        {
            var body = new BackwardDataBody { D = d, Dy = pdy, Wt = pw, Dx = pdx };
            if (d.Depthwise)
            {
                body.Slices = d.N >= KernelParallel.MaxThreads ? d.N : Math.Min(d.Cin, 4 * KernelParallel.MaxThreads);
                KernelParallel.For(body.Slices, ref body);
                return;
            }
            if (PointwiseDirect.Applies(d))
            {
                body.Pieces = DirectPieces(d);
                KernelParallel.For(d.N * body.Pieces, ref body);
                return;
            }
            if (PointwiseDirect.AppliesNarrow(d))
            {
                body.Nb = ImagesPerChunk(d, TargetColumns);
                using var pack = new NarrowPack(d, pw, transA: true);
                body.PackedA = pack.Data;
                KernelParallel.For((d.N + body.Nb - 1) / body.Nb, ref body);
                return;
            }
            // Pointwise convs on wide maps: Wᵀ·dY straight into each image's dX (B = dY read in place). With one k block
            // (Cout ≤ 256) or one image per chunk anyway (P > 256) the sums are those of the chunked path: bitwise equal.
            body.Direct = d.Pointwise && d.N >= KernelParallel.MaxThreads && (d.P > TargetColumns / 2 || d.Cgout <= 256) && Gemm.DirectBApplies(d.K, d.P, d.Cgout);
            body.Nb = body.Direct ? 1 : ImagesPerChunk(d, TargetColumns);
            int chunks = (d.N + body.Nb - 1) / body.Nb;
            if (chunks == 1) body.Invoke(0);
            else KernelParallel.For(chunks, ref body);
        }
    }

    private struct BackwardDataBody : IParallelBody
    {
        public ConvDims D;
        public float* Dy, Wt, Dx;
        public int Nb, Slices, Pieces;
        public bool Direct;
        public float* PackedA;

        public readonly void Invoke(int index)
        {
            var d = D;
            int plane = d.H * d.W;
            if (PackedA != null)
            {
                // Narrow maps: dX += Wᵀ·dY for a chunk of images, Wᵀ packed once (PointwiseDirect.MultiplyImages).
                int first = index * Nb, count = Math.Min(Nb, d.N - first), size = PointwiseDirect.PackedFloats(d.Cgin, d.Cgout);
                for (int g = 0; g < d.Groups; g++)
                    PointwiseDirect.MultiplyImages(PackedA + (nint)g * size, d.Cgin, d.Cgout, count, Dy + (nint)first * d.OutImage + (nint)g * d.Cgout * d.P, d.P,
                        d.OutImage, Dx + (nint)first * d.InImage + (nint)g * d.Cgin * plane, d.P, d.InImage, d.P, accumulate: true);
                return;
            }
            if (Pieces > 0)
            {
                // dX_g += W_gᵀ·dY_g for columns [j0, j1) of image n, dY read in place.
                int n = index / Pieces;
                var (j0, j1) = PieceColumns(d.P, index % Pieces, Pieces);
                for (int g = 0; g < d.Groups; g++)
                    PointwiseDirect.Multiply(true, d.K, d.Cgout, Wt + (nint)g * d.Cgout * d.K, d.K,
                        Dy + (nint)n * d.OutImage + (nint)g * d.Cgout * d.P, d.P, Dx + (nint)n * d.InImage + (nint)g * d.Cgin * plane, d.P,
                        j0, j1, accumulate: true);
                return;
            }
            if (d.Depthwise)
            {
                int m = d.Cout / d.Cin, taps = d.Geo.KernelH * d.Geo.KernelW;
                int n0s, n1s, c0, c1;
                if (Slices == d.N) { n0s = index; n1s = index + 1; c0 = 0; c1 = d.Cin; }
                else { n0s = 0; n1s = d.N; c0 = (int)((long)d.Cin * index / Slices); c1 = (int)((long)d.Cin * (index + 1) / Slices); }
                int cs = c1 - c0;
                if (cs <= 0) return;
                for (int n = n0s; n < n1s; n++)
                    DepthwiseConv.BackwardData(new ReadOnlySpan<float>(Dy + (nint)n * d.OutImage + (nint)c0 * m * d.P, cs * m * d.P),
                        new ReadOnlySpan<float>(Wt + (nint)c0 * m * taps, cs * m * taps), cs, d.H, d.W, m, d.Geo,
                        new Span<float>(Dx + (nint)n * d.InImage + (nint)c0 * plane, cs * plane));
                return;
            }
            int n0 = index * Nb, nb = Math.Min(Nb, d.N - n0);
            int cols = nb * d.P, k = d.K;
            bool direct = nb == 1;
            float* dcol = d.Pointwise && direct ? null : Workspace(ref t_col, (long)k * cols);
            float* gdy = direct ? null : Workspace(ref t_out, (long)d.Cgout * cols);
            for (int g = 0; g < d.Groups; g++)
            {
                float* wg = Wt + (nint)g * d.Cgout * k;
                float* a;
                int lda;
                if (direct) { a = Dy + (nint)n0 * d.OutImage + (nint)g * d.Cgout * d.P; lda = d.P; }
                else
                {
                    for (int i = 0; i < nb; i++)
                        CopyRows(Dy + (nint)(n0 + i) * d.OutImage + (nint)g * d.Cgout * d.P, d.P, gdy + (nint)i * d.P, cols, d.Cgout, d.P);
                    a = gdy;
                    lda = cols;
                }
                var dyg = new ReadOnlySpan<float>(a, (int)((long)(d.Cgout - 1) * lda + cols));
                var wspan = new ReadOnlySpan<float>(wg, d.Cgout * k);
                if (dcol == null)
                {
                    // dX_g += W_gᵀ·dY_g, straight into the input gradient.
                    float* dxg = Dx + (nint)n0 * d.InImage + (nint)g * d.Cgin * plane;
                    if (Direct)
                    {
                        Gemm.DirectB(true, k, cols, d.Cgout, wg, k, a, lda, 1f, dxg, cols);
                        continue;
                    }
                    Gemm.Sgemm(true, false, k, cols, d.Cgout, 1f, wspan, k, dyg, lda, 1f, new Span<float>(dxg, d.Cgin * plane), cols);
                    continue;
                }
                Gemm.Sgemm(true, false, k, cols, d.Cgout, 1f, wspan, k, dyg, lda, 0f, new Span<float>(dcol, (int)((long)k * cols)), cols);
                for (int i = 0; i < nb; i++)
                {
                    float* dxi = Dx + (nint)(n0 + i) * d.InImage + (nint)g * d.Cgin * plane;
                    if (d.Pointwise) AddRows(dcol + (nint)i * d.P, cols, dxi, d.P, k, d.P);
                    else Im2Col.BackwardOverwriting(new Span<float>(dcol + (nint)i * d.P, (int)((long)(k - 1) * cols + d.P)), d.Cgin, d.H, d.W,
                        d.Geo, new Span<float>(dxi, d.Cgin * plane), cols);
                }
            }
        }
    }

    /// <summary>Weight-gradient chunks of images with fewer than this many output positions are gathered a channel
    /// slice at a time across the chunk (<see cref="GatherRowsBody"/>) rather than an image at a time.</summary>
    private const int RowGatherBelowP = 128;

    /// <summary>SHRINK_NO_WGRAD2=1 (or this switch, for in-process A/B timing) gathers every weight-gradient chunk an image at a time.</summary>
    internal static bool WeightGradientV2 = Environment.GetEnvironmentVariable("SHRINK_NO_WGRAD2") != "1";

    /// <summary>dw += ∂/∂w Σ dy·conv(x, w), and db += Σ dy over images and positions when db is not empty. Accumulates.</summary>
    public static void BackwardWeight(in ConvDims d, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw, Span<float> db)
    {
        if (x.Length < (long)d.N * d.InImage || dy.Length < (long)d.N * d.OutImage || dw.Length < (long)d.Cout * d.K)
            throw new ArgumentException($"Conv weight gradient: buffers too small for {d}.");
        if (d.N == 0 || d.Cout == 0 || d.P == 0) return;
        fixed (float* px = x, pdy = dy, pdw = dw, pdb = db)
        {
            if (!db.IsEmpty)
            {
                var bb = new BiasBody { D = d, Dy = pdy, Db = pdb };
                KernelParallel.For(Math.Min(d.Cout, 8 * KernelParallel.MaxThreads), ref bb);
            }
            if (Winograd.PreferredForWeight(d)) { Winograd.BackwardWeight(d, x, dy, dw); return; }
            if (d.Depthwise)
            {
                var dwb = new DepthwiseWeightBody { D = d, X = px, Dy = pdy, Dw = pdw, Slices = Math.Min(d.Cin, 4 * KernelParallel.MaxThreads) };
                KernelParallel.For(dwb.Slices, ref dwb);
                return;
            }
            if (PointwiseWeightGradient.Applies(d)) { PointwiseWeightGradient.Accumulate(d, x, dy, dw); return; }
            int nbImages = ImagesPerChunk(d, TargetColumnsWeight, parallel: false);
            int k = d.K, plane = d.H * d.W;
            int cols = nbImages * d.P;
            bool direct = nbImages == 1 && d.Pointwise;
            float* col = direct ? null : Workspace(ref t_colW, (long)k * cols);
            float* gdy = nbImages == 1 ? null : Workspace(ref t_outW, (long)d.Cgout * cols);
            float* dwT = TransposedWeightGradient(d.Cgout, d.K, Gemm.TileShape) ? Workspace(ref t_dwT, (long)d.Cout * k) : null;
            for (int n0 = 0; n0 < d.N; n0 += nbImages)
            {
                int nb = Math.Min(nbImages, d.N - n0), c = nb * d.P;
                for (int g = 0; g < d.Groups; g++)
                {
                    float* b;
                    int ldb;
                    if (direct) { b = px + (nint)n0 * d.InImage + (nint)g * d.Cgin * plane; ldb = d.P; }
                    else
                    {
                        if (WeightGradientV2 && nb > 1 && d.P < RowGatherBelowP)
                        {
                            var rows = new GatherRowsBody { D = d, X = px, Dy = pdy, Col = col, Gdy = gdy, N0 = n0, Nb = nb, Cols = c, G = g,
                                Slices = Math.Min(d.Cgin, 4 * KernelParallel.MaxThreads) };
                            KernelParallel.For(rows.Slices, ref rows);
                        }
                        else
                        {
                            var gather = new GatherBody { D = d, X = px, Dy = pdy, Col = col, Gdy = gdy, N0 = n0, Cols = c, G = g };
                            if (nb == 1) gather.Invoke(0);
                            else KernelParallel.For(nb, ref gather);
                        }
                        b = col;
                        ldb = c;
                    }
                    float* a = gdy == null ? pdy + (nint)n0 * d.OutImage + (nint)g * d.Cgout * d.P : gdy;
                    int lda = gdy == null ? d.P : c;
                    var dyg = new ReadOnlySpan<float>(a, (int)((long)(d.Cgout - 1) * lda + c));
                    var colg = new ReadOnlySpan<float>(b, (int)((long)(k - 1) * ldb + c));
                    // dW_g += dY_g·colᵀ ([Cgout, cols]·[cols, K]), or dWᵀ_g = Σ over chunks of col·dY_gᵀ ([K, cols]·[cols, Cgout]).
                    if (dwT == null) Gemm.Sgemm(false, true, d.Cgout, k, c, 1f, dyg, lda, colg, ldb, 1f, new Span<float>(pdw + (nint)g * d.Cgout * k, d.Cgout * k), k);
                    else Gemm.Sgemm(false, true, k, d.Cgout, c, 1f, colg, ldb, dyg, lda, n0 == 0 ? 0f : 1f, new Span<float>(dwT + (nint)g * k * d.Cgout, k * d.Cgout), d.Cgout);
                }
            }
            if (dwT != null)
                for (int g = 0; g < d.Groups; g++) AddTransposed(dwT + (nint)g * k * d.Cgout, d.Cgout, pdw + (nint)g * d.Cgout * k, k, d.Cgout, k);
        }
    }

    /// <summary>Whether the weight gradient computes dWᵀ = col·dYᵀ (then adds it to dW transposed) instead of
    /// dW = dY·colᵀ: the same multiply-adds in the same order (bitwise the same sums), but the GEMM's MR×NR tiles waste
    /// less on padding when Cout is small — Cout = 64 is 4.6 tiles of 14 rows but 2 panels of 32 columns, and the first
    /// conv's K = 9 fills 9 of 32 columns. Chosen when it saves at least 5 % of the work padded to <paramref name="tile"/>.</summary>
    internal static bool TransposedWeightGradient(int cgout, int k, (int MR, int NR) tile)
    {
        long plain = RoundUp(cgout, tile.MR) * RoundUp(k, tile.NR), transposed = RoundUp(k, tile.MR) * RoundUp(cgout, tile.NR);
        return transposed * 20 < plain * 19;
    }

    private static long RoundUp(int value, int multiple) => ((long)value + multiple - 1) / multiple * multiple;

    /// <summary>dst[r·ldd + c] += src[c·lds + r] for r &lt; rows, c &lt; cols, in 16×16 tiles (both sides stay in cache).</summary>
    private static void AddTransposed(float* src, int lds, float* dst, int ldd, int rows, int cols)
    {
        const int Tile = 16;
        for (int r0 = 0; r0 < rows; r0 += Tile)
            for (int c0 = 0; c0 < cols; c0 += Tile)
                for (int r = r0, r1 = Math.Min(rows, r0 + Tile); r < r1; r++)
                    for (int c = c0, c1 = Math.Min(cols, c0 + Tile); c < c1; c++)
                        dst[(nint)r * ldd + c] += src[(nint)c * lds + r];
    }

    /// <summary>im2col of one image (and the gather of its output gradient) into the weight-gradient chunk.</summary>
    private struct GatherBody : IParallelBody
    {
        public ConvDims D;
        public float* X, Dy, Col, Gdy;
        public int N0, Cols, G;

        public readonly void Invoke(int i)
        {
            var d = D;
            int k = d.K, plane = d.H * d.W;
            float* xi = X + (nint)(N0 + i) * d.InImage + (nint)G * d.Cgin * plane;
            if (d.Pointwise) CopyRows(xi, d.P, Col + (nint)i * d.P, Cols, k, d.P);
            else Im2Col.Forward(new ReadOnlySpan<float>(xi, d.Cgin * plane), d.Cgin, d.H, d.W, d.Geo,
                new Span<float>(Col + (nint)i * d.P, (int)((long)(k - 1) * Cols + d.P)), Cols);
            if (Gdy != null)
                CopyRows(Dy + (nint)(N0 + i) * d.OutImage + (nint)G * d.Cgout * d.P, d.P, Gdy + (nint)i * d.P, Cols, d.Cgout, d.P);
        }
    }

    /// <summary>The same chunk as <see cref="GatherBody"/> (the same values in the same places), filled a slice of
    /// input channels (and of output-gradient rows) at a time across all the chunk's images instead of an image at a
    /// time: each channel's KH·KW rows of the column matrix are written left to right while they are in cache, where
    /// an image at a time writes P floats into each of K rows a whole chunk apart (K·cols·4 bytes — 37 MB for a
    /// 512-channel 3×3 layer — touched in scattered 64-byte pieces, one page per row).</summary>
    private struct GatherRowsBody : IParallelBody
    {
        public ConvDims D;
        public float* X, Dy, Col, Gdy;
        public int N0, Nb, Cols, G, Slices;

        public readonly void Invoke(int index)
        {
            var d = D;
            int plane = d.H * d.W, taps = d.Geo.KernelH * d.Geo.KernelW;
            int c0 = (int)((long)d.Cgin * index / Slices), c1 = (int)((long)d.Cgin * (index + 1) / Slices);
            for (int ch = c0; ch < c1; ch++)
            {
                float* rows = Col + (nint)ch * taps * Cols;
                for (int i = 0; i < Nb; i++)
                {
                    float* xi = X + (nint)(N0 + i) * d.InImage + (nint)(G * d.Cgin + ch) * plane;
                    Im2Col.Forward(new ReadOnlySpan<float>(xi, plane), 1, d.H, d.W, d.Geo,
                        new Span<float>(rows + (nint)i * d.P, (int)((long)(taps - 1) * Cols + d.P)), Cols);
                }
            }
            if (Gdy == null) return;
            int r0 = (int)((long)d.Cgout * index / Slices), r1 = (int)((long)d.Cgout * (index + 1) / Slices);
            for (int i = 0; i < Nb && r1 > r0; i++)
                CopyRows(Dy + (nint)(N0 + i) * d.OutImage + (nint)(G * d.Cgout + r0) * d.P, d.P, Gdy + (nint)r0 * Cols + (nint)i * d.P, Cols, r1 - r0, d.P);
        }
    }

    private struct BiasBody : IParallelBody
    {
        public ConvDims D;
        public float* Dy, Db;

        public readonly void Invoke(int index)
        {
            var d = D;
            int slices = Math.Min(d.Cout, 8 * KernelParallel.MaxThreads);
            int o0 = (int)((long)d.Cout * index / slices), o1 = (int)((long)d.Cout * (index + 1) / slices);
            for (int o = o0; o < o1; o++)
            {
                float sum = 0;
                for (int n = 0; n < d.N; n++)
                    sum += TensorPrimitives.Sum<float>(new ReadOnlySpan<float>(Dy + (nint)n * d.OutImage + (nint)o * d.P, d.P));
                Db[o] += sum;
            }
        }
    }

    private struct DepthwiseWeightBody : IParallelBody
    {
        public ConvDims D;
        public float* X, Dy, Dw;
        public int Slices;

        public readonly void Invoke(int index)
        {
            var d = D;
            int m = d.Cout / d.Cin, taps = d.Geo.KernelH * d.Geo.KernelW, plane = d.H * d.W;
            int c0 = (int)((long)d.Cin * index / Slices), c1 = (int)((long)d.Cin * (index + 1) / Slices), cs = c1 - c0;
            if (cs <= 0) return;
            for (int n = 0; n < d.N; n++)
                DepthwiseConv.BackwardWeight(new ReadOnlySpan<float>(X + (nint)n * d.InImage + (nint)c0 * plane, cs * plane),
                    new ReadOnlySpan<float>(Dy + (nint)n * d.OutImage + (nint)c0 * m * d.P, cs * m * d.P), cs, d.H, d.W, m, d.Geo,
                    new Span<float>(Dw + (nint)c0 * m * taps, cs * m * taps));
        }
    }

    /// <summary>dst[r·ldd + j] = src[r·lds + j] for r &lt; rows, j &lt; len.</summary>
    private static void CopyRows(float* src, int lds, float* dst, int ldd, int rows, int len)
    {
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(src + (nint)r * lds, len).CopyTo(new Span<float>(dst + (nint)r * ldd, len));
    }

    /// <summary>dst[r·ldd + j] += src[r·lds + j] for r &lt; rows, j &lt; len.</summary>
    private static void AddRows(float* src, int lds, float* dst, int ldd, int rows, int len)
    {
        for (int r = 0; r < rows; r++)
        {
            var d = new Span<float>(dst + (nint)r * ldd, len);
            TensorPrimitives.Add(d, new ReadOnlySpan<float>(src + (nint)r * lds, len), d);
        }
    }

    [ThreadStatic] private static float[]? t_col, t_out, t_colW, t_outW, t_dwT;

    /// <summary>A thread-local scratch area of at least <paramref name="floats"/> (<see cref="Scratch"/>, counted by
    /// <see cref="Profiling.MemoryTracker"/>).</summary>
    private static float* Workspace(ref float[]? array, long floats) => Scratch.Grow(ref array, floats, tracked: true);
}

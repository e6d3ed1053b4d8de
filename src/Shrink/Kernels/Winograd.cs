using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Shrink.Kernels;

/// <summary>
/// 3×3 stride-1 convolution by Winograd's minimal filtering F(4×4, 3×3): each 4×4 output tile is Aᵀ·[U ⊙ V]·A with
/// V = Bᵀ·d·B the transform of its 6×6 input patch and U = G·g·Gᵀ of the kernel, so the 36 points ξ of the transformed
/// tile are 36 independent GEMMs M_ξ[Cout, tiles] = U_ξ[Cout, Cin]·V_ξ[Cin, tiles]: 36·Cin·Cout multiply-adds per
/// tile instead of 144·Cin·Cout. Layouts: x, y NCHW; w [Cout, Cin, 3, 3]; any padding, any map size (edge tiles read
/// zeros and write only the positions inside the output).
/// <para>Vectorisation: the lanes of a vector are the same tile of <see cref="ILanes{T}.Count"/> consecutive images (a
/// "tile vector"), so every transform is plain vector arithmetic whatever the map size (4×4 maps are one tile per image).
/// The work is split into blocks of tile vectors (several images, all channels); a thread transforms its block's
/// input (staging each 6-row input strip lane-interleaved and zero-padded), runs the 36 GEMMs against the pre-packed U
/// (single-threaded, inline) and inverse-transforms with the bias + clamp epilogue fused. Each output column is
/// computed alone, so results do not depend on the blocking or the thread count.</para>
/// <para>Accuracy: the transforms scale values by up to ~10² before the GEMM and back, so the result differs from a
/// direct convolution by a relative error of about 1e-5…1e-4 of the output's magnitude in float32 (F(2×2, 3×3) would be
/// ~1e-6; the 4×4 tile is the usual trade). U is computed in double precision.</para>
/// Workspace (transformed weights, per-block V and M) is rented per call and counted by <see cref="Profiling.MemoryTracker"/>.
/// </summary>
public static unsafe partial class Winograd
{
    private const int Points = 36;

    /// <summary>SHRINK_NO_WINOGRAD=1 (or this switch, for in-process A/B timing) keeps every conv on im2col + GEMM.</summary>
    internal static bool Enabled = Environment.GetEnvironmentVariable("SHRINK_NO_WINOGRAD") != "1";

    /// <summary>The convolutions this kernel computes: one group, 3×3, stride 1, dilation 1 (any padding, even
    /// asymmetric, and any size: positions outside the input read zero).</summary>
    public static bool Supports(in ConvDims d)
    {
        var g = d.Geo;
        return d.Groups == 1 && g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1;
    }

    /// <summary>Whether <see cref="ConvGemm"/> sends this conv here. Measured with <c>Shrink.Bench wgprobe</c>
    /// (docs/performance.md): Winograd wins when there are enough channels for its 36 GEMMs to outweigh the
    /// transforms — at least <see cref="MinChannels"/> in and out, and not fewer out than in below 128 (the input
    /// transform costs about twice the output one per channel: 128→64 at 14×14 loses) — and maps of at least 4×4. A
    /// batch of at least 16 fills the 16 image lanes; smaller batches (batch-1 latency) keep im2col + GEMM.</summary>
    public static bool Preferred(in ConvDims d) =>
        Enabled && Supports(d) && d.N >= 16 && d.Cin >= MinChannels && d.Cout >= Math.Min(d.Cin, 128) && d.Geo.OutH >= 4 && d.Geo.OutW >= 4;

    /// <summary>
    /// Input channels from which the forward and data-gradient Winograd pays on the active tier. With AVX-512 the GEMM
    /// is fast enough that 64→64 at 28×28 only breaks even (batch 128), so 64. With AVX2 the GEMM is half as wide and
    /// the 36 smaller GEMMs win earlier: 32→32 and 48→48 forward 1.3–1.75×, data gradient 0.94–1.41× (1.05–1.28× at 32)
    /// at batch 16–128 (16→32 forward 0.89–1.08×, so not 16) — the Tucker-2 cores of factorised models and ResNet-20's
    /// 32-channel stage.
    /// </summary>
    internal static int MinChannels => Narrow256 && Gemm.ActiveLevel == GemmLevel.Vector256 ? 32 : 64;

    /// <summary>The AVX2 rule of <see cref="MinChannels"/> (off: 64 on every tier, for in-process A/B timing).</summary>
    internal static bool Narrow256 = true;

    /// <summary>Whether <see cref="ConvGemm.BackwardData"/> sends the data gradient here: it is the 3×3 conv of dy with
    /// the flipped kernels and padding 2 − p, so the forward rule applies to that conv.</summary>
    public static bool PreferredForData(in ConvDims d) =>
        Supports(d) && d.Geo.PadTop <= 2 && d.Geo.PadLeft <= 2 && Preferred(DataDims(d));

    /// <summary>y = clamp(conv(x, w) + bias, lo, hi) (bias may be empty). Overwrites y.</summary>
    public static void Forward(in ConvDims d, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y,
        float lo = float.NegativeInfinity, float hi = float.PositiveInfinity)
    {
        Validate(d, x, y, bias);
        if (w.Length < (long)d.Cout * d.Cin * 9) throw new ArgumentException($"Winograd: weights too short for {d}.", nameof(w));
        if (d.N == 0 || d.Cout == 0 || d.P == 0) return;
        RunSliced(d, x, w, flip: false, bias, y, lo, hi, accumulate: false);
    }

    /// <summary>As <see cref="Forward(in ConvDims, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, float, float)"/>
    /// with the weights transformed once (<see cref="TransformWeights"/>): bitwise the same result.</summary>
    public static void Forward(in ConvDims d, ReadOnlySpan<float> x, WinogradWeights u, ReadOnlySpan<float> bias, Span<float> y,
        float lo = float.NegativeInfinity, float hi = float.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(u);
        Validate(d, x, y, bias);
        if (u.Rows != d.Cout || u.Cols != d.Cin) throw new ArgumentException($"Winograd: weights are {u.Rows}×{u.Cols}, the conv needs {d.Cout}×{d.Cin}.", nameof(u));
        if (d.N == 0 || d.Cout == 0 || d.P == 0) return;
        Run(d, x, u, bias, y, lo, hi, accumulate: false);
    }

    /// <summary>dx += convᵀ(dy, w), the data gradient of the forward conv <paramref name="d"/> (PadTop, PadLeft ≤ 2):
    /// the conv of dy with the kernels flipped and in/out channels swapped, padded 2 − p. Accumulates into dx.</summary>
    public static void BackwardData(in ConvDims d, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        if (!Supports(d) || d.Geo.PadTop > 2 || d.Geo.PadLeft > 2)
            throw new ArgumentException($"Winograd: no data gradient for {d} (needs a 3×3 stride-1 conv with padding ≤ 2).", nameof(d));
        var g = DataDims(d);
        Validate(g, dy, dx, default);
        if (w.Length < (long)d.Cout * d.Cin * 9) throw new ArgumentException($"Winograd: weights too short for {d}.", nameof(w));
        if (g.N == 0 || g.Cout == 0 || g.P == 0 || g.Cin == 0) return;
        RunSliced(g, dy, w, flip: true, default, dx, float.NegativeInfinity, float.PositiveInfinity, accumulate: true);
    }

    /// <summary>Transforms w [Cout, Cin, 3, 3] once for repeated forward calls (an inference plan): U packed for the GEMM
    /// of the active SIMD tier (used whatever the tier of later calls), 36·⌈Cout/MR⌉·MR·Cin floats; a snapshot.</summary>
    public static WinogradWeights TransformWeights(float[] w, int cout, int cin)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (cout <= 0 || cin <= 0 || w.Length < (long)cout * cin * 9)
            throw new ArgumentException($"Winograd: weights of {w.Length} floats do not hold {cout}×{cin}×3×3.", nameof(w));
        return WinogradWeights.Transform(w, cout, cin, flip: false, pooled: false, 0, cout);
    }

    /// <summary>The conv whose output is the data gradient of <paramref name="d"/>: input dy, output dx.</summary>
    private static ConvDims DataDims(in ConvDims d) =>
        new(d.N, d.Cout, d.Geo.OutH, d.Geo.OutW, d.Cin, 1, new Window2d(3, 3, 1, 1, 2 - d.Geo.PadTop, 2 - d.Geo.PadLeft, 1, 1, d.H, d.W));

    private static void Validate(in ConvDims d, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> bias)
    {
        if (!Supports(d)) throw new ArgumentException($"Winograd: {d} is not a 3×3 stride-1 dilation-1 single-group conv.", nameof(d));
        if (x.Length < (long)d.N * d.InImage || y.Length < (long)d.N * d.OutImage || (!bias.IsEmpty && bias.Length < d.Cout))
            throw new ArgumentException($"Winograd: buffers too small for {d}.");
    }

    // ---------------------------------------------------------------- driver

    /// <summary>Floats of V and M a block aims for (~2.5 MB: in L2 for small channel counts, in L3 otherwise).</summary>
    private const int BlockFloats = 640 * 1024;

    /// <summary>Transformed weights a call keeps at once (16 MB): bigger ones (512×512) are made and used a slice of
    /// output channels at a time, so the workspace stays small next to the activations (training's peak memory); each
    /// slice transforms the input again (cheap at the channel counts where slicing happens). Tests lower it.</summary>
    internal static long SliceFloats = 4L << 20;

    /// <summary>Runs the conv with per-call transformed weights (<paramref name="w"/> as for
    /// <see cref="WinogradWeights.Transform"/>), in slices of output channels.</summary>
    private static void RunSliced(in ConvDims d, ReadOnlySpan<float> x, ReadOnlySpan<float> w, bool flip, ReadOnlySpan<float> bias,
        Span<float> y, float lo, float hi, bool accumulate)
    {
        int mr = Gemm.PackedRowBlock;
        int maxRows = Math.Max(mr, (int)(SliceFloats / (Points * (long)d.Cin)) / mr * mr);
        int slices = (d.Cout + maxRows - 1) / maxRows;
        int rows = (d.Cout + slices - 1) / slices;
        rows = Math.Min(d.Cout, (rows + mr - 1) / mr * mr);
        for (int o0 = 0; o0 < d.Cout; o0 += rows)
        {
            using var u = WinogradWeights.Transform(w, d.Cout, d.Cin, flip, pooled: true, o0, Math.Min(rows, d.Cout - o0));
            Run(d, x, u, bias, y, lo, hi, accumulate);
        }
    }

    private static void Run(in ConvDims d, ReadOnlySpan<float> x, WinogradWeights u, ReadOnlySpan<float> bias, Span<float> y,
        float lo, float hi, bool accumulate)
    {
        switch (u.Level)
        {
            case GemmLevel.Vector512: Run<Lanes512>(d, x, u, bias, y, lo, hi, accumulate); break;
            case GemmLevel.Vector256: Run<Lanes256>(d, x, u, bias, y, lo, hi, accumulate); break;
            case GemmLevel.Vector128: Run<Lanes128>(d, x, u, bias, y, lo, hi, accumulate); break;
            default: Run<LanesScalar>(d, x, u, bias, y, lo, hi, accumulate); break;
        }
    }

    private static void Run<T>(in ConvDims d, ReadOnlySpan<float> x, WinogradWeights u, ReadOnlySpan<float> bias, Span<float> y,
        float lo, float hi, bool accumulate) where T : struct, ILanes<T>
    {
        int lanes = T.Count;
        var body = new Body<T>
        {
            D = d, U = u.Points, O0 = u.RowStart, Co = u.Rows, Lo = lo, Hi = hi, Accumulate = accumulate,
            TilesH = (d.Geo.OutH + 3) / 4, TilesW = (d.Geo.OutW + 3) / 4,
        };
        body.Vectors = (d.N + lanes - 1) / lanes * body.TilesH * body.TilesW;
        // Columns per block: as many as fit the V + M budget, at least 64 (the GEMM's N), at most 256; fewer when that
        // leaves a thread without two blocks.
        int cols = Math.Clamp(BlockFloats / (Points * (d.Cin + u.Rows)), 64, 256);
        body.PerBlock = Math.Max(1, cols / lanes);
        int threads = KernelParallel.MaxThreads;
        if (threads > 1) body.PerBlock = Math.Min(body.PerBlock, Math.Max(1, (body.Vectors + 2 * threads - 1) / (2 * threads)));
        int blocks = (body.Vectors + body.PerBlock - 1) / body.PerBlock;
        fixed (float* px = x, py = y, pb = bias)
        {
            body.X = px; body.Y = py; body.Bias = bias.IsEmpty ? null : pb;
            if (blocks == 1) body.Invoke(0); // the GEMMs parallelise themselves
            else KernelParallel.For(blocks, ref body);
        }
        GC.KeepAlive(u);
    }

    private struct Body<T> : IParallelBody where T : struct, ILanes<T>
    {
        public ConvDims D;
        public PackedMatrix[] U;
        public float* X, Y, Bias;
        public float Lo, Hi;
        public bool Accumulate;
        /// <summary>The output channels [O0, O0 + Co) this run computes (a slice of the weights).</summary>
        public int O0, Co;
        public int TilesH, TilesW, Vectors, PerBlock;

        public readonly void Invoke(int block)
        {
            var d = D;
            int lanes = T.Count;
            int v0 = block * PerBlock, v1 = Math.Min(Vectors, v0 + PerBlock);
            int cols = (v1 - v0) * lanes;
            int stripWidth = 4 * TilesW + 2;
            // One plane per point ξ: V_ξ [Cin, cols], M_ξ [Cout, cols]. Planes are padded by a cache line so the 36
            // stores (loads) of one tile do not all map to the same L1 set when a plane is a multiple of 4 KB.
            nint vStride = PlaneStride(d.Cin, cols), mStride = PlaneStride(Co, cols);
            long floats = Points * (long)(vStride + mStride) + 6L * stripWidth * lanes + 40L * lanes + 256; // + strip, tile scratch
            var scratch = Rent(floats);
            try
            {
                fixed (float* ps = scratch)
                {
                    float* v = ps, m = v + Points * vStride, strip = m + Points * mStride, tmp = strip + 6 * stripWidth * lanes;
                    TransformInput<T>(d, X, TilesH, TilesW, v0, v1, 0, d.Cin, v, vStride, cols, strip, tmp);
                    for (int xi = 0; xi < Points; xi++)
                        Gemm.Sgemm(U[xi], false, cols, 1f, new ReadOnlySpan<float>(v + xi * vStride, d.Cin * cols), cols,
                            0f, new Span<float>(m + xi * mStride, Co * cols), cols);
                    TransformOutput(v0, v1, m, mStride, cols, tmp);
                }
            }
            finally { Return(scratch, floats); }
        }

        /// <summary>Floats from one point's plane of <paramref name="rows"/>×<paramref name="cols"/> to the next.</summary>
        private static nint PlaneStride(int rows, int cols) => (nint)rows * cols + 16;

        /// <summary>y (or y +=) from M[ξ, o − O0, column] for the tile vectors [v0, v1), with bias and clamp.</summary>
        private readonly void TransformOutput(int v0, int v1, float* m, nint pointStride, int cols, float* tmp)
        {
            var d = D;
            int lanes = T.Count;
            float* tile = tmp + 24 * lanes;
            T lo = T.Splat(Lo), hi = T.Splat(Hi);
            for (int s = v0; s < v1;)
            {
                int row = s / TilesW, tx0 = s % TilesW, tx1 = Math.Min(TilesW, tx0 + v1 - s);
                int group = row / TilesH, ty = row % TilesH;
                int images = Math.Min(lanes, d.N - group * lanes);
                int rows = Math.Min(4, d.Geo.OutH - 4 * ty);
                for (int o = 0; o < Co; o++)
                {
                    T bias = T.Splat(Bias == null ? 0f : Bias[O0 + o]);
                    for (int tx = tx0; tx < tx1; tx++)
                    {
                        OutputTile(m + o * (nint)cols + (s - v0 + tx - tx0) * lanes, pointStride, tmp, tile, bias, lo, hi);
                        int width = Math.Min(4, d.Geo.OutW - 4 * tx);
                        if (typeof(T) == typeof(Lanes512) && images == 16 && rows == 4 && width == 4)
                        {
                            // Lane-major → image-major: tile[16·l + 4a + b] is image l's output (a, b).
                            Transpose16(tile, 16, 16, tile + 256, 16, 16);
                            float* t = tile + 256;
                            float* dst0 = Y + (nint)group * 16 * d.OutImage + (nint)(O0 + o) * d.P + (nint)4 * ty * d.Geo.OutW + 4 * tx;
                            for (int l = 0; l < 16; l++, t += 16)
                            {
                                float* dst = dst0 + (nint)l * d.OutImage;
                                for (int a = 0; a < 4; a++, dst += d.Geo.OutW)
                                {
                                    var q = Vector128.Load(t + 4 * a);
                                    (Accumulate ? Vector128.Load(dst) + q : q).Store(dst);
                                }
                            }
                            continue;
                        }
                        for (int l = 0; l < images; l++)
                        {
                            float* dst = Y + (nint)(group * lanes + l) * d.OutImage + (nint)(O0 + o) * d.P + (nint)4 * ty * d.Geo.OutW + 4 * tx;
                            for (int a = 0; a < rows; a++, dst += d.Geo.OutW)
                            {
                                float* src = tile + 4 * a * lanes + l;
                                if (Accumulate) for (int b = 0; b < width; b++) dst[b] += src[b * lanes];
                                else for (int b = 0; b < width; b++) dst[b] = src[b * lanes];
                            }
                        }
                    }
                }
                s += tx1 - tx0;
            }
        }
    }

    /// <summary>V[ξ, c, column] = (Bᵀ·d·B)_ξ for the tile vectors [v0, v1) (column = (v − v0)·lanes + lane) of the
    /// input channels [c0, c1) of x (row c of each point's plane; planes <paramref name="pointStride"/> apart, rows
    /// <paramref name="cols"/> long). A tile vector is the same tile of a lane group of images; vectors run over the
    /// tiles of a tile row, then the tile rows, then the lane groups. <paramref name="strip"/> holds
    /// 6·(4·tilesW + 2)·lanes floats, <paramref name="tmp"/> 36·lanes.</summary>
    private static void TransformInput<T>(in ConvDims d, float* x, int tilesH, int tilesW, int v0, int v1, int c0, int c1,
        float* v, nint pointStride, int cols, float* strip, float* tmp) where T : struct, ILanes<T>
    {
        int lanes = T.Count, stripWidth = 4 * tilesW + 2;
        nint rowStride = (nint)stripWidth * lanes;
        for (int s = v0; s < v1;)
        {
            // One run of tiles along a tile row of one lane group.
            int row = s / tilesW, tx0 = s % tilesW, tx1 = Math.Min(tilesW, tx0 + v1 - s);
            int group = row / tilesH, ty = row % tilesH;
            for (int c = c0; c < c1; c++)
            {
                StageStrip<T>(d, x, group, ty, c, strip, stripWidth);
                for (int tx = tx0; tx < tx1; tx++)
                    InputTile<T>(strip + 4 * tx * lanes, rowStride, tmp, v + c * (nint)cols + (s - v0 + tx - tx0) * lanes, pointStride);
            }
            s += tx1 - tx0;
        }
    }

    /// <summary>strip[(r·width + col)·lanes + lane] = x[image, c, 4·ty − padTop + r, col − padLeft] for the group's
    /// images, zero outside the image and for lanes past the batch.</summary>
    private static void StageStrip<T>(in ConvDims d, float* x, int group, int ty, int c, float* strip, int width) where T : struct, ILanes<T>
    {
        int lanes = T.Count;
        new Span<float>(strip, 6 * width * lanes).Clear();
        int x0 = Math.Max(0, d.Geo.PadLeft), x1 = Math.Min(width, d.W + d.Geo.PadLeft);
        int images = Math.Min(lanes, d.N - group * lanes);
        for (int r = 0; r < 6; r++)
        {
            int iy = 4 * ty - d.Geo.PadTop + r;
            if (iy < 0 || iy >= d.H) continue;
            float* src = x + (nint)group * lanes * d.InImage + ((nint)c * d.H + iy) * d.W - d.Geo.PadLeft;
            StageRow<T>(src, d.InImage, images, strip + (nint)r * width * lanes, x0, x1);
        }
    }

    /// <summary>dst[col·lanes + l] = src[l·imageStride + col] for col in [col0, col1) and the first
    /// <paramref name="images"/> lanes (a row segment of each image of a lane group, lane-interleaved).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageRow<T>(float* src, nint imageStride, int images, float* dst, int col0, int col1) where T : struct, ILanes<T>
    {
        int lanes = T.Count;
        if (typeof(T) == typeof(Lanes512) && images == 16 && col1 > col0)
        {
            // 16 images' row segments (one image apart) transposed 16 columns at a time.
            for (int col = col0; col < col1; col += 16)
                Transpose16(src + col, imageStride, col1 - col, dst + col * 16, 16, Math.Min(16, col1 - col));
            return;
        }
        for (int l = 0; l < images; l++)
        {
            float* s = src + l * imageStride, o = dst + l;
            for (int col = col0; col < col1; col++) o[col * lanes] = s[col];
        }
    }

    // ---------------------------------------------------------------- scratch

    /// <summary>A pooled array of at least <paramref name="floats"/>, counted as rented workspace.</summary>
    internal static float[] Rent(long floats)
    {
        if (floats > Array.MaxLength) throw new ArgumentException($"Winograd workspace of {floats} floats is too large; use a smaller batch.");
        var array = ArrayPool<float>.Shared.Rent((int)floats + Tensors.Tensor.GuardSlack);
        Tensors.Tensor.SetGuard(array, (int)floats);
        Profiling.MemoryTracker.Rented(floats * sizeof(float));
        return array;
    }

    internal static void Return(float[] array, long floats)
    {
        if (Tensors.Tensor.Guarded && Tensors.Tensor.GuardBreach(array, (int)floats) is int at and >= 0)
            Environment.FailFast($"SHRINK_GUARD: something wrote past the end of a Winograd workspace of {floats} floats (element {at}).");
        Profiling.MemoryTracker.Returned(floats * sizeof(float));
        ArrayPool<float>.Shared.Return(array);
    }
}

/// <summary>
/// Convolution weights transformed for <see cref="Winograd"/>: for each of the 36 points ξ the matrix U_ξ[rows, cols]
/// (rows = the conv's output channels) packed for the GEMM of one SIMD tier. Made per call (pooled, disposed after the
/// call) or once per inference plan (<see cref="Winograd.TransformWeights"/>).
/// </summary>
public sealed unsafe class WinogradWeights : IDisposable
{
    private readonly float[] _storage;
    private readonly long _floats;
    private readonly bool _pooled;
    private GCHandle _pin;

    private WinogradWeights(int rowStart, int rows, int cols, bool pooled)
    {
        RowStart = rowStart; Rows = rows; Cols = cols; _pooled = pooled;
        Level = Gemm.ActiveLevel;
        long plane = (Gemm.PackedFloats(rows, cols) + 15) / 16 * 16;
        _floats = 36 * plane + 16; // 16: the 64-byte alignment
        float* aligned;
        if (pooled)
        {
            _storage = Winograd.Rent(_floats);
            _pin = GCHandle.Alloc(_storage, GCHandleType.Pinned);
            aligned = Scratch.Aligned(_storage);
        }
        else _storage = Scratch.Pinned(36 * plane, out aligned, "Winograd weights");
        Points = new PackedMatrix[36];
        for (int xi = 0; xi < 36; xi++) Points[xi] = Gemm.PackedView(rows, cols, aligned + xi * plane);
    }

    /// <summary>Output channels of the conv the weights are for (of the slice, for per-call weights).</summary>
    public int Rows { get; }
    /// <summary>The first output channel (non-zero for a slice).</summary>
    internal int RowStart { get; }
    /// <summary>Input channels.</summary>
    public int Cols { get; }
    /// <summary>Bytes of transformed, packed storage.</summary>
    public long Bytes => _floats * sizeof(float);

    internal GemmLevel Level { get; }
    internal PackedMatrix[] Points { get; }

    /// <summary>Under SHRINK_GUARD, stops the process when the transform wrote past storage these weights own (pooled
    /// storage is checked when it is returned).</summary>
    private void CheckGuard()
    {
        if (!_pooled) Scratch.Check(_storage, $"the Winograd weights of a {Rows}×{Cols} conv");
    }

    public void Dispose()
    {
        if (!_pooled || !_pin.IsAllocated) return;
        _pin.Free();
        Winograd.Return(_storage, _floats);
    }

    /// <summary>U for the output channels [rowStart, rowStart + count) of the conv with <paramref name="rows"/> output and
    /// <paramref name="cols"/> input channels, from w [rows, cols, 3, 3]; with <paramref name="flip"/>, from w [cols, rows, 3, 3]
    /// with each kernel rotated by 180° (the data gradient's conv). Pooled weights are workspace of one call: dispose them.</summary>
    internal static WinogradWeights Transform(ReadOnlySpan<float> w, int rows, int cols, bool flip, bool pooled, int rowStart, int count)
    {
        var u = new WinogradWeights(rowStart, count, cols, pooled);
        try
        {
            fixed (float* pw = w)
            {
                switch (u.Level)
                {
                    case GemmLevel.Vector512: Fill<Lanes512>(u, pw, rows, flip); break;
                    case GemmLevel.Vector256: Fill<Lanes256>(u, pw, rows, flip); break;
                    case GemmLevel.Vector128: Fill<Lanes128>(u, pw, rows, flip); break;
                    default: Fill<LanesScalar>(u, pw, rows, flip); break;
                }
            }
        }
        catch
        {
            u.Dispose();
            throw;
        }
        u.CheckGuard();
        return u;
    }

    private static void Fill<T>(WinogradWeights u, float* w, int totalRows, bool flip) where T : struct, ILanes<T>
    {
        int mr = u.Points[0].MR;
        var body = new TransformBody<T>
        {
            W = w, TotalRows = totalRows, RowStart = u.RowStart, Rows = u.Rows, Cols = u.Cols, Flip = flip, Mr = mr, Points = u.Points,
        };
        int chunks = (u.Rows + mr - 1) / mr;
        if ((long)u.Rows * u.Cols < 4096) for (int i = 0; i < chunks; i++) body.Invoke(i);
        else KernelParallel.For(chunks, ref body);
    }

    /// <summary>Transforms and packs the rows [index·MR, index·MR + MR) of every U_ξ: each row's kernels are gathered
    /// tap-major (taps[t, c] = tap t of the kernel for input channel c), then transformed a lane vector of channels at a time.</summary>
    private struct TransformBody<T> : IParallelBody where T : struct, ILanes<T>
    {
        public float* W;
        public int TotalRows, RowStart, Rows, Cols, Mr;
        public bool Flip;
        public PackedMatrix[] Points;

        public readonly void Invoke(int index)
        {
            int lanes = T.Count;
            int r0 = index * Mr, rows = Math.Min(Mr, Rows - r0);
            int ld = (Cols + lanes - 1) / lanes * lanes; // row stride of the transformed chunk (and of taps)
            nint plane = (nint)rows * ld;
            long floats = 36L * plane + 9L * ld + 18L * lanes;
            var scratch = Winograd.Rent(floats);
            try
            {
                fixed (float* ps = scratch)
                {
                    float* u = ps, taps = u + 36 * plane, tmp = taps + 9 * ld;
                    new Span<float>(taps, 9 * ld).Clear(); // channels past Cols stay zero
                    for (int r = 0; r < rows; r++)
                    {
                        for (int c = 0; c < Cols; c++)
                        {
                            int row = RowStart + r0 + r;
                            float* k = Flip ? W + ((nint)c * TotalRows + row) * 9 : W + ((nint)row * Cols + c) * 9;
                            for (int t = 0; t < 9; t++) taps[t * ld + c] = k[Flip ? 8 - t : t];
                        }
                        for (int c = 0; c < Cols; c += lanes)
                            Winograd.WeightTile<T>(taps + c, ld, tmp, u + (nint)r * ld + c, plane);
                    }
                    for (int xi = 0; xi < 36; xi++) Gemm.PackRows(Points[xi], r0, rows, u + xi * plane, ld);
                }
            }
            finally { Winograd.Return(scratch, floats); }
        }
    }
}

using System.Runtime.CompilerServices;

namespace Shrink.Kernels;

/// <summary>
/// op(A) (m×k) packed once in the GEMM micro-kernel's panel layout, for a left operand used many times (the weights of
/// an inference plan's convolutions). Layout: for each k block of the GEMM's balanced k blocking (the same blocks
/// <see cref="Gemm.Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>
/// uses), the MR-row slivers of all m rows (rows past m zero). Packed for one SIMD tier (the active one when packed).
/// Immutable; it keeps a reference to the source array for the m = 1 / n = 1 GEMV paths, so the source must not change.
/// (Winograd's transformed weights are source-less views over storage it owns and fills, see <c>Gemm.PackedView</c>.)
/// </summary>
public sealed unsafe class PackedMatrix
{
    private readonly float[]? _data;
    private readonly long _viewBytes;

    /// <summary>A view over <paramref name="storage"/> (64-byte aligned, at least <see cref="Gemm.PackedFloats"/>
    /// floats, owned and kept alive by the caller) without a source matrix: filled by <see cref="Gemm.PackRows"/>, and
    /// multiplied on the packed path even when m or n is 1 (no GEMV shortcut, which would need the source).</summary>
    internal PackedMatrix(GemmLevel level, int mr, int m, int k, int kcStep, float* storage)
    {
        Level = level; MR = mr; Rows = m; Cols = k; KcStep = kcStep;
        MPad = (m + mr - 1) / mr * mr;
        Ptr = storage;
        _viewBytes = (long)MPad * k * sizeof(float);
    }

    internal PackedMatrix(GemmLevel level, int mr, int m, int k, int kcStep, float[] source, int offset, int lda, bool transA)
    {
        Level = level; MR = mr; Rows = m; Cols = k; KcStep = kcStep;
        MPad = (m + mr - 1) / mr * mr;
        Source = source; Offset = offset; Lda = lda; TransA = transA;
        _data = Scratch.Pinned((long)MPad * k, out Ptr, "A packed matrix");
    }

    internal readonly GemmLevel Level;
    internal readonly int MR, KcStep, MPad, Offset, Lda;
    internal readonly bool TransA;
    /// <summary>The unpacked matrix (null for a view: see the view constructor).</summary>
    internal readonly float[]? Source;
    internal readonly float* Ptr;

    /// <summary>m: rows of op(A).</summary>
    public int Rows { get; }
    /// <summary>k: columns of op(A).</summary>
    public int Cols { get; }
    /// <summary>Bytes of packed storage.</summary>
    public long Bytes => _data == null ? _viewBytes : (long)_data.Length * sizeof(float);

    /// <summary>The packed k block starting at <paramref name="pc"/> (a multiple of the k step): MPad/MR slivers of MR×kc.</summary>
    internal float* Block(int pc) => Ptr + (nint)pc * MPad;

    internal void KeepAlive() => GC.KeepAlive(_data);

    /// <summary>Under SHRINK_GUARD, stops the process when packing wrote past the storage this matrix owns.</summary>
    internal void CheckGuard()
    {
        if (_data != null) Scratch.Check(_data, $"a packed {Rows}×{Cols} matrix");
    }
}

public static unsafe partial class Gemm
{
    /// <summary>Packs op(A) (m×k; A is k×m when <paramref name="transA"/>) of <paramref name="a"/> starting at
    /// <paramref name="offset"/> for <see cref="Sgemm(PackedMatrix, bool, int, float, ReadOnlySpan{float}, int, float, Span{float}, int)"/>.
    /// The array is referenced, not copied, for the GEMV paths: do not modify it while the packed matrix is in use.</summary>
    public static PackedMatrix PackA(bool transA, int m, int k, float[] a, int offset, int lda)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (m <= 0 || k <= 0) throw new ArgumentException($"PackA: m={m} k={k} must be positive.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        if (lda < aCols || offset < 0 || a.Length - offset < (long)(aRows - 1) * lda + aCols) throw new ArgumentException("PackA: A is too short.");
        var level = ActiveLevel;
        var tier = GetTier(level);
        int kcStep = CeilDiv(k, CeilDiv(k, tier.KC));
        var packed = new PackedMatrix(level, tier.MR, m, k, kcStep, a, offset, lda, transA);
        fixed (float* pa = a)
        {
            float* src = pa + offset;
            for (int pc = 0; pc < k; pc += kcStep)
            {
                int kc = Math.Min(kcStep, k - pc);
                PackA(transA, transA ? src + (nint)pc * lda : src + pc, lda, m, kc, tier.MR, packed.Block(pc));
            }
        }
        packed.CheckGuard();
        return packed;
    }

    /// <summary>
    /// C = alpha·A·op(B) + beta·C with A pre-packed (m×k): op(B) is k×n (B is n×k when <paramref name="transB"/>).
    /// Bitwise equal to the unpacked <see cref="Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>
    /// on the tier A was packed for (same k blocking, same micro-kernel arithmetic), for any thread count. B is packed once
    /// and shared by the threads, which split C over rows (and over column panels when m is small).
    /// </summary>
    public static void Sgemm(PackedMatrix a, bool transB, int n, float alpha, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        ArgumentNullException.ThrowIfNull(a);
        int m = a.Rows, k = a.Cols;
        if (n < 0) throw new ArgumentException($"Negative GEMM size n={n}.");
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (ldb < Math.Max(1, bCols) || ldc < Math.Max(1, n)) throw new ArgumentException($"GEMM leading dimensions too small: ldb={ldb} ldc={ldc}.");
        if (bRows > 0 && bCols > 0 && b.Length < (long)(bRows - 1) * ldb + bCols) throw new ArgumentException("GEMM: B is too short.");
        if (n > 0 && c.Length < (long)(m - 1) * ldc + n) throw new ArgumentException("GEMM: C is too short.");
        if (n == 0) return;
        fixed (float* pb = b, pc = c, psrc = a.Source)
        {
            float* pa = psrc + a.Offset;
            if (alpha == 0) ScaleC(m, n, beta, pc, ldc);
            else if (a.Source == null) Prepacked(a, transB, n, alpha, pb, ldb, beta, pc, ldc);
            else if (m == 1) Gemv(a.Level, k, n, alpha, pa, a.TransA ? a.Lda : 1, pb, ldb, transB, beta, pc, 1);
            else if (n == 1) Gemv(a.Level, k, m, alpha, pb, transB ? 1 : ldb, pa, a.Lda, !a.TransA, beta, pc, ldc);
            else Prepacked(a, transB, n, alpha, pb, ldb, beta, pc, ldc);
        }
        a.KeepAlive();
    }

    /// <summary>Rows per sliver (MR) of a matrix packed on the active tier.</summary>
    internal static int PackedRowBlock => GetTier(ActiveLevel).MR;

    /// <summary>Floats of packed storage an m×k left operand needs on the active tier (for the view constructor).</summary>
    internal static long PackedFloats(int m, int k)
    {
        int mr = GetTier(ActiveLevel).MR;
        return (long)CeilDiv(m, mr) * mr * k;
    }

    /// <summary>A source-less packed m×k matrix for the active tier over caller-owned <paramref name="storage"/>
    /// (64-byte aligned, <see cref="PackedFloats"/> floats); fill it with <see cref="PackRows"/>.</summary>
    internal static PackedMatrix PackedView(int m, int k, float* storage)
    {
        var level = ActiveLevel;
        var tier = GetTier(level);
        return new PackedMatrix(level, tier.MR, m, k, CeilDiv(k, CeilDiv(k, tier.KC)), storage);
    }

    /// <summary>Packs rows [row0, row0 + rows) of a packed matrix from row-major <paramref name="a"/> (rows×k, row
    /// stride lda). row0 must be a multiple of the matrix's MR; rows past m (up to the padded height) are zeroed when
    /// the last rows are packed. Disjoint row ranges may be packed concurrently.</summary>
    internal static void PackRows(PackedMatrix dst, int row0, int rows, float* a, int lda)
    {
        System.Diagnostics.Debug.Assert(row0 % dst.MR == 0 && row0 + rows <= dst.Rows);
        for (int pc = 0; pc < dst.Cols; pc += dst.KcStep)
        {
            int kc = Math.Min(dst.KcStep, dst.Cols - pc);
            PackA(false, a + pc, lda, rows, kc, dst.MR, dst.Block(pc) + (nint)row0 * kc);
        }
    }

    /// <summary>Floats of B packed at once (whole k × an nc block), shared by the threads.</summary>
    private const int SharedBFloats = 1 << 21;

    [ThreadStatic] private static float[]? t_sharedB;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Prepacked(PackedMatrix a, bool tB, int n, float alpha, float* b, int ldb, float beta, float* c, int ldc)
    {
        var tier = GetTier(a.Level);
        int m = a.Rows, k = a.Cols, NR = tier.NR;
        int ncCap = Math.Max(NR, SharedBFloats / k / NR * NR);
        int ncStep = RoundUp(CeilDiv(n, CeilDiv(n, Math.Min(ncCap, tier.NC))), NR);
        float* pb = PackBuffer(ref t_sharedB, k * ncStep);
        int threads = ThreadsFor((long)m * n * k);
        int slivers = a.MPad / a.MR;
        var body = new PrepackedBody
        {
            Tier = tier, A = a.Ptr, MPad = a.MPad, M = m, K = k, KcStep = a.KcStep, Alpha = alpha, Beta = beta,
            B = b, Ldb = ldb, TB = tB, Narrow = a.Level == GemmLevel.Vector512, Pb = pb, C = c, Ldc = ldc,
        };
        for (int jc = 0; jc < n; jc += ncStep)
        {
            int nc = Math.Min(ncStep, n - jc);
            int panels = CeilDiv(nc, NR);
            body.Jc = jc; body.Nc = nc;
            // Phase 1: pack op(B)[:, jc..jc+nc] (every k block) into the shared buffer.
            int kBlocks = CeilDiv(k, a.KcStep);
            body.Phase = 0;
            body.PanelsPerTask = threads <= 1 ? panels : Math.Max(1, CeilDiv(panels * kBlocks, 4 * threads) / Math.Max(1, kBlocks));
            body.PanelTasks = CeilDiv(panels, body.PanelsPerTask);
            int packTasks = kBlocks * body.PanelTasks;
            if (threads <= 1 || (long)k * nc < (1 << 15)) for (int t = 0; t < packTasks; t++) body.Invoke(t);
            else KernelParallel.For(packTasks, ref body);
            // Phase 2: C tiles, split over sliver ranges × panel ranges.
            body.Phase = 1;
            int target = threads <= 1 ? 1 : 4 * threads;
            int mTasks = Math.Min(slivers, target);
            int nTasks = Math.Min(panels, CeilDiv(target, mTasks));
            body.SliversPerTask = CeilDiv(slivers, mTasks);
            body.PanelsPerTile = CeilDiv(panels, nTasks);
            body.TileCols = CeilDiv(panels, body.PanelsPerTile);
            int tiles = CeilDiv(slivers, body.SliversPerTask) * body.TileCols;
            if (threads <= 1) for (int t = 0; t < tiles; t++) body.Invoke(t);
            else KernelParallel.For(tiles, ref body);
        }
    }

    private struct PrepackedBody : IParallelBody
    {
        public Tier Tier;
        public float* A, B, Pb, C;
        public int MPad, M, K, KcStep, Ldb, Ldc, Jc, Nc, Phase;
        public int PanelsPerTask, PanelTasks, SliversPerTask, PanelsPerTile, TileCols;
        public bool TB, Narrow;
        public float Alpha, Beta;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int NR = Tier.NR, MR = Tier.MR;
            if (Phase == 0)
            {
                // Shared B layout: k block at pc holds its NR-wide panels of kc rows: offset pc·ncPad + panel·NR·kc.
                int kb = index / PanelTasks, pt = index % PanelTasks;
                int pc = kb * KcStep, kc = Math.Min(KcStep, K - pc);
                int j0 = pt * PanelsPerTask * NR, j1 = Math.Min(Nc, j0 + PanelsPerTask * NR);
                if (j0 >= j1) return;
                int ncPad = RoundUp(Nc, NR);
                int col = Jc + j0;
                PackB(TB, TB ? B + (nint)col * Ldb + pc : B + (nint)pc * Ldb + col, Ldb, kc, j1 - j0, NR, Pb + (nint)pc * ncPad + (nint)j0 * kc);
                return;
            }
            int tr = index / TileCols, tc = index % TileCols;
            int i0 = tr * SliversPerTask * MR, i1 = Math.Min(M, i0 + SliversPerTask * MR);
            int jb0 = tc * PanelsPerTile * NR, jb1 = Math.Min(Nc, jb0 + PanelsPerTile * NR);
            if (i0 >= i1 || jb0 >= jb1) return;
            int ncPadAll = RoundUp(Nc, NR);
            float* tile = stackalloc float[MaxTile];
            var kernel = Tier.Kernel;
            var rowKernels = Tier.RowKernels;
            var edgeKernels = Tier.EdgeKernels;
            bool narrow = Narrow;
            for (int pc = 0; pc < K; pc += KcStep)
            {
                int kc = Math.Min(KcStep, K - pc);
                float betaEff = pc == 0 ? Beta : 1f;
                float* pa = A + (nint)pc * MPad;
                float* pbBlock = Pb + (nint)pc * ncPadAll;
                for (int jr = jb0; jr < jb1; jr += NR)
                {
                    int nr = Math.Min(NR, jb1 - jr);
                    float* bp = pbBlock + (nint)jr * kc;
                    for (int ir = i0; ir < i1; ir += MR)
                    {
                        int mr = Math.Min(MR, i1 - ir);
                        float* ap = pa + (nint)ir * kc;
                        float* cp = C + (nint)ir * Ldc + Jc + jr;
                        if (rowKernels != null)
                        {
                            if (narrow && nr <= 16) s_kernels512Narrow[mr - 1](kc, ap, bp, cp, Ldc, Alpha, betaEff, nr);
                            else rowKernels[mr - 1](kc, ap, bp, cp, Ldc, Alpha, betaEff, nr);
                        }
                        else if (mr == MR && nr == NR)
                        {
                            kernel(kc, ap, bp, cp, Ldc, Alpha, betaEff);
                        }
                        else if (edgeKernels != null && nr == NR)
                        {
                            edgeKernels[mr - 1](kc, ap, bp, cp, Ldc, Alpha, betaEff);
                        }
                        else
                        {
                            (edgeKernels != null ? edgeKernels[mr - 1] : kernel)(kc, ap, bp, tile, NR, 1f, 0f);
                            for (int i = 0; i < mr; i++)
                            {
                                float* src = tile + i * NR, dst = cp + (nint)i * Ldc;
                                if (betaEff == 0) for (int j = 0; j < nr; j++) dst[j] = Alpha * src[j];
                                else for (int j = 0; j < nr; j++) dst[j] = Alpha * src[j] + betaEff * dst[j];
                            }
                        }
                    }
                }
            }
        }
    }
}

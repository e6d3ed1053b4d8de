using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shrink.Kernels;

/// <summary>SIMD tier of the GEMM kernels; <see cref="Auto"/> picks the widest the hardware accelerates.</summary>
internal enum GemmLevel { Auto, Vector512, Vector256, Vector128, Scalar }

/// <summary>
/// Single-precision general matrix multiply, the one entry point every matmul-shaped loop in Shrink goes
/// through (Linear, MatMul, Conv via im2col, their backward passes).
/// Implementation: GotoBLAS/BLIS-style — op(A) and op(B) are packed (which also absorbs the transposes) into
/// MC×KC and KC×NC blocks, and a register-blocked micro-kernel (14×32 on Vector512) computes each MR×NR tile of C.
/// C is split into rectangles, one per thread (k is never split), so results are bitwise identical for any
/// thread count. m = 1 or n = 1 goes to a direct (unpacked) GEMV path.
/// </summary>
public static unsafe partial class Gemm
{
    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C, row-major. op(A) is m×k (A is k×m when <paramref name="transA"/>),
    /// op(B) is k×n (B is n×k when <paramref name="transB"/>). lda/ldb/ldc are row strides in elements.
    /// C must not alias A or B. With beta = 0, C's old contents are ignored (NaNs in C do not propagate).
    /// With alpha = 0 or k = 0, A and B are not read (C = beta·C).
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        var level = ActiveLevel;
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (k == 0 || alpha == 0) ScaleC(m, n, beta, pc, ldc);
            else if (m == 1) Gemv(level, k, n, alpha, pa, transA ? lda : 1, pb, ldb, transB, beta, pc, 1);
            else if (n == 1) Gemv(level, k, m, alpha, pb, transB ? 1 : ldb, pa, lda, !transA, beta, pc, ldc);
            else Packed(level, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }

    // ---------------------------------------------------------------- dispatch

    private static readonly bool s_scalarForced = Environment.GetEnvironmentVariable("SHRINK_SCALAR") == "1";

    /// <summary>Tests force a tier with this (per calling thread; worker threads follow the caller's choice).</summary>
    [ThreadStatic] internal static GemmLevel ForceLevel;

    /// <summary>The tier the next call on this thread will use.</summary>
    internal static GemmLevel ActiveLevel
    {
        get
        {
            var hw = s_scalarForced ? GemmLevel.Scalar
                : Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? GemmLevel.Vector512
                : Vector256.IsHardwareAccelerated ? GemmLevel.Vector256
                : Vector128.IsHardwareAccelerated ? GemmLevel.Vector128
                : GemmLevel.Scalar;
            // A forced tier never goes wider than the hardware (or the SHRINK_SCALAR switch) allows.
            return ForceLevel > hw ? ForceLevel : hw;
        }
    }

    /// <summary>Multiply-adds below which a call stays on the calling thread (a fork-join costs a few µs).</summary>
    internal const long ParallelThreshold = 1L << 19;

    private readonly struct Tier(int mr, int nr, int mc, int kc, int nc,
        delegate*<int, float*, float*, float*, nint, float, float, void> kernel,
        delegate*<int, float*, float*, float*, nint, float, float, int, void>[]? rowKernels = null, bool packBPerPanel = false,
        delegate*<int, float*, float*, float*, nint, float, float, void>[]? edgeKernels = null)
    {
        /// <summary>If set, [r - 1] computes only r rows of a tile (same signature as <see cref="Kernel"/>, full width):
        /// edge slivers use it, directly on C when the tile is full width, through the temporary otherwise.</summary>
        public readonly delegate*<int, float*, float*, float*, nint, float, float, void>[]? EdgeKernels = edgeKernels;
        public readonly int MR = mr, NR = nr, MC = mc, KC = kc, NC = nc;
        /// <summary>Pack each B micro-panel right before its first use (first row block of A) and prefetch the next
        /// panel's source meanwhile, instead of packing the whole kc×nc block up front (see <see cref="Blocked"/>).</summary>
        public readonly bool PackBPerPanel = packBPerPanel;
        /// <summary>Full MR×NR tiles only; edge tiles use <see cref="EdgeKernels"/> if set, and a temporary when narrower than NR.</summary>
        public readonly delegate*<int, float*, float*, float*, nint, float, float, void> Kernel = kernel;
        /// <summary>If set, [r - 1] handles r rows and any column count directly (masked), full tiles included.</summary>
        public readonly delegate*<int, float*, float*, float*, nint, float, float, int, void>[]? RowKernels = rowKernels;
    }

    // MC·KC floats of packed A stay in L2 (1 MB/core); a KC×NR micro-panel of B stays in L1; KC×NC in L3.
    private static Tier GetTier(GemmLevel level) => level switch
    {
        GemmLevel.Vector512 => new Tier(MR512, NR512, 14 * 24, 256, 32 * 64, null, s_kernels512),
        GemmLevel.Vector256 => new Tier(MR256, NR256, 6 * 48, 256, 16 * 128, s_kernel256, packBPerPanel: true, edgeKernels: s_edgeKernels256),
        GemmLevel.Vector128 => new Tier(MR128, NR128, 6 * 48, 256, 8 * 256, &Kernel128),
        _ => new Tier(MRScalar, NRScalar, 4 * 64, 256, 4 * 512, &KernelScalar),
    };

    /// <summary>The micro-kernel's tile (rows of A × columns of B) on the active tier: GEMM work is padded to it.</summary>
    internal static (int MR, int NR) TileShape
    {
        get
        {
            var tier = GetTier(ActiveLevel);
            return (tier.MR, tier.NR);
        }
    }

    private static int ThreadsFor(long work) =>
        work < ParallelThreshold ? 1 : (int)Math.Min(KernelParallel.MaxThreads, Math.Max(1, work / (ParallelThreshold / 2)));

    // ---------------------------------------------------------------- k = 0 / alpha = 0

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (nint)i * ldc, n);
            if (beta == 0) row.Clear();
            else if (beta != 1) System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    // ---------------------------------------------------------------- GEMV (m = 1 or n = 1)

    private const int GemvChunk = 512;

    /// <summary>y[j·incy] = alpha·Σ_p x[p·incx]·M(p, j) + beta·y[j·incy], j &lt; len, where M(p, j) = mat[j·ld + p]
    /// when <paramref name="matT"/> (dot products) and mat[p·ld + j] otherwise (row streaming).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv(GemmLevel level, int k, int len, float alpha, float* x, int incx, float* mat, int ld,
        bool matT, float beta, float* y, int incy)
    {
        float[]? xCopy = null;
        if (incx != 1)
        {
            xCopy = System.Buffers.ArrayPool<float>.Shared.Rent(k);
            for (int p = 0; p < k; p++) xCopy[p] = x[(nint)p * incx];
        }
        try
        {
            fixed (float* xc = xCopy)
            {
                var body = new GemvBody
                {
                    Level = level, K = k, Len = len, Alpha = alpha, X = xCopy != null ? xc : x, Mat = mat, Ld = ld,
                    MatT = matT, Beta = beta, Y = y, IncY = incy,
                };
                int chunks = (len + GemvChunk - 1) / GemvChunk;
                if (ThreadsFor((long)k * len) <= 1 || chunks == 1)
                    for (int i = 0; i < chunks; i++) body.Invoke(i);
                else KernelParallel.For(chunks, ref body);
            }
        }
        finally
        {
            if (xCopy != null) System.Buffers.ArrayPool<float>.Shared.Return(xCopy);
        }
    }

    private struct GemvBody : IParallelBody
    {
        public GemmLevel Level;
        public int K, Len, Ld, IncY;
        public float Alpha, Beta;
        public float* X, Mat, Y;
        public bool MatT;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int chunk)
        {
            int j0 = chunk * GemvChunk, len = Math.Min(GemvChunk, Len - j0);
            float* tmp = stackalloc float[GemvChunk];
            float* mat = MatT ? Mat + (nint)j0 * Ld : Mat + j0;
            switch (Level)
            {
                case GemmLevel.Vector512: if (MatT) GemvT512(K, X, mat, Ld, len, tmp); else GemvN512(K, X, mat, Ld, len, tmp); break;
                case GemmLevel.Vector256: if (MatT) GemvT256(K, X, mat, Ld, len, tmp); else GemvN256(K, X, mat, Ld, len, tmp); break;
                case GemmLevel.Vector128: if (MatT) GemvT128(K, X, mat, Ld, len, tmp); else GemvN128(K, X, mat, Ld, len, tmp); break;
                default: if (MatT) GemvTScalar(K, X, mat, Ld, len, tmp); else GemvNScalar(K, X, mat, Ld, len, tmp); break;
            }
            float* y = Y + (nint)j0 * IncY;
            if (Beta == 0) for (int j = 0; j < len; j++) y[(nint)j * IncY] = Alpha * tmp[j];
            else for (int j = 0; j < len; j++) { ref float v = ref y[(nint)j * IncY]; v = Alpha * tmp[j] + Beta * v; }
        }
    }

    // ---------------------------------------------------------------- packed, blocked GEMM

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Packed(GemmLevel level, bool tA, bool tB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        var tier = GetTier(level);
        int threads = ThreadsFor((long)m * n * k);
        var task = new PackedBody
        {
            Tier = tier, TA = tA, TB = tB, M = m, N = n, K = k, Alpha = alpha, Beta = beta,
            A = a, Lda = lda, B = b, Ldb = ldb, C = c, Ldc = ldc,
        };
        if (threads <= 1)
        {
            task.Tn = 1; task.MChunk = m; task.NChunk = n;
            task.Invoke(0);
            return;
        }
        // Split C into tm×tn rectangles aligned to MR/NR, minimising the largest one plus the redundant packing
        // (A is packed tn times, B tm times). Big problems get 3 rectangles per thread, handed out dynamically,
        // so a core slowed down by another process does not hold the whole call back.
        int parts = (long)m * n * k >= (1L << 26) ? threads * 3 : threads;
        long best = long.MaxValue;
        for (int tm = 1; tm <= parts; tm++)
        {
            if (parts % tm != 0) continue;
            int tn = parts / tm;
            int mc = RoundUp(CeilDiv(m, tm), tier.MR), nc = RoundUp(CeilDiv(n, tn), tier.NR);
            long cost = (long)mc * nc * k + (long)k * (mc + nc) * 4;
            if (cost < best) { best = cost; task.Tn = tn; task.MChunk = mc; task.NChunk = nc; }
        }
        int tasks = CeilDiv(m, task.MChunk) * task.Tn;
        KernelParallel.For(tasks, ref task);
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
    private static int RoundUp(int a, int b) => CeilDiv(a, b) * b;

    private struct PackedBody : IParallelBody
    {
        public Tier Tier;
        public bool TA, TB;
        public int M, N, K, Lda, Ldb, Ldc, Tn, MChunk, NChunk;
        public float Alpha, Beta;
        public float* A, B, C;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int i0 = index / Tn * MChunk, j0 = index % Tn * NChunk;
            int m = Math.Min(MChunk, M - i0), n = Math.Min(NChunk, N - j0);
            if (m <= 0 || n <= 0) return;
            float* a = TA ? A + i0 : A + (nint)i0 * Lda;
            float* b = TB ? B + (nint)j0 * Ldb : B + j0;
            Blocked(in Tier, TA, TB, m, n, K, Alpha, a, Lda, b, Ldb, Beta, C + (nint)i0 * Ldc + j0, Ldc);
        }
    }

    private const int MaxTile = 6 * 16; // largest MR·NR among the tiers that use a temporary for edge tiles

    [ThreadStatic] private static float[]? t_packA;
    [ThreadStatic] private static float[]? t_packB;

    /// <summary>A 64-byte aligned pointer into a pinned, thread-local array of at least <paramref name="floats"/>.</summary>
    private static float* PackBuffer(ref float[]? array, int floats) => Scratch.Grow(ref array, floats);

    /// <summary>Single-threaded GotoBLAS loop nest over one rectangle of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocked(in Tier t, bool tA, bool tB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        int MR = t.MR, NR = t.NR;
        // Balanced block sizes: never leave a sliver block (e.g. k = 260 → 130 + 130, not 256 + 4).
        int kcStep = CeilDiv(k, CeilDiv(k, t.KC));
        int mcStep = RoundUp(CeilDiv(m, CeilDiv(m, t.MC)), MR);
        int ncStep = RoundUp(CeilDiv(n, CeilDiv(n, t.NC)), NR);
        float* pa = PackBuffer(ref t_packA, mcStep * kcStep);
        float* pb = PackBuffer(ref t_packB, kcStep * ncStep);
        float* tile = stackalloc float[MaxTile];
        var kernel = t.Kernel;
        var rowKernels = t.RowKernels;
        var edgeKernels = t.EdgeKernels;
        bool perPanel = t.PackBPerPanel;

        for (int jc = 0; jc < n; jc += ncStep)
        {
            int nc = Math.Min(ncStep, n - jc);
            for (int pc = 0; pc < k; pc += kcStep)
            {
                int kc = Math.Min(kcStep, k - pc);
                float betaEff = pc == 0 ? beta : 1f;
                float* bBlock = tB ? b + (nint)jc * ldb + pc : b + (nint)pc * ldb + jc;
                if (!perPanel) PackB(tB, bBlock, ldb, kc, nc, NR, pb);
                for (int ic = 0; ic < m; ic += mcStep)
                {
                    int mc = Math.Min(mcStep, m - ic);
                    PackA(tA, tA ? a + (nint)pc * lda + ic : a + (nint)ic * lda + pc, lda, mc, kc, MR, pa);
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int nr = Math.Min(NR, nc - jr);
                        float* bp = pb + (nint)jr * kc;
                        // Per-panel packing (same packed values, same kernel calls, so bitwise the same result): the
                        // panel is packed while the first row block needs it and is still in L1/L2 when the kernel
                        // reads it, instead of a whole kc×nc block being written to L3 and read back; and the next
                        // panel's source (kc rows of B a full row apart, so on different pages, which the hardware
                        // prefetchers do not follow) is prefetched a slice per kernel call.
                        int pfNext = kc, pfStep = 0;
                        float* pfSrc = null;
                        if (perPanel && ic == 0)
                        {
                            PackB(tB, tB ? bBlock + (nint)jr * ldb : bBlock + jr, ldb, kc, nr, NR, bp);
                            if (!tB && jr + NR < nc && Sse.IsSupported)
                            {
                                pfNext = 0;
                                pfSrc = bBlock + jr + NR;
                                pfStep = CeilDiv(kc, CeilDiv(mc, MR));
                            }
                        }
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            if (pfNext < kc)
                            {
                                int end = Math.Min(kc, pfNext + pfStep);
                                for (; pfNext < end; pfNext++)
                                {
                                    float* q = pfSrc + (nint)pfNext * ldb;
                                    Sse.Prefetch0(q);
                                    Sse.Prefetch0(q + NR - 1);
                                }
                            }
                            int mr = Math.Min(MR, mc - ir);
                            float* ap = pa + (nint)ir * kc;
                            float* cp = c + (nint)(ic + ir) * ldc + jc + jr;
                            if (rowKernels != null)
                            {
                                rowKernels[mr - 1](kc, ap, bp, cp, ldc, alpha, betaEff, nr);
                            }
                            else if (mr == MR && nr == NR)
                            {
                                kernel(kc, ap, bp, cp, ldc, alpha, betaEff);
                            }
                            else if (edgeKernels != null && nr == NR)
                            {
                                edgeKernels[mr - 1](kc, ap, bp, cp, ldc, alpha, betaEff);
                            }
                            else
                            {
                                (edgeKernels != null ? edgeKernels[mr - 1] : kernel)(kc, ap, bp, tile, NR, 1f, 0f);
                                for (int i = 0; i < mr; i++)
                                {
                                    float* src = tile + i * NR, dst = cp + (nint)i * ldc;
                                    if (betaEff == 0) for (int j = 0; j < nr; j++) dst[j] = alpha * src[j];
                                    else for (int j = 0; j < nr; j++) dst[j] = alpha * src[j] + betaEff * dst[j];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Packs an mc×kc block of op(A) (starting at <paramref name="a"/>) into MR-row slivers: sliver s holds,
    /// for each p, the MR values op(A)[s·MR + r, p]; rows past mc are zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(bool tA, float* a, int lda, int mc, int kc, int MR, float* dst)
    {
        for (int i = 0; i < mc; i += MR)
        {
            int mr = Math.Min(MR, mc - i);
            if (tA && mr == 6 && MR == 6 && Sse.IsSupported)
            {
                // op(A)[i + r, p] = a[p·lda + i + r]: 6 contiguous floats per p, one 16- and one 8-byte move.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (nint)p * lda + i, d = dst + p * 6;
                    Sse.Store(d, Sse.LoadVector128(src));
                    Sse.StoreLow(d + 4, Sse.LoadLow(Vector128<float>.Zero, src + 4));
                }
            }
            else if (tA)
            {
                // op(A)[i + r, p] = a[p·lda + i + r]: contiguous in r.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (nint)p * lda + i, d = dst + p * MR;
                    int r = 0;
                    for (; r < mr; r++) d[r] = src[r];
                    for (; r < MR; r++) d[r] = 0;
                }
            }
            else if (mr == MR && MR >= 8 && Avx.IsSupported)
            {
                // op(A)[i + r, p] = a[(i + r)·lda + p]: 8×8 register transposes (the last row block may overlap).
                TransposePanel(a + (nint)i * lda, lda, MR, kc, dst);
            }
            else if (mr == 6 && MR == 6 && Avx.IsSupported)
            {
                TransposePanel6(a + (nint)i * lda, lda, kc, dst);
            }
            else
            {
                // op(A)[i + r, p] = a[(i + r)·lda + p]: contiguous in p; write with stride MR.
                for (int r = 0; r < mr; r++)
                {
                    float* src = a + (nint)(i + r) * lda, d = dst + r;
                    for (int p = 0; p < kc; p++) d[p * MR] = src[p];
                }
                for (int r = mr; r < MR; r++)
                    for (int p = 0; p < kc; p++) dst[p * MR + r] = 0;
            }
            dst += MR * kc;
        }
    }

    /// <summary>Copies one row of a B panel (NR is a multiple of 4); cheaper than a memcpy call for 16–128 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPanelRow(float* src, float* dst, int nr)
    {
        int q = 0;
        if (Vector512.IsHardwareAccelerated) for (; q + 16 <= nr; q += 16) Vector512.Store(Vector512.Load(src + q), dst + q);
        if (Vector256.IsHardwareAccelerated) for (; q + 8 <= nr; q += 8) Vector256.Store(Vector256.Load(src + q), dst + q);
        if (Vector128.IsHardwareAccelerated) for (; q + 4 <= nr; q += 4) Vector128.Store(Vector128.Load(src + q), dst + q);
        for (; q < nr; q++) dst[q] = src[q];
    }

    /// <summary>dst[p·width + r] = src[r·ld + p] for r &lt; width (≥ 8), p &lt; kc: a width-row strip transposed into
    /// a packed panel with 8×8 AVX register transposes; the last row block overlaps the previous one when
    /// width is not a multiple of 8 (it rewrites the same values).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposePanel(float* src, nint ld, int width, int kc, float* dst)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            for (int r = 0; r < width; r += 8)
            {
                int r0 = Math.Min(r, width - 8);
                Transpose8x8(src + r0 * ld + p, ld, dst + p * width + r0, width);
            }
        }
        for (; p < kc; p++)
            for (int r = 0; r < width; r++) dst[p * width + r] = src[r * ld + p];
    }

    /// <summary>dst[p·6 + r] = src[r·ld + p] for r &lt; 6, p &lt; kc (a 6-row strip of row-major A into a packed
    /// 6-wide sliver): 8 columns at a time, the first four rows through the 4×4 half of an 8×8 register transpose and
    /// rows 4–5 as interleaved pairs; the scalar strided copy this replaces cost ~8% of a 1024³ multiply on Zen 3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposePanel6(float* src, nint ld, int kc, float* dst)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            float* s = src + p, d = dst + p * 6;
            var r0 = Avx.LoadVector256(s); var r1 = Avx.LoadVector256(s + ld);
            var r2 = Avx.LoadVector256(s + 2 * ld); var r3 = Avx.LoadVector256(s + 3 * ld);
            var r4 = Avx.LoadVector256(s + 4 * ld); var r5 = Avx.LoadVector256(s + 5 * ld);
            // Per 128-bit lane (columns j and j + 4): t0 = r0j r1j r0j+1 r1j+1, t1 = the same for columns j + 2, j + 3.
            var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
            var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
            var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
            // s0 = rows 0–3 of column 0 | column 4, s1 = columns 1 | 5, s2 = 2 | 6, s3 = 3 | 7.
            var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
            var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
            // Column j goes to d[6j .. 6j + 6): rows 0–3 from s, rows 4–5 from the low or high half of t4 / t5.
            Sse.Store(d + 0, s0.GetLower()); Sse.StoreLow(d + 4, t4.GetLower());
            Sse.Store(d + 6, s1.GetLower()); Sse.StoreHigh(d + 10, t4.GetLower());
            Sse.Store(d + 12, s2.GetLower()); Sse.StoreLow(d + 16, t5.GetLower());
            Sse.Store(d + 18, s3.GetLower()); Sse.StoreHigh(d + 22, t5.GetLower());
            Sse.Store(d + 24, s0.GetUpper()); Sse.StoreLow(d + 28, t4.GetUpper());
            Sse.Store(d + 30, s1.GetUpper()); Sse.StoreHigh(d + 34, t4.GetUpper());
            Sse.Store(d + 36, s2.GetUpper()); Sse.StoreLow(d + 40, t5.GetUpper());
            Sse.Store(d + 42, s3.GetUpper()); Sse.StoreHigh(d + 46, t5.GetUpper());
        }
        for (; p < kc; p++)
            for (int r = 0; r < 6; r++) dst[p * 6 + r] = src[r * ld + p];
    }

    /// <summary>Writes the transpose of the 8×8 block at src (row stride ld) to dst (row stride dstStride).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint ld, float* dst, nint dstStride)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + ld);
        var r2 = Avx.LoadVector256(src + 2 * ld); var r3 = Avx.LoadVector256(src + 3 * ld);
        var r4 = Avx.LoadVector256(src + 4 * ld); var r5 = Avx.LoadVector256(src + 5 * ld);
        var r6 = Avx.LoadVector256(src + 6 * ld); var r7 = Avx.LoadVector256(src + 7 * ld);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(s3, s7, 0x31));
    }

    /// <summary>Packs a kc×nc block of op(B) into NR-column panels: panel t holds, for each p, the NR values
    /// op(B)[p, t·NR + j]; columns past nc are zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(bool tB, float* b, int ldb, int kc, int nc, int NR, float* dst)
    {
        for (int j = 0; j < nc; j += NR)
        {
            int nr = Math.Min(NR, nc - j);
            if (!tB)
            {
                // op(B)[p, j + c] = b[p·ldb + j + c]: contiguous in c.
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (nint)p * ldb + j, d = dst + p * NR;
                    if (nr == NR) CopyPanelRow(src, d, NR);
                    else
                    {
                        int q = 0;
                        for (; q < nr; q++) d[q] = src[q];
                        for (; q < NR; q++) d[q] = 0;
                    }
                }
            }
            else if (nr == NR && NR >= 8 && Avx.IsSupported)
            {
                TransposePanel(b + (nint)j * ldb, ldb, NR, kc, dst);
            }
            else
            {
                // op(B)[p, j + c] = b[(j + c)·ldb + p]: contiguous in p; write with stride NR.
                for (int q = 0; q < nr; q++)
                {
                    float* src = b + (nint)(j + q) * ldb, d = dst + q;
                    for (int p = 0; p < kc; p++) d[p * NR] = src[p];
                }
                for (int q = nr; q < NR; q++)
                    for (int p = 0; p < kc; p++) dst[p * NR + q] = 0;
            }
            dst += NR * kc;
        }
    }

    /// <summary>Plain triple loop with double accumulation: the reference the fast kernels are tested against.</summary>
    public static void Reference(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += (double)av * bv;
                }
                ref float cij = ref c[i * ldc + j];
                cij = beta == 0 ? (float)(alpha * sum) : (float)(alpha * sum + beta * cij);
            }
        }
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"Negative GEMM size m={m} n={n} k={k}.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (lda < Math.Max(1, aCols) || ldb < Math.Max(1, bCols) || ldc < Math.Max(1, n))
            throw new ArgumentException($"GEMM leading dimensions too small: lda={lda} ldb={ldb} ldc={ldc} for m={m} n={n} k={k}.");
        if (aRows > 0 && aCols > 0 && a.Length < (long)(aRows - 1) * lda + aCols) throw new ArgumentException("GEMM: A is too short.");
        if (bRows > 0 && bCols > 0 && b.Length < (long)(bRows - 1) * ldb + bCols) throw new ArgumentException("GEMM: B is too short.");
        if (m > 0 && n > 0 && c.Length < (long)(m - 1) * ldc + n) throw new ArgumentException("GEMM: C is too short.");
    }
}

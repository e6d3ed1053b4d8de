using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shrink.Kernels;

/// <summary>
/// C = A·B for narrow B (n ≤ 32 columns) and a large row-major A, e.g. a batch-1 convolution on a 4×4 map
/// (A = weights 512×4608, B = columns 4608×16). The packed GEMM would pack all of A for a single use and waste half of
/// each 14×32 tile; here B is packed once (zero-padded to 32 columns, it fits L2) and A is streamed straight from
/// memory, 8 rows at a time, rows split over threads. The per-element arithmetic is the packed GEMM's (fused
/// multiply-adds in k order within the same k blocks, blocks summed in order), so results are bitwise identical to
/// <see cref="Gemm.Sgemm"/> and independent of the thread count. Vector512 only; <see cref="Multiply"/> falls back to
/// <see cref="Gemm.Sgemm"/> elsewhere. C must not alias A or B.
/// </summary>
public static unsafe class GemmSmallN
{
    private const int Rows = 8, Width = 32, BlockK = 256;

    /// <summary>SHRINK_NO_SMALLN=1 sends everything to the packed GEMM (for A/B timing).</summary>
    private static readonly bool s_disabled = Environment.GetEnvironmentVariable("SHRINK_NO_SMALLN") == "1";

    /// <summary>Whether <see cref="Multiply"/> takes the narrow path for this shape on this machine.</summary>
    public static bool Applies(int m, int n, int k) =>
        !s_disabled && n is > 1 and <= Width && /* n = 1 is the GEMM's GEMV path */ m >= 64 && k >= 64 && Gemm.ActiveLevel == GemmLevel.Vector512;

    /// <summary>C[m×n] = A[m×k]·B[k×n], all row-major (lda, ldb, ldc row strides). Overwrites C.</summary>
    public static void Multiply(int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc)
    {
        if (!Applies(m, n, k))
        {
            Gemm.Sgemm(false, false, m, n, k, 1f, new ReadOnlySpan<float>(a, (m - 1) * lda + k), lda,
                new ReadOnlySpan<float>(b, (k - 1) * ldb + n), ldb, 0f, new Span<float>(c, (m - 1) * ldc + n), ldc);
            return;
        }
        float* pb = Scratch.Grow(ref t_packB, k * Width);
        for (int p = 0; p < k; p++)
        {
            float* dst = pb + (nint)p * Width;
            int q = 0;
            for (; q < n; q++) dst[q] = b[(nint)p * ldb + q];
            for (; q < Width; q++) dst[q] = 0;
        }
        var body = new Body { M = m, N = n, K = k, A = a, Lda = lda, B = pb, C = c, Ldc = ldc };
        int blocks = (m + Rows - 1) / Rows;
        body.BlocksPerTask = Math.Max(1, blocks / (8 * KernelParallel.MaxThreads));
        int tasks = (blocks + body.BlocksPerTask - 1) / body.BlocksPerTask;
        if ((long)m * k * Width < Gemm.ParallelThreshold || tasks == 1)
            for (int t = 0; t < tasks; t++) body.Invoke(t);
        else KernelParallel.For(tasks, ref body);
    }

    [ThreadStatic] private static float[]? t_packB;

    private struct Body : IParallelBody
    {
        public int M, N, K, Lda, Ldc, BlocksPerTask;
        public float* A, B, C;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int task)
        {
            int r0 = task * BlocksPerTask * Rows, r1 = Math.Min(M, r0 + BlocksPerTask * Rows);
            // The packed GEMM's k blocking: balanced blocks of at most 256.
            int kcStep = (K + (K + BlockK - 1) / BlockK - 1) / ((K + BlockK - 1) / BlockK);
            float* tmp = stackalloc float[Width];
            for (int i = r0; i < r1; i += Rows)
            {
                int rows = Math.Min(Rows, r1 - i);
                for (int pc = 0; pc < K; pc += kcStep)
                {
                    int kc = Math.Min(kcStep, K - pc);
                    Block(rows, kc, A + (nint)i * Lda + pc, Lda, B + (nint)pc * Width, C + (nint)i * Ldc, Ldc, N, pc == 0, tmp);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(int rows, int kc, float* a, int lda, float* pb, float* c, int ldc, int n, bool first, float* tmp)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        // Rows past the block's end read row 0 again (valid memory) and are never stored.
        float* a0 = a, a1 = rows > 1 ? a + lda : a, a2 = rows > 2 ? a + 2 * (nint)lda : a, a3 = rows > 3 ? a + 3 * (nint)lda : a;
        float* a4 = rows > 4 ? a + 4 * (nint)lda : a, a5 = rows > 5 ? a + 5 * (nint)lda : a, a6 = rows > 6 ? a + 6 * (nint)lda : a;
        float* a7 = rows > 7 ? a + 7 * (nint)lda : a;
        bool two = n > 16;
        if (two)
        {
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector512.Load(pb + p * Width);
                var b1 = Vector512.Load(pb + p * Width + 16);
                var v = Vector512.Create(a0[p]); c00 = Vector512.MultiplyAddEstimate(v, b0, c00); c01 = Vector512.MultiplyAddEstimate(v, b1, c01);
                v = Vector512.Create(a1[p]); c10 = Vector512.MultiplyAddEstimate(v, b0, c10); c11 = Vector512.MultiplyAddEstimate(v, b1, c11);
                v = Vector512.Create(a2[p]); c20 = Vector512.MultiplyAddEstimate(v, b0, c20); c21 = Vector512.MultiplyAddEstimate(v, b1, c21);
                v = Vector512.Create(a3[p]); c30 = Vector512.MultiplyAddEstimate(v, b0, c30); c31 = Vector512.MultiplyAddEstimate(v, b1, c31);
                v = Vector512.Create(a4[p]); c40 = Vector512.MultiplyAddEstimate(v, b0, c40); c41 = Vector512.MultiplyAddEstimate(v, b1, c41);
                v = Vector512.Create(a5[p]); c50 = Vector512.MultiplyAddEstimate(v, b0, c50); c51 = Vector512.MultiplyAddEstimate(v, b1, c51);
                v = Vector512.Create(a6[p]); c60 = Vector512.MultiplyAddEstimate(v, b0, c60); c61 = Vector512.MultiplyAddEstimate(v, b1, c61);
                v = Vector512.Create(a7[p]); c70 = Vector512.MultiplyAddEstimate(v, b0, c70); c71 = Vector512.MultiplyAddEstimate(v, b1, c71);
            }
        }
        else
        {
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector512.Load(pb + p * Width);
                c00 = Vector512.MultiplyAddEstimate(Vector512.Create(a0[p]), b0, c00);
                c10 = Vector512.MultiplyAddEstimate(Vector512.Create(a1[p]), b0, c10);
                c20 = Vector512.MultiplyAddEstimate(Vector512.Create(a2[p]), b0, c20);
                c30 = Vector512.MultiplyAddEstimate(Vector512.Create(a3[p]), b0, c30);
                c40 = Vector512.MultiplyAddEstimate(Vector512.Create(a4[p]), b0, c40);
                c50 = Vector512.MultiplyAddEstimate(Vector512.Create(a5[p]), b0, c50);
                c60 = Vector512.MultiplyAddEstimate(Vector512.Create(a6[p]), b0, c60);
                c70 = Vector512.MultiplyAddEstimate(Vector512.Create(a7[p]), b0, c70);
            }
        }
        Store(c00, c01, c, n, first, tmp);
        if (rows > 1) Store(c10, c11, c + ldc, n, first, tmp);
        if (rows > 2) Store(c20, c21, c + 2 * (nint)ldc, n, first, tmp);
        if (rows > 3) Store(c30, c31, c + 3 * (nint)ldc, n, first, tmp);
        if (rows > 4) Store(c40, c41, c + 4 * (nint)ldc, n, first, tmp);
        if (rows > 5) Store(c50, c51, c + 5 * (nint)ldc, n, first, tmp);
        if (rows > 6) Store(c60, c61, c + 6 * (nint)ldc, n, first, tmp);
        if (rows > 7) Store(c70, c71, c + 7 * (nint)ldc, n, first, tmp);
    }

    /// <summary>First k block: C = acc·1; later blocks: C = acc·1 + C·1 (the packed GEMM's alpha/beta epilogue).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> lo, Vector512<float> hi, float* c, int n, bool first, float* tmp)
    {
        lo.Store(tmp);
        hi.Store(tmp + 16);
        // acc·1 and c·1 are exact, so this is the GEMM's epilogue to the bit.
        if (first) for (int j = 0; j < n; j++) c[j] = tmp[j];
        else for (int j = 0; j < n; j++) c[j] = tmp[j] + c[j];
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Shrink.Kernels;

/// <summary>
/// Double-precision GEMM for the decompositions (CP-ALS MTTKRPs, mode Gram matrices, Tucker projections): row-major
/// C = alpha·op(A)·op(B) + beta·C, GotoBLAS-style packing (which absorbs the transposes) and an 8×16 Vector512&lt;double&gt;
/// register tile (Vector256 and scalar fallbacks through the same packed loop). The larger of m and n is split over
/// threads (k never is), so results do not depend on the thread count.
/// </summary>
internal static unsafe class Dgemm
{
    private const int MR = 8, NR = 16, KC = 256, MC = 96, NC = 1024;

    public static void Multiply(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
    {
        if (m <= 0 || n <= 0) return;
        if ((long)(m - 1) * ldc + n > c.Length) throw new ArgumentException("C is too small.", nameof(c));
        if (k > 0)
        {
            long needA = transA ? (long)(k - 1) * lda + m : (long)(m - 1) * lda + k;
            long needB = transB ? (long)(n - 1) * ldb + k : (long)(k - 1) * ldb + n;
            if (needA > a.Length) throw new ArgumentException("A is too small.", nameof(a));
            if (needB > b.Length) throw new ArgumentException("B is too small.", nameof(b));
        }
        fixed (double* pa = a, pb = b, pc = c)
        {
            var job = new Job(transA, transB, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            long work = (long)m * n * Math.Max(k, 1);
            int threads = work < 1L << 20 ? 1 : Math.Min(Environment.ProcessorCount, 8);
            bool splitRows = m >= n;
            int extent = splitRows ? m : n, unit = splitRows ? MR : NR;
            int chunks = Math.Max(1, Math.Min(threads, extent / unit));
            if (chunks == 1) job.Run(0, m, 0, n);
            else
            {
                Parallel.For(0, chunks, ch =>
                {
                    int lo = (int)((long)extent * ch / chunks) / unit * unit, hi = ch == chunks - 1 ? extent : (int)((long)extent * (ch + 1) / chunks) / unit * unit;
                    if (hi <= lo) return;
                    if (splitRows) job.Run(lo, hi, 0, n);
                    else job.Run(0, m, lo, hi);
                });
            }
        }
    }

    private readonly struct Job(bool transA, bool transB, int k, double alpha,
        double* a, int lda, double* b, int ldb, double beta, double* c, int ldc)
    {
        /// <summary>C[i0..i1, j0..j1] on the calling thread.</summary>
        public void Run(int i0, int i1, int j0, int j1)
        {
            if (k == 0 || alpha == 0)
            {
                for (int i = i0; i < i1; i++)
                    for (int j = j0; j < j1; j++) c[(long)i * ldc + j] = beta == 0 ? 0 : beta * c[(long)i * ldc + j];
                return;
            }
            int ncMax = Math.Min(NC, RoundUp(j1 - j0, NR)), mcMax = Math.Min(MC, RoundUp(i1 - i0, MR));
            var bufB = GC.AllocateUninitializedArray<double>(KC * ncMax + 8);
            var bufA = GC.AllocateUninitializedArray<double>(KC * mcMax + 8);
            var tile = new double[MR * NR];
            fixed (double* pbB = bufB, pbA = bufA, pt = tile)
            {
                for (int jc = j0; jc < j1; jc += NC)
                {
                    int nc = Math.Min(NC, j1 - jc);
                    for (int pc = 0; pc < k; pc += KC)
                    {
                        int kc = Math.Min(KC, k - pc);
                        double betaNow = pc == 0 ? beta : 1;
                        PackB(pbB, pc, kc, jc, nc);
                        for (int ic = i0; ic < i1; ic += MC)
                        {
                            int mc = Math.Min(MC, i1 - ic);
                            PackA(pbA, ic, mc, pc, kc);
                            for (int jr = 0; jr < nc; jr += NR)
                            {
                                int nr = Math.Min(NR, nc - jr);
                                for (int ir = 0; ir < mc; ir += MR)
                                {
                                    int mr = Math.Min(MR, mc - ir);
                                    double* pa = pbA + ir * kc, pb = pbB + jr * kc;
                                    double* dst = c + (long)(ic + ir) * ldc + jc + jr;
                                    if (mr == MR && nr == NR) Kernel(kc, pa, pb, dst, ldc, alpha, betaNow);
                                    else
                                    {
                                        Kernel(kc, pa, pb, pt, NR, 1, 0);
                                        for (int i = 0; i < mr; i++)
                                            for (int j = 0; j < nr; j++)
                                            {
                                                double* d = dst + (long)i * ldc + j;
                                                *d = alpha * pt[i * NR + j] + (betaNow == 0 ? 0 : betaNow * *d);
                                            }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        /// <summary>op(B)[pc.., jc..] into NR-wide panels: panel q holds rows p, columns jc + q·NR + 0..NR-1 (zero-padded).</summary>
        private void PackB(double* dst, int pc, int kc, int jc, int nc)
        {
            for (int q = 0; q < nc; q += NR)
            {
                int w = Math.Min(NR, nc - q);
                double* panel = dst + q * kc;
                for (int p = 0; p < kc; p++)
                {
                    double* row = panel + p * NR;
                    if (!transB)
                    {
                        double* src = b + (long)(pc + p) * ldb + jc + q;
                        if (w == NR) { Vector512.Store(Vector512.Load(src), row); Vector512.Store(Vector512.Load(src + 8), row + 8); }
                        else { for (int j = 0; j < w; j++) row[j] = src[j]; for (int j = w; j < NR; j++) row[j] = 0; }
                    }
                    else
                    {
                        double* src = b + (long)(jc + q) * ldb + pc + p;
                        for (int j = 0; j < w; j++) row[j] = src[(long)j * ldb];
                        for (int j = w; j < NR; j++) row[j] = 0;
                    }
                }
            }
        }

        /// <summary>op(A)[ic.., pc..] into MR-tall panels: panel r holds, for each p, rows ic + r·MR + 0..MR-1 (zero-padded).</summary>
        private void PackA(double* dst, int ic, int mc, int pc, int kc)
        {
            for (int r = 0; r < mc; r += MR)
            {
                int h = Math.Min(MR, mc - r);
                double* panel = dst + r * kc;
                if (transA)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        double* src = a + (long)(pc + p) * lda + ic + r;
                        double* col = panel + p * MR;
                        if (h == MR) Vector512.Store(Vector512.Load(src), col);
                        else { for (int i = 0; i < h; i++) col[i] = src[i]; for (int i = h; i < MR; i++) col[i] = 0; }
                    }
                }
                else
                {
                    for (int i = 0; i < MR; i++)
                    {
                        if (i >= h) { for (int p = 0; p < kc; p++) panel[p * MR + i] = 0; continue; }
                        double* src = a + (long)(ic + r + i) * lda + pc;
                        for (int p = 0; p < kc; p++) panel[p * MR + i] = src[p];
                    }
                }
            }
        }
    }

    private static int RoundUp(int v, int to) => (v + to - 1) / to * to;

    /// <summary>C[0..8, 0..16] = alpha·Σ_p a[p·8 + i]·b[p·16 + j] + beta·C (beta = 0: C not read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel(int kc, double* a, double* b, double* c, long ldc, double alpha, double beta)
    {
        Vector512<double> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 8);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            a += MR;
            b += NR;
        }
        Store(c, c00, c01, alpha, beta); Store(c + ldc, c10, c11, alpha, beta);
        Store(c + 2 * ldc, c20, c21, alpha, beta); Store(c + 3 * ldc, c30, c31, alpha, beta);
        Store(c + 4 * ldc, c40, c41, alpha, beta); Store(c + 5 * ldc, c50, c51, alpha, beta);
        Store(c + 6 * ldc, c60, c61, alpha, beta); Store(c + 7 * ldc, c70, c71, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(double* c, Vector512<double> v0, Vector512<double> v1, double alpha, double beta)
    {
        var al = Vector512.Create(alpha);
        if (beta == 0)
        {
            Vector512.Store(v0 * al, c);
            Vector512.Store(v1 * al, c + 8);
        }
        else
        {
            var be = Vector512.Create(beta);
            Vector512.Store(v0 * al + be * Vector512.Load(c), c);
            Vector512.Store(v1 * al + be * Vector512.Load(c + 8), c + 8);
        }
    }
}

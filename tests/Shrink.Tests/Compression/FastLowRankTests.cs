using MathNet.Numerics.LinearAlgebra;
using Shrink.Compression.LowRank;
using Shrink.Kernels;
using Shrink.Tensors;

namespace Shrink.Tests.Compression;

/// <summary>The GEMM-based fast paths of CP-ALS and Tucker-2 against plain references.</summary>
public class FastLowRankTests
{
    /// <summary>The straightforward MTTKRP: M[i_n, r] = Σ over all other indices of X·Π_{m≠n} A_m[i_m, r].</summary>
    private static double[] ReferenceMttkrp(DenseTensor x, double[][] a, int rank, int mode)
    {
        int[] d = x.Dims;
        var m = new double[d[mode] * rank];
        var ix = new int[4];
        for (int e = 0; e < x.Length; e++)
        {
            int rest = e;
            for (int k = 3; k >= 0; k--) { ix[k] = rest % d[k]; rest /= d[k]; }
            double v = x.Data[e];
            for (int r = 0; r < rank; r++)
            {
                double p = v;
                for (int k = 0; k < 4; k++)
                    if (k != mode) p *= a[k][ix[k] * rank + r];
                m[ix[mode] * rank + r] += p;
            }
        }
        return m;
    }

    private static double[][] RandomFactors(int[] dims, int rank, int seed)
    {
        var rng = new Random(seed);
        return dims.Select(n => Enumerable.Range(0, n * rank).Select(_ => (double)Init.NextGaussian(rng)).ToArray()).ToArray();
    }

    [Theory]
    [InlineData(7, 5, 3, 2, 6)]
    [InlineData(20, 17, 3, 3, 13)]
    [InlineData(9, 33, 1, 3, 40)]
    [InlineData(70, 40, 3, 3, 37)]
    public void Fast_mttkrp_matches_the_plain_reference_in_every_mode(int o, int i, int kh, int kw, int rank)
    {
        var x = DecompositionTests.RandomTensor([o, i, kh, kw], seed: 21);
        var a = RandomFactors(x.Dims, rank, seed: 22);
        var ws = new CpAls.Workspace(x, rank);
        for (int mode = 0; mode < 4; mode++)
        {
            var fast = CpAls.Mttkrp(ws, a, mode);
            var slow = ReferenceMttkrp(x, a, rank, mode);
            double scale = slow.Max(Math.Abs);
            for (int k = 0; k < slow.Length; k++)
                Assert.True(Math.Abs(fast[k] - slow[k]) <= 1e-11 * scale, $"mode {mode}, entry {k}: {fast[k]} vs {slow[k]}");
        }
    }

    [Fact]
    public void Error_by_norms_equals_the_reconstructed_error()
    {
        foreach (var (dims, rank, sweeps) in new[] { (new[] { 12, 10, 3, 3 }, 5, 3), (new[] { 40, 24, 3, 3 }, 30, 7), (new[] { 8, 6, 5, 1 }, 4, 1) })
        {
            var x = DecompositionTests.RandomTensor(dims, seed: 31);
            var cp = CpAls.Decompose(x, rank, new CpOptions { MaxIterations = sweeps, Tolerance = 0 });
            Assert.Equal(sweeps, cp.ErrorHistory.Count);
            // The last entry of the history is computed from norms with the final factors; RelativeError by reconstruction.
            Assert.True(Math.Abs(cp.ErrorHistory[^1] - cp.RelativeError) < 1e-9, $"{cp.ErrorHistory[^1]} vs {cp.RelativeError}");
            Assert.Equal(cp.RelativeError, x.RelativeErrorTo(ReferenceReconstruct(cp)), 12);
        }
    }

    /// <summary>Element by element Σ_r λ_r Π_m F_m[i_m, r].</summary>
    private static DenseTensor ReferenceReconstruct(CpResult cp)
    {
        int[] d = cp.Factors.Select(f => f.RowCount).ToArray();
        var t = new DenseTensor(d);
        var ix = new int[4];
        for (int e = 0; e < t.Length; e++)
        {
            int rest = e;
            for (int k = 3; k >= 0; k--) { ix[k] = rest % d[k]; rest /= d[k]; }
            double s = 0;
            for (int r = 0; r < cp.Rank; r++)
                s += cp.Lambda[r] * cp.Factors[0][ix[0], r] * cp.Factors[1][ix[1], r] * cp.Factors[2][ix[2], r] * cp.Factors[3][ix[3], r];
            t.Data[e] = s;
        }
        return t;
    }

    [Theory]
    [InlineData(false, false, 13, 37, 300, 0.0)]
    [InlineData(true, false, 33, 17, 9, 1.0)]
    [InlineData(false, true, 8, 16, 256, 0.5)]
    [InlineData(true, true, 101, 45, 513, -2.0)]
    [InlineData(false, false, 1, 70, 5, 0.0)]
    [InlineData(true, false, 300, 3, 700, 0.0)]
    public void Dgemm_matches_a_naive_product(bool tA, bool tB, int m, int n, int k, double beta)
    {
        var rng = new Random(5);
        var a = Enumerable.Range(0, m * k).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var c0 = Enumerable.Range(0, m * n).Select(_ => rng.NextDouble()).ToArray();
        var c = (double[])c0.Clone();
        int lda = tA ? m : k, ldb = tB ? k : n;
        Dgemm.Multiply(tA, tB, m, n, k, 1.5, a, lda, b, ldb, beta, c, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (tA ? a[p * lda + i] : a[i * lda + p]) * (tB ? b[j * ldb + p] : b[p * ldb + j]);
                double want = 1.5 * s + beta * c0[i * n + j];
                Assert.True(Math.Abs(c[i * n + j] - want) < 1e-12 * (1 + Math.Abs(want)) * Math.Sqrt(k), $"({i},{j}): {c[i * n + j]} vs {want}");
            }
    }

    [Fact]
    public void Cholesky_inverse_matches_mathnet_and_rejects_indefinite_matrices()
    {
        var rng = new Random(9);
        int r = 37;
        var g = Matrix<double>.Build.Dense(50, r, (_, _) => rng.NextDouble() - 0.5);
        var s = g.TransposeThisAndMultiply(g) + Matrix<double>.Build.DenseIdentity(r) * 1e-3;
        var flat = new double[r * r];
        for (int p = 0; p < r; p++)
            for (int q = 0; q < r; q++) flat[p * r + q] = s[p, q];
        var inv = CpAls.CholeskyInverse(flat, r)!;
        var want = s.Inverse();
        for (int p = 0; p < r; p++)
            for (int q = 0; q < r; q++) Assert.True(Math.Abs(inv[p * r + q] - want[p, q]) < 1e-9 * want.FrobeniusNorm());
        // Row-wise substitution gives the same solutions as multiplying by the inverse.
        var b = Enumerable.Range(0, 3 * r).Select(i => Math.Cos(i)).ToArray();
        var x = new double[3 * r];
        var lower = new double[r * r];
        var chol = s.Cholesky().Factor;
        for (int p = 0; p < r; p++)
            for (int q = 0; q <= p; q++) lower[p * r + q] = chol[p, q];
        CpAls.SolveRows(lower, r, b, x, 3);
        for (int i = 0; i < 3; i++)
            for (int q = 0; q < r; q++)
            {
                double want2 = 0;
                for (int p = 0; p < r; p++) want2 += b[i * r + p] * inv[p * r + q];
                Assert.True(Math.Abs(x[i * r + q] - want2) < 1e-8 * (1 + Math.Abs(want2)), $"{x[i * r + q]} vs {want2}");
            }
        flat[0] = -1;
        Assert.Null(CpAls.CholeskyInverse(flat, r));
    }

    [Fact]
    public void Mode_gram_and_mode_product_match_plain_loops()
    {
        var x = DecompositionTests.RandomTensor([6, 5, 3, 2], seed: 41);
        var rng = new Random(42);
        for (int mode = 0; mode < 4; mode++)
        {
            var u = x.Unfold(mode);
            var want = u * u.Transpose();
            var g = x.ModeGram(mode);
            int n = x.Dims[mode];
            for (int p = 0; p < n; p++)
                for (int q = 0; q < n; q++) Assert.Equal(want[p, q], g[p * n + q], 10);
            var m = Matrix<double>.Build.Dense(4, n, (_, _) => rng.NextDouble() - 0.5);
            var y = x.ModeProduct(mode, m);
            var expect = m * u; // mode-n unfolding of the product
            var yu = y.Unfold(mode);
            Assert.True((yu - expect).FrobeniusNorm() < 1e-12 * (1 + expect.FrobeniusNorm()));
        }
    }

    [Fact]
    public void Tucker2_fast_path_agrees_with_a_reference_hooi()
    {
        // Large enough for the Gram path of the mode-vector computation.
        var x = DecompositionTests.RandomTensor([80, 72, 3, 3], seed: 51);
        for (int i = 0; i < x.Length; i++) x.Data[i] += 3 * Math.Sin(i % 97) * Math.Cos(i / 648);
        var t = Tucker2.Decompose(x, 12, 10, sweeps: 4);
        // Reference: the same HOSVD + HOOI with unfoldings, SVDs and element loops.
        var uOut = TruncatedSvd.LeadingLeftVectors(x.Unfold(0), 12);
        var uIn = TruncatedSvd.LeadingLeftVectors(x.Unfold(1), 10);
        double err = PlainError(x, uOut, uIn);
        for (int s = 0; s < t.Sweeps; s++)
        {
            uOut = TruncatedSvd.LeadingLeftVectors(PlainProduct(x, 1, uIn.Transpose()).Unfold(0), 12);
            uIn = TruncatedSvd.LeadingLeftVectors(PlainProduct(x, 0, uOut.Transpose()).Unfold(1), 10);
            err = PlainError(x, uOut, uIn);
        }
        Assert.True(Math.Abs(err - t.RelativeError) < 1e-9, $"{err} vs {t.RelativeError}");
        Assert.True((uOut * uOut.Transpose() - t.UOut * t.UOut.Transpose()).FrobeniusNorm() < 1e-6);
        Assert.True((uIn * uIn.Transpose() - t.UIn * t.UIn.Transpose()).FrobeniusNorm() < 1e-6);
    }

    private static DenseTensor PlainProduct(DenseTensor x, int mode, Matrix<double> m)
    {
        var (pre, mid, post) = x.Split(mode);
        var dims = (int[])x.Dims.Clone();
        dims[mode] = m.RowCount;
        var y = new DenseTensor(dims);
        for (int a = 0; a < pre; a++)
            for (int j = 0; j < m.RowCount; j++)
                for (int i = 0; i < mid; i++)
                    for (int b = 0; b < post; b++) y.Data[(a * m.RowCount + j) * post + b] += m[j, i] * x.Data[(a * mid + i) * post + b];
        return y;
    }

    private static double PlainError(DenseTensor x, Matrix<double> uOut, Matrix<double> uIn)
    {
        var core = PlainProduct(PlainProduct(x, 0, uOut.Transpose()), 1, uIn.Transpose());
        return x.RelativeErrorTo(PlainProduct(PlainProduct(core, 0, uOut), 1, uIn));
    }

    [Fact]
    public void Work_budget_stops_als_and_says_so()
    {
        var x = DecompositionTests.RandomTensor([30, 20, 3, 3], seed: 61);
        double sweep = 3.0 * 30 * 20 * 3 * 3 * 20;
        var capped = CpAls.Decompose(x, 20, new CpOptions { Tolerance = 0, MaxIterations = 1000, WorkBudget = 7.5 * sweep });
        Assert.True(capped.BudgetSpent);
        Assert.False(capped.Converged);
        Assert.Equal(7, capped.Iterations);
        Assert.Equal(1, CpAls.Decompose(x, 20, new CpOptions { Tolerance = 0, WorkBudget = 1 }).Iterations); // always one sweep
        var free = CpAls.Decompose(x, 20, new CpOptions { Tolerance = 0, MaxIterations = 5, WorkBudget = 0 });
        Assert.False(free.BudgetSpent);
        Assert.Equal(5, free.Iterations);
        Assert.False(CpAls.Decompose(x, 20).BudgetSpent); // the default budget is far above what a small layer needs
        // A count of work, not a clock: the same call gives the same factors however busy the machine is.
        var again = CpAls.Decompose(x, 20, new CpOptions { Tolerance = 0, MaxIterations = 1000, WorkBudget = 7.5 * sweep });
        Assert.Equal(capped.Lambda, again.Lambda);
    }
}

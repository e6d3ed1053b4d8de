using MathNet.Numerics.LinearAlgebra;
using Shrink.Compression.LowRank;
using Shrink.Tensors;

namespace Shrink.Tests.Compression;

public class DecompositionTests
{
    /// <summary>Σ_r F0[:,r]∘F1[:,r]∘F2[:,r]∘F3[:,r] with Gaussian factors: a tensor of CP rank (at most) <paramref name="rank"/>.</summary>
    internal static DenseTensor RandomCp(int[] dims, int rank, int seed)
    {
        var rng = new Random(seed);
        var f = dims.Select(n => Matrix<double>.Build.Dense(n, rank, (_, _) => Init.NextGaussian(rng))).ToArray();
        var lambda = Enumerable.Repeat(1.0, rank).ToArray();
        return new CpResult(f, lambda, 0, 0, true, false, null, 0, 0, []).Reconstruct();
    }

    internal static DenseTensor RandomTensor(int[] dims, int seed)
    {
        var rng = new Random(seed);
        var t = new DenseTensor(dims);
        for (int i = 0; i < t.Length; i++) t.Data[i] = Init.NextGaussian(rng);
        return t;
    }

    /// <summary>The classic degenerate case: Σ_k (a in every mode but b in mode k). Its border rank is 2, its rank 4.</summary>
    internal static DenseTensor BorderRank2(int[] dims, int seed)
    {
        var rng = new Random(seed);
        var a = dims.Select(n => Enumerable.Range(0, n).Select(_ => (double)Init.NextGaussian(rng)).ToArray()).ToArray();
        var b = dims.Select(n => Enumerable.Range(0, n).Select(_ => (double)Init.NextGaussian(rng)).ToArray()).ToArray();
        var t = new DenseTensor(dims);
        var ix = new int[4];
        for (int i = 0; i < t.Length; i++)
        {
            int rest = i;
            for (int m = 3; m >= 0; m--) { ix[m] = rest % dims[m]; rest /= dims[m]; }
            double s = 0;
            for (int k = 0; k < 4; k++)
            {
                double p = 1;
                for (int m = 0; m < 4; m++) p *= m == k ? b[m][ix[m]] : a[m][ix[m]];
                s += p;
            }
            t.Data[i] = s;
        }
        return t;
    }

    [Theory]
    [InlineData(8, 6, 3, 3, 5)]
    [InlineData(12, 10, 3, 3, 8)]
    [InlineData(6, 7, 5, 1, 4)]
    public void CpAls_recovers_a_known_low_rank_tensor(int o, int i, int kh, int kw, int rank)
    {
        var x = RandomCp([o, i, kh, kw], rank, seed: 11);
        var cp = CpAls.Decompose(x, rank, new CpOptions { MaxIterations = 2000, Tolerance = 1e-10 });
        Assert.True(cp.RelativeError < 1e-4, $"relative error {cp.RelativeError} after {cp.Iterations} sweeps");
        Assert.False(cp.Degenerate, cp.Diagnosis);
        Assert.True(x.RelativeErrorTo(cp.Reconstruct()) < 1e-4);
        for (int m = 0; m < 4; m++)
            for (int c = 0; c < rank; c++) Assert.Equal(1.0, cp.Factors[m].Column(c).L2Norm(), 9); // unit columns, scale in λ
    }

    [Fact]
    public void CpAls_error_shrinks_with_rank_and_history_does_not_increase_much()
    {
        var x = RandomTensor([10, 8, 3, 3], seed: 3);
        double previous = 1;
        foreach (int r in new[] { 2, 6, 12, 24 })
        {
            var cp = CpAls.Decompose(x, r);
            Assert.True(cp.RelativeError < previous, $"rank {r}: {cp.RelativeError} ≥ {previous}");
            previous = cp.RelativeError;
            for (int k = 1; k < cp.ErrorHistory.Count; k++)
                Assert.True(cp.ErrorHistory[k] <= cp.ErrorHistory[k - 1] * (1 + 1e-3), $"sweep {k}: error rose");
        }
    }

    [Fact]
    public void CpAls_at_the_exact_rank_reproduces_any_tensor()
    {
        var x = RandomTensor([5, 4, 3, 2], seed: 4);
        Assert.Equal(24, CpAls.ExactRank(x.Dims)); // numel / largest dimension
        var cp = CpAls.Decompose(x, 24);
        Assert.True(cp.RelativeError < 1e-12, $"{cp.RelativeError}");
        Assert.Equal(0, cp.Iterations);
        var more = CpAls.Decompose(x, 30); // extra components are zero
        Assert.True(more.RelativeError < 1e-12);
        Assert.Equal(30, more.Rank);
    }

    [Fact]
    public void CpAls_flags_a_degenerate_problem()
    {
        // No best rank-2 approximation exists: ALS drives two components to large, nearly opposite terms.
        var x = BorderRank2([4, 4, 3, 3], seed: 2);
        var cp = CpAls.Decompose(x, 2, new CpOptions { MaxIterations = 3000, MaxLambdaRatio = 3 });
        Assert.True(cp.Degenerate, $"ratio {cp.LambdaRatio}, congruence {cp.MinCongruence}");
        Assert.Contains("diverging components", cp.Diagnosis);
        Assert.True(cp.MinCongruence < -0.8, $"congruence {cp.MinCongruence}");
        // With the default thresholds the swamp is caught by the congruence of the two cancelling terms.
        var slow = CpAls.Decompose(x, 2, new CpOptions { MaxIterations = 3000 });
        Assert.True(slow.Degenerate, $"ratio {slow.LambdaRatio}, congruence {slow.MinCongruence}");
        Assert.Contains("cancelling components", slow.Diagnosis);
        // A well-posed problem of the same size is not flagged.
        var fine = CpAls.Decompose(RandomCp([4, 4, 3, 3], 2, seed: 6), 2, new CpOptions { MaxLambdaRatio = 3 });
        Assert.False(fine.Degenerate, fine.Diagnosis);
    }

    [Fact]
    public void CpAls_rejects_bad_arguments()
    {
        var ex = Assert.Throws<ArgumentException>(() => CpAls.Decompose(new DenseTensor([3, 3, 3]), 2));
        Assert.Contains("4-way", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => CpAls.Decompose(new DenseTensor([3, 3, 3, 3]), 0));
    }

    [Theory]
    [InlineData(6, 4, 3, 3)]
    [InlineData(5, 7, 1, 3)]
    [InlineData(3, 12, 5, 5)]
    public void Tucker2_is_exact_at_full_rank(int o, int i, int kh, int kw)
    {
        var x = RandomTensor([o, i, kh, kw], seed: 7);
        var t = Tucker2.Decompose(x, o, i);
        Assert.True(t.RelativeError < 1e-12, $"{t.RelativeError}");
        Assert.Equal([o, i, kh, kw], t.Core.Dims);
        Assert.True((t.UIn.TransposeThisAndMultiply(t.UIn) - Matrix<double>.Build.DenseIdentity(i)).FrobeniusNorm() < 1e-10);
    }

    [Fact]
    public void Tucker2_recovers_a_multilinear_low_rank_weight_and_hooi_does_not_hurt()
    {
        var rng = new Random(8);
        var core = RandomTensor([3, 2, 3, 3], seed: 9);
        var uOut = Matrix<double>.Build.Dense(10, 3, (_, _) => Init.NextGaussian(rng));
        var uIn = Matrix<double>.Build.Dense(8, 2, (_, _) => Init.NextGaussian(rng));
        var x = core.ModeProduct(0, uOut).ModeProduct(1, uIn);
        Assert.True(Tucker2.Decompose(x, 3, 2, sweeps: 0).RelativeError < 1e-10);
        var noisy = RandomTensor([10, 8, 3, 3], seed: 10);
        double hosvd = Tucker2.Decompose(noisy, 4, 3, sweeps: 0).RelativeError;
        double hooi = Tucker2.Decompose(noisy, 4, 3, sweeps: 10).RelativeError;
        Assert.True(hooi <= hosvd + 1e-12, $"HOOI {hooi} vs HOSVD {hosvd}");
        Assert.True(noisy.RelativeErrorTo(Tucker2.Decompose(noisy, 4, 3).Reconstruct()) - hooi < 1e-9 + hooi * 0.05);
    }

    [Fact]
    public void Svd_is_exact_at_full_rank_and_its_error_is_the_spectral_tail()
    {
        var rng = new Random(12);
        foreach (var (m, n) in new[] { (7, 5), (5, 7), (6, 6), (40, 3) })
        {
            var a = Matrix<double>.Build.Dense(m, n, (_, _) => Init.NextGaussian(rng));
            var full = TruncatedSvd.Decompose(a, Math.Min(m, n));
            Assert.True((full.Reconstruct() - a).FrobeniusNorm() / a.FrobeniusNorm() < 1e-12);
            Assert.True(full.RelativeError < 1e-12);
            var low = TruncatedSvd.Decompose(a, 2);
            double actual = (low.Reconstruct() - a).FrobeniusNorm() / a.FrobeniusNorm();
            Assert.Equal(actual, low.RelativeError, 10);
            Assert.True(low.S[0] >= low.S[1]);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => TruncatedSvd.Decompose(Matrix<double>.Build.Dense(3, 4), 4));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Gram_and_qr_paths_give_the_same_leading_subspace(int mode)
    {
        var x = RandomCp([12, 9, 3, 3], 6, seed: 13);
        for (int i = 0; i < x.Length; i++) x.Data[i] += 1e-3 * Math.Sin(i); // a tail below the leading spectrum
        int k = Math.Min(3, x.Dims[mode]);
        var (uq, sq) = x.LeadingModeVectors(mode, k, viaGram: false);
        var (ug, sg) = x.LeadingModeVectors(mode, k, viaGram: true);
        Assert.Equal(sq.Length, sg.Length);
        for (int i = 0; i < sq.Length; i++) // the Gram path resolves singular values down to ~1e-7·s_max only
            Assert.True(Math.Abs(sq[i] - sg[i]) < 1e-6 * sq[0] + (i < k ? 1e-9 * sq[i] : 0), $"s[{i}]: {sq[i]} vs {sg[i]}");
        var projector = uq * uq.Transpose() - ug * ug.Transpose();
        Assert.True(projector.FrobeniusNorm() < 1e-6, $"subspaces differ by {projector.FrobeniusNorm()}");
    }

    [Fact]
    public void Energy_rank_keeps_the_asked_fraction()
    {
        double[] s = [4, 2, 1, 1]; // energies 16, 4, 1, 1 of 22
        Assert.Equal(1, TruncatedSvd.EnergyRank(s, 0.7));
        Assert.Equal(2, TruncatedSvd.EnergyRank(s, 20.0 / 22));
        Assert.Equal(3, TruncatedSvd.EnergyRank(s, 0.95));
        Assert.Equal(4, TruncatedSvd.EnergyRank(s, 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TruncatedSvd.EnergyRank(s, 0));
    }
}

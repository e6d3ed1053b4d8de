using Shrink.Kernels;
using Xunit;

namespace Shrink.Tests.Kernels;

[Collection("KernelThreads")]
public class GemmTests
{
    private static readonly int[] Sizes = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 127, 130, 257];

    private static float[] Random(Random rng, int len, float nanFill = 0)
    {
        var x = new float[len];
        for (int i = 0; i < len; i++) x[i] = float.IsNaN(nanFill) ? float.NaN : (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Runs the fast path and the reference on one case and checks every element of C (and that
    /// the padding between rows of C is untouched).</summary>
    private static void Check(Random rng, bool tA, bool tB, int m, int n, int k, float alpha, float beta, int pad)
    {
        int aRows = tA ? k : m, aCols = tA ? m : k, bRows = tB ? n : k, bCols = tB ? k : n;
        int lda = Math.Max(1, aCols + pad), ldb = Math.Max(1, bCols + pad), ldc = Math.Max(1, n + pad);
        var a = Random(rng, aRows * lda);
        var b = Random(rng, bRows * ldb);
        // beta = 0 must ignore C entirely, NaNs included.
        var c0 = Random(rng, m * ldc, beta == 0 ? float.NaN : 0);
        var fast = (float[])c0.Clone();
        var slow = (float[])c0.Clone();
        Gemm.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, fast, ldc);
        Gemm.Reference(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, slow, ldc);

        // Error scale: float accumulation of k products has a typical (random-walk) relative error of
        // ~eps·sqrt(k) with eps = 6e-8, measured against Σ|alpha·a·b| + |beta·c| (not against the possibly
        // cancelling result). 1e-5·sqrt(k) leaves ~100× headroom yet catches any wrong element or index.
        var absA = Array.ConvertAll(a, MathF.Abs);
        var absB = Array.ConvertAll(b, MathF.Abs);
        var mag = new float[m * ldc];
        Gemm.Reference(tA, tB, m, n, k, Math.Abs(alpha), absA, lda, absB, ldb, 0, mag, ldc);
        float tol = 1e-5f * MathF.Sqrt(k + 1);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc; j++)
            {
                int idx = i * ldc + j;
                if (j >= n)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(fast[idx]) == BitConverter.SingleToInt32Bits(c0[idx]),
                        $"padding of C written at ({i},{j})");
                    continue;
                }
                float scale = mag[idx] + (beta == 0 ? 0 : Math.Abs(beta * c0[idx])) + 1e-30f;
                float err = Math.Abs(fast[idx] - slow[idx]);
                Assert.True(err <= tol * scale,
                    $"tA={tA} tB={tB} m={m} n={n} k={k} alpha={alpha} beta={beta} pad={pad}: C[{i},{j}] = {fast[idx]}, expected {slow[idx]}");
            }
        }
    }

    [Theory]
    [InlineData(1)] // Vector512
    [InlineData(2)] // Vector256
    [InlineData(3)] // Vector128
    [InlineData(4)] // Scalar
    public void EveryTier_MatchesReference(int level)
    {
        Gemm.ForceLevel = (GemmLevel)level;
        try
        {
            var rng = new Random(1234 + level);
            (float alpha, float beta)[] ab = [(1, 0), (0.5f, 1), (-1.5f, 0.25f)];
            int cases = 0;
            for (int t = 0; t < 4; t++)
            {
                bool tA = (t & 1) != 0, tB = (t & 2) != 0;
                // Sampled combinations (keeps the suite fast); always including a few structured edges.
                var shapes = new List<(int, int, int)> { (1, 17, 33), (17, 1, 33), (33, 65, 1), (15, 31, 130), (130, 33, 16) };
                for (int s = 0; s < 22; s++) shapes.Add((Sizes[rng.Next(Sizes.Length)], Sizes[rng.Next(Sizes.Length)], Sizes[rng.Next(Sizes.Length)]));
                foreach (var (m, n, k) in shapes)
                {
                    if ((long)m * n * k > 2_000_000) continue;
                    var (alpha, beta) = ab[cases % ab.Length];
                    Check(rng, tA, tB, m, n, k, alpha, beta, pad: cases % 3 == 0 ? 0 : rng.Next(1, 5));
                    cases++;
                }
            }
            Assert.True(Gemm.ActiveLevel >= (GemmLevel)level);
        }
        finally
        {
            Gemm.ForceLevel = GemmLevel.Auto;
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void SkinnyShapes_MatchReference(bool tA, bool tB)
    {
        var rng = new Random(7);
        Check(rng, tA, tB, 1, 1000, 512, 1, 0, 0);      // batch-1 Linear (GEMV)
        Check(rng, tA, tB, 300, 1, 200, 2, 0.5f, 3);    // column result (GEMV on op(A))
        Check(rng, tA, tB, 16, 784, 8, 1, 0, 0);        // 1×1 conv with few channels
        Check(rng, tA, tB, 3, 520, 40, 1, 1, 2);        // few rows
        Check(rng, tA, tB, 1, 1, 300, 1, 0, 0);         // dot product
    }

    [Fact]
    public void Large_Multithreaded_MatchesReference_AndIsDeterministic()
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            var rng = new Random(99);
            KernelParallel.MaxThreads = Math.Max(2, Environment.ProcessorCount);
            Check(rng, false, false, 300, 200, 500, 1, 0, 0);
            Check(rng, true, true, 300, 200, 500, 0.5f, 1, 1);

            int m = 250, n = 190, k = 300;
            var a = Random(rng, m * k);
            var b = Random(rng, k * n);
            var c1 = new float[m * n];
            var c2 = new float[m * n];
            Gemm.Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c1, n);
            KernelParallel.MaxThreads = 1;
            Gemm.Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c2, n);
            Assert.Equal(c1, c2); // bitwise: k is never split, tiles are the same whatever the thread count
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void AlphaZero_OrKZero_ScalesC()
    {
        var c = new float[] { 1, 2, 3, 4 };
        Gemm.Sgemm(false, false, 2, 2, 0, 1, [], 1, [], 2, 0.5f, c, 2);
        Assert.Equal(new float[] { 0.5f, 1, 1.5f, 2 }, c);
        var nan = new float[] { float.NaN, float.NaN, float.NaN, float.NaN };
        Gemm.Sgemm(false, false, 2, 2, 2, 0, new float[4], 2, new float[4], 2, 0, nan, 2);
        Assert.Equal(new float[4], nan);
    }

    [Fact]
    public void TooShortSpans_Throw()
    {
        var a = new float[6];
        var b = new float[6];
        var c = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1, a.AsSpan(0, 5), 3, b, 2, 0, c, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1, a, 3, b.AsSpan(0, 5), 2, 0, c, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c.AsSpan(0, 3), 2));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(true, false, 2, 2, 3, 1, a, 1, b, 2, 0, c, 2)); // lda < m
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2));
    }
}

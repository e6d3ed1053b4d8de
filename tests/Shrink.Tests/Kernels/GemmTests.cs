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

    /// <summary>The Vector256 tier packs each B micro-panel on first use (with a prefetch of the next one), packs A with
    /// 6-row register transposes (scalar tail when kc is not a multiple of 8) or 6-float moves (transposed A), and
    /// prefetches C: shapes crossing every block boundary (several m, n and k blocks, edge tiles in m and n), all four
    /// transposes, alpha/beta, padded leading dimensions.</summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Vector256_tier_matches_reference_across_block_boundaries(bool tA, bool tB)
    {
        Gemm.ForceLevel = GemmLevel.Vector256;
        try
        {
            var rng = new Random(256);
            Check(rng, tA, tB, 590, 40, 270, 1, 0, 0);          // 3 row blocks, 2 k blocks of 135 (tail of 7 after 8-column steps)
            Check(rng, tA, tB, 20, 2065, 300, 0.5f, 1, 3);      // 2 column blocks, 2 k blocks of 150, a 2-row edge sliver
            Check(rng, tA, tB, 301, 97, 263, -1.5f, 0.25f, 1);  // 2 row blocks, 2 k blocks, 1-column edge panel
            Check(rng, tA, tB, 6, 16, 7, 1, 0, 0);              // one full tile, k below one 8-column step
            Check(rng, tA, tB, 12, 33, 8, 1, 1, 2);             // k exactly one 8-column step
        }
        finally
        {
            Gemm.ForceLevel = GemmLevel.Auto;
        }
    }

    [Fact]
    public void Vector256_tier_is_bitwise_independent_of_the_thread_count()
    {
        int saved = KernelParallel.MaxThreads;
        Gemm.ForceLevel = GemmLevel.Vector256;
        try
        {
            var rng = new Random(2561);
            foreach (var (m, n, k, tA, tB) in new[] { (590, 2065, 300, false, false), (128, 128, 4100, true, false), (301, 777, 531, false, true) })
            {
                var a = Random(rng, m * k);
                var b = Random(rng, k * n);
                float[]? first = null;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    KernelParallel.MaxThreads = threads;
                    var c = new float[m * n];
                    Gemm.Sgemm(tA, tB, m, n, k, 1, a, tA ? m : k, b, tB ? k : n, 0, c, n);
                    if (first == null) first = c;
                    else Assert.Equal(first, c);
                }
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
            Gemm.ForceLevel = GemmLevel.Auto;
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

using Shrink.Kernels;

namespace Shrink.Tests.Kernels;

/// <summary>GEMM with a pre-packed A: bitwise the unpacked GEMM on every tier and thread count, and close to the reference.</summary>
[Collection("KernelThreads")]
public class PackedGemmTests
{
    private static float[] Random(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();

    private static void Check(Random rng, bool tA, bool tB, int m, int n, int k, float alpha, float beta, int pad)
    {
        int lda = (tA ? m : k) + pad, ldb = (tB ? k : n) + pad, ldc = n + pad;
        int offset = 3;
        var a = Random(rng, offset + (tA ? k : m) * lda);
        var b = Random(rng, (tB ? n : k) * ldb);
        var c0 = Random(rng, m * ldc);
        var expected = (float[])c0.Clone();
        var actual = (float[])c0.Clone();
        var reference = (float[])c0.Clone();
        var aSpan = new ReadOnlySpan<float>(a, offset, a.Length - offset);
        Gemm.Sgemm(tA, tB, m, n, k, alpha, aSpan, lda, b, ldb, beta, expected, ldc);
        Gemm.Reference(tA, tB, m, n, k, alpha, aSpan, lda, b, ldb, beta, reference, ldc);
        var packed = Gemm.PackA(tA, m, k, a, offset, lda);
        Gemm.Sgemm(packed, tB, n, alpha, b, ldb, beta, actual, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                int idx = i * ldc + j;
                if (j >= n) { Assert.Equal(c0[idx], actual[idx]); continue; }
                Assert.True(BitConverter.SingleToInt32Bits(expected[idx]) == BitConverter.SingleToInt32Bits(actual[idx]),
                    $"tA={tA} tB={tB} m={m} n={n} k={k} level={Gemm.ActiveLevel} threads={KernelParallel.MaxThreads}: C[{i},{j}] = {actual[idx]}, unpacked {expected[idx]}");
                Assert.True(Math.Abs(reference[idx] - actual[idx]) <= 1e-4f * k * (1 + Math.Abs(reference[idx])));
            }
    }

    public static readonly (int M, int N, int K)[] Shapes =
    [
        (64, 784, 576),   // layer-1 conv at batch 1
        (128, 196, 1152), // layer 2
        (256, 49, 2304),  // layer 3: 32 + 17 columns
        (512, 16, 600),   // layer 4 (narrow: one vector), three k blocks
        (77, 17, 257),    // ragged
        (5, 9, 3),        // tiny
        (1, 40, 70),      // GEMV on A
        (40, 1, 70),      // GEMV on B
        (30, 600, 20),    // few rows, many columns
    ];

    [Theory]
    [InlineData(0)] // Auto
    [InlineData(2)] // Vector256
    [InlineData(3)] // Vector128
    [InlineData(4)] // Scalar
    public void Matches_the_unpacked_gemm_bitwise(int level)
    {
        int saved = KernelParallel.MaxThreads;
        Gemm.ForceLevel = (GemmLevel)level;
        try
        {
            var rng = new Random(17 + level);
            foreach (int threads in new[] { 1, Math.Max(2, Environment.ProcessorCount) })
            {
                KernelParallel.MaxThreads = threads;
                int i = 0;
                foreach (var (m, n, k) in Shapes)
                {
                    bool tA = i % 3 == 1, tB = i % 4 == 2;
                    (float alpha, float beta) = (i % 3) switch { 0 => (1f, 0f), 1 => (0.5f, 1f), _ => (-1.5f, 0.25f) };
                    Check(rng, tA, tB, m, n, k, alpha, beta, pad: i % 2);
                    i++;
                }
            }
        }
        finally
        {
            Gemm.ForceLevel = GemmLevel.Auto;
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void Thread_count_does_not_change_the_bits()
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            var rng = new Random(5);
            var a = Random(rng, 300 * 1000);
            var b = Random(rng, 1000 * 130);
            var packed = Gemm.PackA(false, 300, 1000, a, 0, 1000);
            var c1 = new float[300 * 130];
            var c2 = new float[300 * 130];
            KernelParallel.MaxThreads = Math.Max(2, Environment.ProcessorCount);
            Gemm.Sgemm(packed, false, 130, 1f, b, 130, 0f, c1, 130);
            KernelParallel.MaxThreads = 1;
            Gemm.Sgemm(packed, false, 130, 1f, b, 130, 0f, c2, 130);
            Assert.Equal(c1, c2);
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }
}

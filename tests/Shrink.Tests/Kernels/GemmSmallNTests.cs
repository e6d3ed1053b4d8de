using Shrink.Kernels;

namespace Shrink.Tests.Kernels;

/// <summary>The narrow-B kernel is the packed GEMM to the bit (and so also close to the plain reference).</summary>
public class GemmSmallNTests
{
    [Theory]
    [InlineData(64, 1, 64)]
    [InlineData(67, 9, 300)]    // ragged rows, two k blocks
    [InlineData(128, 16, 600)]  // one vector wide, three k blocks
    [InlineData(77, 17, 257)]   // two vectors wide, ragged
    [InlineData(512, 32, 1152)]
    [InlineData(8, 4, 16)]      // too small: falls back to the GEMM
    public unsafe void Matches_the_packed_gemm_bitwise(int m, int n, int k)
    {
        var rng = new Random(m * 31 + n * 7 + k);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        int ldb = n + 3, ldc = n + 5; // strided B and C
        var b = Enumerable.Range(0, k * ldb).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var expected = Enumerable.Repeat(7f, m * ldc).ToArray();
        var actual = Enumerable.Repeat(7f, m * ldc).ToArray();
        var reference = new float[m * ldc];
        Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, ldb, 0f, expected, ldc);
        Gemm.Reference(false, false, m, n, k, 1f, a, k, b, ldb, 0f, reference, ldc);
        fixed (float* pa = a, pb = b, pc = actual)
            GemmSmallN.Multiply(m, n, k, pa, k, pb, ldb, pc, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                int idx = i * ldc + j;
                if (j >= n) { Assert.Equal(7f, actual[idx]); continue; } // padding columns untouched
                Assert.Equal(expected[idx], actual[idx]);
                Assert.True(Math.Abs(reference[idx] - actual[idx]) <= 1e-4f * (1 + Math.Abs(reference[idx])));
            }
    }
}

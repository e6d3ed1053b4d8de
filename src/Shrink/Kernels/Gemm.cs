namespace Shrink.Kernels;

/// <summary>
/// Single-precision general matrix multiply, the one entry point every matmul-shaped loop in Shrink goes
/// through (Linear, MatMul, Conv via im2col, their backward passes).
/// </summary>
public static partial class Gemm
{
    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C, row-major. op(A) is m×k (A is k×m when <paramref name="transA"/>),
    /// op(B) is k×n (B is n×k when <paramref name="transB"/>). lda/ldb/ldc are row strides in elements.
    /// C must not alias A or B. With beta = 0, C's old contents are ignored (NaNs in C do not propagate).
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        if (m == 0 || n == 0) return;
        Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
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

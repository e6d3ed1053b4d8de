namespace Shrink.Kernels;

public static unsafe partial class Gemm
{
    private const int MRScalar = 4, NRScalar = 4;

    /// <summary>4×4 scalar micro-kernel (no SIMD, no FMA): the tier used under SHRINK_SCALAR=1 or without hardware intrinsics.</summary>
    private static void KernelScalar(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = pb[0], b1 = pb[1], b2 = pb[2], b3 = pb[3];
            float a0 = pa[0], a1 = pa[1], a2 = pa[2], a3 = pa[3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            pa += 4;
            pb += 4;
        }
        StoreRow(c, alpha, beta, c00, c01, c02, c03);
        StoreRow(c + ldc, alpha, beta, c10, c11, c12, c13);
        StoreRow(c + 2 * ldc, alpha, beta, c20, c21, c22, c23);
        StoreRow(c + 3 * ldc, alpha, beta, c30, c31, c32, c33);
    }

    private static void StoreRow(float* c, float alpha, float beta, float v0, float v1, float v2, float v3)
    {
        if (beta == 0)
        {
            c[0] = alpha * v0; c[1] = alpha * v1; c[2] = alpha * v2; c[3] = alpha * v3;
        }
        else
        {
            c[0] = alpha * v0 + beta * c[0]; c[1] = alpha * v1 + beta * c[1];
            c[2] = alpha * v2 + beta * c[2]; c[3] = alpha * v3 + beta * c[3];
        }
    }

    /// <summary>Scalar GEMV chunk, row-streaming: y[j] = sum_p x[p]·mat[p·ld + j].</summary>
    private static void GemvNScalar(int k, float* x, float* mat, nint ld, int len, float* y)
    {
        new Span<float>(y, len).Clear();
        for (int p = 0; p < k; p++)
        {
            float xp = x[p];
            float* r = mat + p * ld;
            for (int j = 0; j < len; j++) y[j] += xp * r[j];
        }
    }

    /// <summary>Scalar GEMV chunk, dot products: y[j] = dot(x, mat + j·ld).</summary>
    private static void GemvTScalar(int k, float* x, float* mat, nint ld, int len, float* y)
    {
        for (int j = 0; j < len; j++)
        {
            float* r = mat + j * ld;
            float s = 0;
            for (int p = 0; p < k; p++) s += x[p] * r[p];
            y[j] = s;
        }
    }
}

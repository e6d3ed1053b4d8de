using System.Runtime.CompilerServices;

namespace Shrink.Kernels;

public static unsafe partial class Gemm
{
    /// <summary>SHRINK_NO_DIRECTB=1 (or this switch, for in-process A/B timing) keeps pointwise convs on the packed GEMM.</summary>
    internal static bool DirectBEnabled = Environment.GetEnvironmentVariable("SHRINK_NO_DIRECTB") != "1";

    /// <summary>Whether <see cref="DirectB"/> may be used for this shape on this thread: the Vector512 tier, a wide
    /// row-major B (n ≥ 128: a pointwise conv's image, channels × positions) and a small left operand of m ≥ 2 rows (m = 1
    /// is the GEMM's GEMV path).</summary>
    internal static bool DirectBApplies(int m, int n, int k) =>
        DirectBEnabled && ActiveLevel == GemmLevel.Vector512 && n >= 128 && m > 1 && k > 0 && (long)RoundUp(m, MR512) * k <= 1 << 20;

    /// <summary>
    /// C = op(A)·B (beta = 0) or C = op(A)·B + C (beta = 1), op(A) m×k (A is k×m with row stride lda when
    /// <paramref name="transA"/>, else m×k), B k×n row-major with row stride ldb, C m×n with row stride ldc. B is read in
    /// place — never packed — 32 columns at a time (the k×32 strip stays in L1 while every 14-row sliver of the packed
    /// op(A) passes over it): for a pointwise convolution, where each element of B is used by only m (often 16–144)
    /// multiply-adds, packing B costs as much as the multiply. Same k blocks, same fused multiply-adds in k order and the
    /// same C update as the packed GEMM on the Vector512 tier, so the result is bitwise that of
    /// <see cref="Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>
    /// with alpha = 1. Single-threaded (callers split images over threads). Only where <see cref="DirectBApplies"/>;
    /// C must not alias A or B.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void DirectB(bool transA, int m, int n, int k, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        System.Diagnostics.Debug.Assert(DirectBApplies(m, n, k) && (beta == 0 || beta == 1));
        var tier = GetTier(GemmLevel.Vector512);
        int kcStep = CeilDiv(k, CeilDiv(k, tier.KC));
        int mPad = RoundUp(m, MR512);
        float* pa = PackBuffer(ref t_packDirectA, mPad * k);
        for (int pc = 0; pc < k; pc += kcStep)
        {
            int kc = Math.Min(kcStep, k - pc);
            PackA(transA, transA ? a + (nint)pc * lda : a + pc, lda, m, kc, MR512, pa + (nint)pc * mPad);
        }
        var kernels = s_directKernels512;
        bool toL1 = k <= 160; // the next k×32 strip fits in L1 beside the current one
        for (int jr = 0; jr < n; jr += NR512)
        {
            int nr = Math.Min(NR512, n - jr);
            // B comes from memory as k short runs (one per row): prefetch the next strip's two lines of every row, or
            // the hardware prefetcher, which tracks far fewer streams than k, leaves each load waiting on DRAM.
            if (jr + NR512 < n && System.Runtime.Intrinsics.X86.Sse.IsSupported)
            {
                float* next = b + jr + NR512;
                for (int p = 0; p < k; p++, next += ldb)
                {
                    if (toL1) { System.Runtime.Intrinsics.X86.Sse.Prefetch0(next); System.Runtime.Intrinsics.X86.Sse.Prefetch0(next + 16); }
                    else { System.Runtime.Intrinsics.X86.Sse.Prefetch1(next); System.Runtime.Intrinsics.X86.Sse.Prefetch1(next + 16); }
                }
            }
            for (int pc = 0; pc < k; pc += kcStep)
            {
                int kc = Math.Min(kcStep, k - pc);
                float betaEff = pc == 0 ? beta : 1f;
                float* bp = b + (nint)pc * ldb + jr, block = pa + (nint)pc * mPad;
                for (int ir = 0; ir < m; ir += MR512)
                {
                    int mr = Math.Min(MR512, m - ir);
                    kernels[mr - 1](kc, block + (nint)ir * kc, bp, ldb, c + (nint)ir * ldc + jr, ldc, betaEff, nr);
                }
            }
        }
    }

    [ThreadStatic] private static float[]? t_packDirectA;
}

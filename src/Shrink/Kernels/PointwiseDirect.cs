using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shrink.Kernels;

/// <summary>
/// The Vector256 (AVX2 + FMA) counterpart of <see cref="Gemm.DirectB"/> for pointwise convolutions on wide maps:
/// C = op(A)·B (or C += op(A)·B) with B — an image, channels × positions, row-major — read in place, never packed or
/// copied: for a pointwise conv each element of B feeds only m (16–192) multiply-adds, so packing B costs about as much
/// as the multiply. op(A) (the weights, m×k) is packed once per call into slivers of <see cref="MR"/> rows (zero rows
/// past m); B is walked in strips of <see cref="NR"/> columns (a k×16 strip stays in L1 while every sliver passes over
/// it), each strip through a 6×16 register tile of fused multiply-adds over the whole k in order, then stored
/// (or added to C). Every element of C is therefore one FMA chain over k in order from zero, plus at most one add to C:
/// the result does not depend on the column range a call covers, nor on the thread that runs it. Not bitwise the packed
/// GEMM (which splits k in blocks): <see cref="ConvGemm"/> picks this path by shape and tier only, never by thread count.
/// The Vector512 tier keeps <see cref="Gemm.DirectB"/>. Spans must not alias.
/// </summary>
internal static unsafe class PointwiseDirect
{
    internal const int MR = 6, NR = 16;

    /// <summary>Largest packed op(A) (floats): it must stay in L2 while the strips of B pass.</summary>
    private const int MaxPackedA = 1 << 16;

    /// <summary>SHRINK_NO_PWDIRECT256=1 (or this switch, for in-process A/B timing) keeps the packed GEMM.</summary>
    internal static bool Enabled = Environment.GetEnvironmentVariable("SHRINK_NO_PWDIRECT256") != "1";

    /// <summary>Positions per image from which pointwise convs take this path.</summary>
    internal static int MinPositions = int.Parse(Environment.GetEnvironmentVariable("SHRINK_PWDIRECT256_MINP") ?? "128");

    /// <summary>Batches from which this path pays: it packs the weights on every call, which a single image does not
    /// amortise (batch-1 MobileNet v2 latency 7.4–7.8 → 9.3–11.6 ms on Zen 3 when it took batch 1 too); batch 1 keeps the
    /// GEMM with its pre-packed weights.</summary>
    internal const int MinImages = 2;

    /// <summary>Whether a pointwise conv of these sizes takes this path on this thread: the Vector256 tier with FMA, at
    /// least <see cref="MinImages"/> images of at least <see cref="MinPositions"/> positions, a per-group weight of at
    /// most 64K floats. Never depends on the thread count.</summary>
    internal static bool Applies(in ConvDims d) =>
        Enabled && d.Pointwise && d.P >= MinPositions && d.N >= MinImages && d.Cgin > 0 && d.Cgout > 0
        && Math.Max((long)RoundUp(d.Cgout, MR) * d.Cgin, (long)RoundUp(d.Cgin, MR) * d.Cgout) <= MaxPackedA
        && !SpatialVector.ForceScalar && Gemm.ActiveLevel == GemmLevel.Vector256 && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Narrow maps whose positions fill whole 16-column strips (4×4, 8×8: 16 ≤ positions &lt; <see cref="MinPositions"/>)
    /// on the same tier: images taken in chunks, the weights packed once per call (<see cref="MultiplyImages"/>). (On 7×7
    /// maps the masked 49th column wastes a quarter of the work and the folded GEMM is faster.) Never depends on the thread count.</summary>
    internal static bool AppliesNarrow(in ConvDims d) =>
        EnabledNarrow && Enabled && d.Pointwise && d.P < MinPositions && d.P >= NR && d.P % NR == 0 && d.N >= MinImages && d.Cgin > 0 && d.Cgout > 0
        && !SpatialVector.ForceScalar && Gemm.ActiveLevel == GemmLevel.Vector256 && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>SHRINK_NO_PWDIRECT256_NARROW=1 (or this switch, for in-process A/B timing) keeps the GEMM on narrow maps.</summary>
    internal static bool EnabledNarrow = Environment.GetEnvironmentVariable("SHRINK_NO_PWDIRECT256_NARROW") != "1";

    private static int RoundUp(int v, int m) => (v + m - 1) / m * m;

    [ThreadStatic] private static float[]? t_pack;

    /// <summary>
    /// Columns [j0, j1) of C = op(A)·B (<paramref name="accumulate"/> false) or C += op(A)·B (true); op(A) is m×k (A is
    /// k×m with row stride lda when <paramref name="transA"/>, else m×k), B k×n with row stride ldb, C m×n with row
    /// stride ldc. Single-threaded.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(bool transA, int m, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, int j0, int j1, bool accumulate)
    {
        if (m <= 0 || j1 <= j0) return;
        int mPad = RoundUp(m, MR);
        if (k <= 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++) new Span<float>(c + (nint)i * ldc + j0, j1 - j0).Clear();
            return;
        }
        float* pa = Scratch.Grow(ref t_pack, Math.Max(mPad * k, 1024));
        Pack(transA, m, k, a, lda, pa);
        MultiplyPacked(pa, m, k, b, ldb, c, ldc, j0, j1, accumulate);
    }

    /// <summary>Floats of op(A) packed by <see cref="Pack"/>.</summary>
    public static int PackedFloats(int m, int k) => RoundUp(m, MR) * k;

    /// <summary>For <paramref name="images"/> images at strides <paramref name="bImage"/> (in B) and
    /// <paramref name="cImage"/> (in C), all n columns: C_i (+)= op(A)·B_i with op(A) packed by <see cref="Pack"/>.
    /// Narrow images (n ≤ 64: 7×7, 4×4 maps) run sliver by sliver over all the images, so each sliver of A is read
    /// from L1 while the images pass; the sums are the same either way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyImages(float* pa, int m, int k, int images, float* b, int ldb, nint bImage, float* c, int ldc, nint cImage, int n, bool accumulate)
    {
        if (n > 64)
        {
            for (int i = 0; i < images; i++) MultiplyPacked(pa, m, k, b + i * bImage, ldb, c + i * cImage, ldc, 0, n, accumulate);
            return;
        }
        for (int ir = 0; ir < m; ir += MR)
        {
            int mr = Math.Min(MR, m - ir);
            for (int i = 0; i < images; i++)
                for (int jr = 0; jr < n; jr += NR)
                {
                    int nr = Math.Min(NR, n - jr);
                    float* bp = b + i * bImage + jr, cp = c + i * cImage + (nint)ir * ldc + jr;
                    if (nr == NR) Kernel(k, pa + (nint)ir * k, bp, ldb, cp, ldc, mr, accumulate, default(FullStrip));
                    else Kernel(k, pa + (nint)ir * k, bp, ldb, cp, ldc, mr, accumulate, new MaskedStrip(nr));
                }
        }
    }

    /// <summary>Columns [j0, j1) of C (+)= op(A)·B with op(A) packed by <see cref="Pack"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyPacked(float* pa, int m, int k, float* b, int ldb, float* c, int ldc, int j0, int j1, bool accumulate)
    {
        for (int jr = j0; jr < j1; jr += NR)
        {
            int nr = Math.Min(NR, j1 - jr);
            float* bp = b + jr;
            // Each of the k rows of B is its own short run: fetch the next strip's line of every row ahead (the
            // hardware prefetcher tracks far fewer streams than k).
            if (jr + NR < j1 && Sse.IsSupported)
            {
                float* next = bp + NR;
                for (int p = 0; p < k; p++, next += ldb) Sse.Prefetch0(next);
            }
            for (int ir = 0; ir < m; ir += MR)
            {
                int mr = Math.Min(MR, m - ir);
                float* cp = c + (nint)ir * ldc + jr;
                if (nr == NR) Kernel(k, pa + (nint)ir * k, bp, ldb, cp, ldc, mr, accumulate, default(FullStrip));
                else Kernel(k, pa + (nint)ir * k, bp, ldb, cp, ldc, mr, accumulate, new MaskedStrip(nr));
            }
        }
    }

    /// <summary>op(A) in slivers: sliver s (at pa + 6s·k) holds rows 6s … 6s + 5 of op(A), k steps of 6 floats (zeros past m).</summary>
    public static void Pack(bool transA, int m, int k, float* a, int lda, float* pa)
    {
        for (int ir = 0; ir < m; ir += MR)
        {
            int mr = Math.Min(MR, m - ir);
            float* dst = pa + (nint)ir * k;
            for (int p = 0; p < k; p++, dst += MR)
            {
                int r = 0;
                if (transA) for (; r < mr; r++) dst[r] = a[(nint)p * lda + ir + r];
                else for (; r < mr; r++) dst[r] = a[(nint)(ir + r) * lda + p];
                for (; r < MR; r++) dst[r] = 0f;
            }
        }
    }

    /// <summary>6×16 register tile: C[0..mr, strip] (+)= op(A)·B over the whole k in order, one FMA chain per element
    /// from zero; <typeparamref name="T"/> says how the strip's 16 columns of B are read and of C written (all of them,
    /// or the first nr through lane masks — the same chains either way). The JIT compiles one copy per strip kind.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<T>(int k, float* pa, float* b, nint ldb, float* c, nint ldc, int mr, bool accumulate, T strip)
        where T : struct, IStrip
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < k; p++)
        {
            var b0 = strip.Low(b);
            var b1 = strip.High(b);
            var a = Vector256.Create(pa[0]); c00 = Fma.MultiplyAdd(a, b0, c00); c01 = Fma.MultiplyAdd(a, b1, c01);
            a = Vector256.Create(pa[1]); c10 = Fma.MultiplyAdd(a, b0, c10); c11 = Fma.MultiplyAdd(a, b1, c11);
            a = Vector256.Create(pa[2]); c20 = Fma.MultiplyAdd(a, b0, c20); c21 = Fma.MultiplyAdd(a, b1, c21);
            a = Vector256.Create(pa[3]); c30 = Fma.MultiplyAdd(a, b0, c30); c31 = Fma.MultiplyAdd(a, b1, c31);
            a = Vector256.Create(pa[4]); c40 = Fma.MultiplyAdd(a, b0, c40); c41 = Fma.MultiplyAdd(a, b1, c41);
            a = Vector256.Create(pa[5]); c50 = Fma.MultiplyAdd(a, b0, c50); c51 = Fma.MultiplyAdd(a, b1, c51);
            pa += MR;
            b += ldb;
        }
        strip.Store(c, c00, c01, accumulate);
        if (mr > 1) strip.Store(c + ldc, c10, c11, accumulate);
        if (mr > 2) strip.Store(c + 2 * ldc, c20, c21, accumulate);
        if (mr > 3) strip.Store(c + 3 * ldc, c30, c31, accumulate);
        if (mr > 4) strip.Store(c + 4 * ldc, c40, c41, accumulate);
        if (mr > 5) strip.Store(c + 5 * ldc, c50, c51, accumulate);
    }

    /// <summary>One strip of 16 columns: its two 8-float halves of a row of B, and a row of C written (or added to).</summary>
    private interface IStrip
    {
        Vector256<float> Low(float* row);
        Vector256<float> High(float* row);
        void Store(float* c, Vector256<float> v0, Vector256<float> v1, bool accumulate);
    }

    /// <summary>All 16 columns.</summary>
    private readonly struct FullStrip : IStrip
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Low(float* row) => Vector256.Load(row);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> High(float* row) => Vector256.Load(row + 8);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(float* c, Vector256<float> v0, Vector256<float> v1, bool accumulate)
        {
            if (accumulate)
            {
                v0 = Vector256.Load(c) + v0;
                v1 = Vector256.Load(c + 8) + v1;
            }
            Vector256.Store(v0, c);
            Vector256.Store(v1, c + 8);
        }
    }

    /// <summary>The last strip, nr &lt; 16 columns: B read and C written through lane masks.</summary>
    private readonly struct MaskedStrip : IStrip
    {
        private readonly Vector256<float> _m0, _m1;

        public MaskedStrip(int nr)
        {
            var lane = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);
            _m0 = Vector256.LessThan(lane, Vector256.Create((float)nr));
            _m1 = Vector256.LessThan(lane, Vector256.Create((float)(nr - 8)));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Low(float* row) => Avx.MaskLoad(row, _m0);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> High(float* row) => Avx.MaskLoad(row + 8, _m1);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(float* c, Vector256<float> v0, Vector256<float> v1, bool accumulate)
        {
            if (accumulate)
            {
                v0 = Avx.MaskLoad(c, _m0) + v0;
                v1 = Avx.MaskLoad(c + 8, _m1) + v1;
            }
            Avx.MaskStore(c, _m0, v0);
            Avx.MaskStore(c + 8, _m1, v1);
        }
    }
}

namespace Shrink.Compression.LowRank;

/// <summary>
/// Geometry of a 2-D conv as the cost formulas need it: channels, kernel, input and output spatial size (per sample).
/// <see cref="H"/>, <see cref="W"/>, <see cref="OutH"/>, <see cref="OutW"/> are −1 when unknown (MACs are then −1 too).
/// </summary>
public readonly record struct ConvGeometry(int Out, int In, int KernelH, int KernelW, int H, int W, int OutH, int OutW);

/// <summary>
/// Closed-form parameter and MAC counts (per sample) of a layer before and after factorisation, and the rank helpers the
/// conductor uses: the largest useful rank, the break-even rank (beyond which the factorised layer stops saving
/// parameters) and the energy rank. Bias is counted when <c>bias</c> is true (it survives unchanged on the last factor).
/// </summary>
public static class LowRankCost
{
    // ---- parameters ----

    public static long ConvParams(ConvGeometry g, bool bias) => (long)g.Out * g.In * g.KernelH * g.KernelW + (bias ? g.Out : 0);

    /// <summary>R·(in + kh + kw + out); a kernel side of 1 adds no depthwise conv (its scalar folds into the others).</summary>
    public static long CpParams(ConvGeometry g, int rank, bool bias) =>
        IsPointwise(g) ? SvdConvParams(g, rank, bias)
        : (long)rank * (g.In + Side(g.KernelH) + Side(g.KernelW) + g.Out) + (bias ? g.Out : 0);

    /// <summary>in·R1 + R2·R1·kh·kw + R2·out; a 1x1 conv is factorised by SVD at rank min(R1, R2) instead.</summary>
    public static long TuckerParams(ConvGeometry g, int rankOut, int rankIn, bool bias) =>
        IsPointwise(g) ? SvdConvParams(g, Math.Min(rankOut, rankIn), bias)
        : (long)g.In * rankIn + (long)rankOut * rankIn * g.KernelH * g.KernelW + (long)rankOut * g.Out + (bias ? g.Out : 0);

    /// <summary>Two 1x1 convs: r·(in + out).</summary>
    public static long SvdConvParams(ConvGeometry g, int rank, bool bias) => (long)rank * (g.In + g.Out) + (bias ? g.Out : 0);

    public static long LinearParams(int outFeatures, int inFeatures, bool bias) => (long)outFeatures * inFeatures + (bias ? outFeatures : 0);

    /// <summary>Three factors in×r, r×r, r×out.</summary>
    public static long SvdLinearParams(int outFeatures, int inFeatures, int rank, bool bias) =>
        (long)inFeatures * rank + (long)rank * rank + (long)rank * outFeatures + (bias ? outFeatures : 0);

    // ---- MACs per sample ----

    public static long ConvMacs(ConvGeometry g) => Known(g) ? (long)g.Out * g.In * g.KernelH * g.KernelW * g.OutH * g.OutW : -1;

    /// <summary>
    /// pw1 at input resolution R·in·H·W; kh×1 depthwise R·kh·OutH·W (·OutW when there is no 1×kw conv after it);
    /// 1×kw depthwise R·kw·OutH·OutW; pw2 out·R·OutH·OutW.
    /// </summary>
    public static long CpMacs(ConvGeometry g, int rank)
    {
        if (IsPointwise(g)) return SvdConvMacs(g, rank);
        if (!Known(g)) return -1;
        long outPix = (long)g.OutH * g.OutW, r = rank;
        long macs = r * g.In * g.H * g.W + g.Out * r * outPix;
        if (g.KernelH > 1) macs += r * g.KernelH * g.OutH * (g.KernelW > 1 ? g.W : g.OutW);
        if (g.KernelW > 1) macs += r * g.KernelW * outPix;
        return macs;
    }

    /// <summary>R1·in·H·W + R2·R1·kh·kw·OutH·OutW + out·R2·OutH·OutW.</summary>
    public static long TuckerMacs(ConvGeometry g, int rankOut, int rankIn)
    {
        if (IsPointwise(g)) return SvdConvMacs(g, Math.Min(rankOut, rankIn));
        if (!Known(g)) return -1;
        long outPix = (long)g.OutH * g.OutW;
        return (long)rankIn * g.In * g.H * g.W + (long)rankOut * rankIn * g.KernelH * g.KernelW * outPix + (long)g.Out * rankOut * outPix;
    }

    /// <summary>Two 1x1 convs at output resolution (the first carries stride and padding): r·(in + out)·OutH·OutW.</summary>
    public static long SvdConvMacs(ConvGeometry g, int rank) => Known(g) ? (long)rank * (g.In + g.Out) * g.OutH * g.OutW : -1;

    public static long LinearMacs(int outFeatures, int inFeatures) => (long)outFeatures * inFeatures;

    public static long SvdLinearMacs(int outFeatures, int inFeatures, int rank) =>
        (long)inFeatures * rank + (long)rank * rank + (long)rank * outFeatures;

    // ---- ranks ----

    /// <summary>
    /// The largest rank worth asking for: SVD min(in, out) (for a 1x1 conv too); CP numel/(largest dim), the rank at
    /// which a CP is exact for any weight; Tucker-2 the output-side rank min(out, in·kh·kw).
    /// </summary>
    public static int MaxUsefulRank(ConvGeometry g, LowRankMethod method) => method switch
    {
        _ when IsPointwise(g) => Math.Min(g.In, g.Out),
        LowRankMethod.Svd => Math.Min(g.In, g.Out),
        LowRankMethod.Cp => CpAls.ExactRank([g.Out, g.In, g.KernelH, g.KernelW]),
        LowRankMethod.Tucker2 => Math.Min(g.Out, g.In * g.KernelH * g.KernelW),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown method."),
    };

    public static int MaxUsefulRank(int outFeatures, int inFeatures) => Math.Min(outFeatures, inFeatures);

    /// <summary>Tucker-2's input rank R1 paired with output rank R2 when both shrink in proportion to their channels.</summary>
    public static int TuckerRankIn(ConvGeometry g, int rankOut) =>
        Math.Clamp((int)Math.Round((double)rankOut * g.In / g.Out), 1, g.In);

    /// <summary>
    /// The largest rank whose factorisation still has fewer parameters than the layer (0 when none does). For Tucker-2 the
    /// rank is R2 with R1 = <see cref="TuckerRankIn"/>.
    /// </summary>
    public static int BreakEvenRank(ConvGeometry g, LowRankMethod method)
    {
        long original = ConvParams(g, bias: false);
        int max = Math.Max(MaxUsefulRank(g, method), method == LowRankMethod.Cp ? CpAls.ExactRank([g.Out, g.In, g.KernelH, g.KernelW]) : 0);
        int best = 0;
        for (int r = 1; r <= max; r++)
        {
            long p = method switch
            {
                LowRankMethod.Cp => CpParams(g, r, bias: false),
                LowRankMethod.Tucker2 => TuckerParams(g, r, TuckerRankIn(g, r), bias: false),
                _ => SvdConvParams(g, r, bias: false),
            };
            if (p < original) best = r;
        }
        return best;
    }

    /// <summary>The largest r with in·r + r² + r·out &lt; in·out (0 when none).</summary>
    public static int BreakEvenRank(int outFeatures, int inFeatures)
    {
        int best = 0;
        for (int r = 1; r <= Math.Min(outFeatures, inFeatures); r++)
            if (SvdLinearParams(outFeatures, inFeatures, r, bias: false) < LinearParams(outFeatures, inFeatures, bias: false)) best = r;
        return best;
    }

    /// <summary>The smallest rank keeping <paramref name="fraction"/> of the squared singular values (see <see cref="TruncatedSvd.EnergyRank"/>).</summary>
    public static int EnergyRank(IReadOnlyList<double> singularValues, double fraction) => TruncatedSvd.EnergyRank(singularValues, fraction);

    private static int Side(int k) => k > 1 ? k : 0;
    private static bool IsPointwise(ConvGeometry g) => g.KernelH == 1 && g.KernelW == 1;
    private static bool Known(ConvGeometry g) => g.H > 0 && g.W > 0 && g.OutH > 0 && g.OutW > 0;
}

using Shrink.Compression.LowRank;

namespace Shrink.Conductor;

/// <summary>
/// One entry of the composed list: a conv or dense layer, whether it is optimised or frozen (and why), the method chosen
/// for it, the ladder of ranks the search moves on (a notch = one step along it; the top is the break-even rank, beyond
/// which the factorisation saves nothing) and its sensitivity curve — the validation accuracy lost, in points, with only
/// this layer factorised at each ladder rank and no training (interpolated between the measured ranks, non-increasing
/// in rank).
/// </summary>
public sealed record LayerChoice
{
    public required string Name { get; init; }
    /// <summary>"conv" or "linear".</summary>
    public required string Kind { get; init; }
    public int Out { get; init; }
    public int In { get; init; }
    public int KernelH { get; init; } = 1;
    public int KernelW { get; init; } = 1;
    public int H { get; init; } = -1;
    public int W { get; init; } = -1;
    public int OutH { get; init; } = -1;
    public int OutW { get; init; } = -1;
    public bool HasBias { get; init; }
    public long Params { get; init; }
    public long Macs { get; init; }
    public bool Optimize { get; init; }
    public string Reason { get; init; } = "";
    public LowRankMethod Method { get; init; } = LowRankMethod.Svd;
    public int[] Ladder { get; init; } = [];
    public double[] Curve { get; init; } = [];
    /// <summary>Ladder indices at which <see cref="Curve"/> was measured.</summary>
    public int[] Measured { get; init; } = [];

    public int Top => Ladder.Length - 1;

    internal ConvGeometry Geometry => new(Out, In, KernelH, KernelW, H, W, OutH, OutW);

    /// <summary>The pass parameters for ladder rank <paramref name="rank"/>: Tucker-2's input rank follows the channels.</summary>
    public LayerRank ToLayerRank(int rank) => Method switch
    {
        LowRankMethod.Tucker2 => LayerRank.Tucker2(rank, LowRankCost.TuckerRankIn(Geometry, rank)),
        LowRankMethod.Cp => LayerRank.Cp(rank),
        _ => LayerRank.Svd(rank),
    };

    /// <summary>Parameters of the layer factorised at <paramref name="rank"/> (closed form, bias included).</summary>
    public long FactoredParams(int rank) => Kind == "linear"
        ? LowRankCost.SvdLinearParams(Out, In, rank, HasBias)
        : Method switch
        {
            LowRankMethod.Cp => LowRankCost.CpParams(Geometry, rank, HasBias),
            LowRankMethod.Tucker2 => LowRankCost.TuckerParams(Geometry, rank, LowRankCost.TuckerRankIn(Geometry, rank), HasBias),
            _ => LowRankCost.SvdConvParams(Geometry, rank, HasBias),
        };

    /// <summary>MACs per sample of the layer factorised at <paramref name="rank"/> (closed form; the original's when unknown).</summary>
    public long FactoredMacs(int rank)
    {
        long m = Kind == "linear"
            ? LowRankCost.SvdLinearMacs(Out, In, rank)
            : Method switch
            {
                LowRankMethod.Cp => LowRankCost.CpMacs(Geometry, rank),
                LowRankMethod.Tucker2 => LowRankCost.TuckerMacs(Geometry, rank, LowRankCost.TuckerRankIn(Geometry, rank)),
                _ => LowRankCost.SvdConvMacs(Geometry, rank),
            };
        return m < 0 ? Macs : m;
    }

    /// <summary>Predicted accuracy drop (points, no training) at ladder index <paramref name="index"/>.</summary>
    public double DropAt(int index) => Curve.Length == 0 ? 0 : Curve[Math.Clamp(index, 0, Curve.Length - 1)];

    /// <summary>The ladder index of <paramref name="rank"/> (the nearest rank at or above it).</summary>
    public int IndexOf(int rank)
    {
        for (int i = 0; i < Ladder.Length; i++)
            if (Ladder[i] >= rank) return i;
        return Top;
    }

    /// <summary>Ranks 1..<paramref name="max"/> in about <paramref name="notches"/> roughly geometric steps (about 20% apart at the top for max ≈ 80) (denser at the low end).</summary>
    public static int[] MakeLadder(int max, int notches = 24)
    {
        if (max < 1) return [];
        var set = new SortedSet<int> { 1, max };
        for (int k = 1; k < notches; k++) set.Add(Math.Clamp((int)Math.Round(Math.Pow(max, (double)k / (notches - 1))), 1, max));
        return set.ToArray();
    }

    /// <summary>
    /// A full curve over <paramref name="ladderLength"/> indices from drops measured at <paramref name="indices"/>:
    /// linear between measured points, flat beyond them, then made non-increasing in rank and non-negative.
    /// </summary>
    public static double[] Interpolate(int ladderLength, IReadOnlyList<int> indices, IReadOnlyList<double> drops)
    {
        var curve = new double[ladderLength];
        if (indices.Count == 0) return curve;
        for (int i = 0; i < ladderLength; i++)
        {
            int k = 0;
            while (k < indices.Count - 1 && indices[k + 1] <= i) k++;
            if (i <= indices[0]) curve[i] = drops[0];
            else if (k == indices.Count - 1) curve[i] = drops[k];
            else
            {
                double t = (double)(i - indices[k]) / (indices[k + 1] - indices[k]);
                curve[i] = drops[k] + t * (drops[k + 1] - drops[k]);
            }
        }
        for (int i = ladderLength - 1; i >= 0; i--)
        {
            curve[i] = Math.Max(0, curve[i]);
            if (i < ladderLength - 1) curve[i] = Math.Max(curve[i], curve[i + 1]);
        }
        return curve;
    }
}

using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Compression.LowRank;

/// <summary>Entry points over all three low-rank passes, and the per-layer rank estimates the conductor starts from.</summary>
public static class LowRankPasses
{
    /// <summary>Applies <see cref="CpConvPass"/>, <see cref="TuckerConvPass"/> and <see cref="SvdLinearPass"/> for <paramref name="plan"/>, in place.</summary>
    public static LowRankPassResult Apply(Graph.Graph graph, LowRankPlan plan, CpConvOptions? cpOptions = null) =>
        LowRankPassResult.Merge(
            new CpConvPass(plan, cpOptions).Apply(graph),
            new TuckerConvPass(plan, cpOptions?.HooiSweeps ?? 5).Apply(graph),
            new SvdLinearPass(plan).Apply(graph));

    /// <summary>
    /// A first rank for <paramref name="node"/> from the energy of its weight's spectrum (the smallest rank keeping
    /// <paramref name="fraction"/> of the squared singular values): SVD — of W [out, in]; Tucker-2 — of the out and in
    /// unfoldings; a 1x1 conv — of W [out, in] whatever the method; CP — the larger of the two Tucker-2 ranks (a heuristic: CP needs at least as many components as
    /// either channel subspace). Null for nodes the passes do not handle.
    /// </summary>
    public static LayerRank? EnergyRank(Node node, LowRankMethod method, double fraction)
    {
        if (node.Op is Gemm gemm && node.ParameterInput(1) is { } b && !gemm.TransA)
        {
            if (method != LowRankMethod.Svd) return null;
            return LayerRank.Svd(LowRankCost.EnergyRank(TruncatedSvd.SingularValues(TruncatedSvd.ToMatrix(b.Data)), fraction));
        }
        if (LowRankPass.WhyNotConv(node) is not null) return null;
        var w = DenseTensor.FromTensor(node.ParameterInput(1)!.Data);
        var (sOut, sIn) = Tucker2.ModeSpectra(w);
        int rOut = LowRankCost.EnergyRank(sOut, fraction), rIn = LowRankCost.EnergyRank(sIn, fraction);
        bool pointwise = w.Dims[2] == 1 && w.Dims[3] == 1;
        if (pointwise)
        {
            int r = LowRankCost.EnergyRank(TruncatedSvd.SingularValues(w.Unfold(0)), fraction);
            return method switch { LowRankMethod.Cp => LayerRank.Cp(r), LowRankMethod.Tucker2 => LayerRank.Tucker2(r, r), _ => LayerRank.Svd(r) };
        }
        if (method == LowRankMethod.Svd) return null; // k×k convs are CP's or Tucker-2's
        return method == LowRankMethod.Tucker2 ? LayerRank.Tucker2(rOut, rIn) : LayerRank.Cp(Math.Max(rOut, rIn));
    }
}

using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Compression.LowRank;

/// <summary>
/// Conv W[out, in, kh, kw] → Tucker-2: "{node}.tucker.pw1" 1x1 in→R1 (UInᵀ), "{node}.tucker.core" kh×kw R1→R2 with the
/// original stride, padding and dilation, "{node}.tucker.pw2" 1x1 R2→out (UOut) with the original bias. Plan entries
/// <see cref="LowRankMethod.Tucker2"/> (R2 = Rank, R1 = RankIn). A 1x1 conv becomes two 1x1 convs by SVD at rank
/// min(R1, R2). Declines anything but group-1 convs with a stored weight.
/// </summary>
public sealed class TuckerConvPass(LowRankPlan plan, int hooiSweeps = 5) : LowRankPass(plan)
{
    public override string Name => "TuckerConv";

    public int HooiSweeps { get; } = hooiSweeps;

    protected override bool Handles(LowRankMethod method) => method == LowRankMethod.Tucker2;

    protected override string? WhyNot(Node node, LayerRank rank) => WhyNotConv(node);

    protected override LowRankLayerReport Rewrite(Graph.Graph graph, Node node, LayerRank rank)
    {
        var g = Geometry(node);
        if (g.KernelH == 1 && g.KernelW == 1)
            return RewritePointwiseSvd(graph, node, rank, Math.Min(rank.Rank, rank.RankIn), "1x1 conv: SVD instead of Tucker-2");
        string? note = null;
        int r2 = rank.Rank, r1 = rank.RankIn;
        if (r2 > g.Out || r1 > g.In)
        {
            note = $"ranks ({r2},{r1}) clamped to ({Math.Min(r2, g.Out)},{Math.Min(r1, g.In)})";
            r2 = Math.Min(r2, g.Out);
            r1 = Math.Min(r1, g.In);
        }
        var tucker = Tucker2.Decompose(node.ParameterInput(1)!.Data, r2, r1, HooiSweeps);
        return Build(graph, node, rank, tucker, note);
    }

    /// <summary>Replaces <paramref name="node"/> by the three convs of <paramref name="tucker"/> (also CP's fallback).</summary>
    internal static LowRankLayerReport Build(Graph.Graph graph, Node node, LayerRank requested, Tucker2Result tucker, string? note)
    {
        var conv = (Conv)node.Op;
        var g = Geometry(node);
        var wp = node.ParameterInput(1)!;
        int r1 = tucker.RankIn, r2 = tucker.RankOut;
        var before = (Params: ParamsOf([node]), Macs: MacsPerSample([node]));
        var w1 = new Tensor(new Shape(r1, g.In, 1, 1));
        for (int t = 0; t < r1; t++)
            for (int c = 0; c < g.In; c++) w1[t * g.In + c] = (float)tucker.UIn[c, t];
        var core = tucker.Core.ToTensor();
        var w2 = new Tensor(new Shape(g.Out, r2, 1, 1));
        for (int o = 0; o < g.Out; o++)
            for (int s = 0; s < r2; s++) w2[o * r2 + s] = (float)tucker.UOut[o, s];
        var added = graph.ReplaceNode(node, (gr, ins) =>
        {
            var h = AddConv(gr, Stage(node, "tucker", "pw1"), ins[0], w1, null, wp.Trainable);
            h = AddConv(gr, Stage(node, "tucker", "core"), h, core, null, wp.Trainable, conv.Strides, conv.Pads, conv.Dilations);
            return [AddConv(gr, Stage(node, "tucker", "pw2"), h, w2, ins.Count > 2 ? ins[2] : null, wp.Trainable)];
        });
        return new LowRankLayerReport(node.Name, requested, LayerRank.Tucker2(r2, r1), before.Params, ParamsOf(added), before.Macs,
            MacsPerSample(added), tucker.RelativeError, added.Select(n => n.Name).ToArray(), note);
    }
}

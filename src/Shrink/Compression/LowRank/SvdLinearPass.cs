using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Compression.LowRank;

/// <summary>
/// Dense layer y = alpha·x·W'ᵀ + beta·C (Gemm; W' [out, in] is B, or Bᵀ without transB) → three Gemms in Linear's
/// convention (transB, weights [out_i, in_i]) from the truncated SVD alpha·W' ≈ U·Σ·Vᵀ:
/// "{node}.svd.v" x·V (in→r, weight Vᵀ [r, in]), "{node}.svd.s" ·Σ (r×r, initially diagonal, trained as a full matrix),
/// "{node}.svd.u" ·Uᵀ (r→out, weight U [out, r]) plus beta·C. A 1x1 Conv with an <see cref="LowRankMethod.Svd"/> entry
/// becomes two 1x1 convs. Declines Gemms with transA, computed weights, and k×k convs (use CP or Tucker-2 there).
/// </summary>
public sealed class SvdLinearPass(LowRankPlan plan) : LowRankPass(plan)
{
    public override string Name => "SvdLinear";

    protected override bool Handles(LowRankMethod method) => method == LowRankMethod.Svd;

    protected override string? WhyNot(Node node, LayerRank rank)
    {
        if (node.Op is Conv)
        {
            if (WhyNotConv(node) is { } why) return why;
            var w = node.Inputs[1].Shape;
            return w[2] == 1 && w[3] == 1 ? null : $"{w[2]}x{w[3]} conv: SVD handles 1x1 convs only (use Cp or Tucker2)";
        }
        if (node.Op is not Gemm gemm) return "neither Gemm nor Conv";
        if (gemm.TransA) return "transA=1 is not factorised";
        if (node.ParameterInput(1) is null) return "the weight is computed, not a stored parameter";
        return null;
    }

    protected override LowRankLayerReport Rewrite(Graph.Graph graph, Node node, LayerRank rank)
    {
        if (node.Op is Conv) return RewritePointwiseSvd(graph, node, rank, rank.Rank, null);
        var gemm = (Gemm)node.Op;
        var wp = node.ParameterInput(1)!;
        var b = TruncatedSvd.ToMatrix(wp.Data);
        var w = gemm.TransB ? b : b.Transpose(); // [out, in]
        if (gemm.Alpha != 1) w *= gemm.Alpha;
        int outF = w.RowCount, inF = w.ColumnCount, r = rank.Rank, max = Math.Min(outF, inF);
        string? note = null;
        if (r > max)
        {
            note = $"rank {r} clamped to {max}";
            r = max;
        }
        var svd = TruncatedSvd.Decompose(w, r);
        var before = (Params: ParamsOf([node]), Macs: MacsPerSample([node]));
        var wv = TruncatedSvd.ToTensor(svd.V.Transpose());  // [r, in]
        var ws = new Tensor(new Shape(r, r));
        for (int i = 0; i < r; i++) ws[i * r + i] = (float)svd.S[i];
        var wu = TruncatedSvd.ToTensor(svd.U);              // [out, r]
        var added = graph.ReplaceNode(node, (g, ins) =>
        {
            var h = AddGemm(g, Stage(node, "svd", "v"), new Gemm { TransB = true }, ins[0], wv, null, wp.Trainable);
            h = AddGemm(g, Stage(node, "svd", "s"), new Gemm { TransB = true }, h, ws, null, wp.Trainable);
            return [AddGemm(g, Stage(node, "svd", "u"), new Gemm { TransB = true, Beta = gemm.Beta }, h, wu, ins.Count > 2 ? ins[2] : null, wp.Trainable)];
        });
        return new LowRankLayerReport(node.Name, rank, LayerRank.Svd(r), before.Params, ParamsOf(added), before.Macs,
            MacsPerSample(added), svd.RelativeError, added.Select(n => n.Name).ToArray(), note);
    }

    private static Value AddGemm(Graph.Graph g, string name, Gemm op, Value x, Tensor weight, Value? c, bool trainable)
    {
        string nodeName = g.UniqueNodeName(name);
        var w = g.AddParameter($"{nodeName}.weight", weight, trainable);
        Value[] inputs = c is null ? [x, w] : [x, w, c];
        return g.AddNode(op, inputs, nodeName).Outputs[0];
    }
}

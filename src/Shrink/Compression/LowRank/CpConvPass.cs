using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Compression.LowRank;

/// <summary>Controls of <see cref="CpConvPass"/>.</summary>
public sealed record CpConvOptions
{
    public CpOptions Cp { get; init; } = new();

    /// <summary>
    /// Compare CP with a Tucker-2 of at most the same parameter count and use the Tucker-2 when CP is degenerate or fits
    /// worse than <see cref="TuckerSlack"/> × the Tucker-2 error.
    /// </summary>
    public bool FallbackToTucker { get; init; } = true;

    /// <summary>CP is kept while its relative error ≤ TuckerSlack × that of the same-size Tucker-2 (+ 1e-6, so exact ties keep CP).</summary>
    public double TuckerSlack { get; init; } = 1.0;

    public int HooiSweeps { get; init; } = 5;
}

/// <summary>
/// Conv W[out, in, kh, kw] → rank-R CP (Lebedev et al.): "{node}.cp.pw1" 1x1 in→R, "{node}.cp.dw_h" depthwise kh×1
/// (stride_h, pads top/bottom, dilation_h), "{node}.cp.dw_w" depthwise 1×kw (stride_w, pads left/right, dilation_w),
/// "{node}.cp.pw2" 1x1 R→out with the original bias — exact up to the CP error, since padding zeros pass through the
/// bias-free convs unchanged. A kernel side of 1 drops its depthwise conv (its stride and padding move to the other one);
/// a 1x1 conv becomes two 1x1 convs by SVD. Weights come from <see cref="CpAls"/> on the trained weight, with each
/// component's λ spread evenly (λ^(1/k)) over its k factors. When CP is degenerate or loses to a Tucker-2 of the same
/// size (<see cref="CpConvOptions"/>), the layer is factorised by Tucker-2 instead and the report says why.
/// </summary>
public sealed class CpConvPass(LowRankPlan plan, CpConvOptions? options = null) : LowRankPass(plan)
{
    public override string Name => "CpConv";

    public CpConvOptions Options { get; } = options ?? new CpConvOptions();

    protected override bool Handles(LowRankMethod method) => method == LowRankMethod.Cp;

    protected override string? WhyNot(Node node, LayerRank rank) => WhyNotConv(node);

    protected override LowRankLayerReport Rewrite(Graph.Graph graph, Node node, LayerRank rank)
    {
        var g = Geometry(node);
        if (g.KernelH == 1 && g.KernelW == 1)
            return RewritePointwiseSvd(graph, node, rank, rank.Rank, "1x1 conv: SVD instead of CP");
        string? note = null;
        int r = rank.Rank, max = LowRankCost.MaxUsefulRank(g, LowRankMethod.Cp);
        if (r > max)
        {
            note = $"rank {r} clamped to {max} (exact CP)";
            r = max;
        }
        var weight = DenseTensor.FromTensor(node.ParameterInput(1)!.Data);
        var cp = CpAls.Decompose(weight, r, Options.Cp);
        if (Options.FallbackToTucker)
        {
            long budget = LowRankCost.CpParams(g, r, bias: false);
            var (r2, r1) = TuckerRanksWithin(g, budget);
            if (cp.Degenerate || r2 > 0)
            {
                var tucker = Tucker2.Decompose(weight, Math.Max(r2, 1), Math.Max(r1, 1), Options.HooiSweeps);
                string? why = cp.Degenerate ? $"CP-ALS degenerate: {cp.Diagnosis}"
                    : cp.RelativeError > Options.TuckerSlack * tucker.RelativeError + 1e-6
                        ? $"CP error {cp.RelativeError:G3} worse than Tucker-2({tucker.RankOut},{tucker.RankIn}) of at most the same size ({tucker.RelativeError:G3})"
                        : null;
                if (why is not null)
                    return TuckerConvPass.Build(graph, node, rank, tucker, Join(note, $"fell back to Tucker-2: {why}"));
            }
        }
        else if (cp.Degenerate)
            note = Join(note, $"CP-ALS degenerate ({cp.Diagnosis}); kept as asked");
        return Build(graph, node, rank, cp, note);
    }

    /// <summary>The largest Tucker-2 ranks (R2, R1 in proportion to the channels) with at most <paramref name="budget"/> parameters; (0, 0) if none.</summary>
    internal static (int RankOut, int RankIn) TuckerRanksWithin(ConvGeometry g, long budget)
    {
        for (int r2 = g.Out; r2 >= 1; r2--)
        {
            int r1 = LowRankCost.TuckerRankIn(g, r2);
            if (LowRankCost.TuckerParams(g, r2, r1, bias: false) <= budget) return (r2, r1);
        }
        return (0, 0);
    }

    private static LowRankLayerReport Build(Graph.Graph graph, Node node, LayerRank requested, CpResult cp, string? note)
    {
        var conv = (Conv)node.Op;
        var g = Geometry(node);
        var wp = node.ParameterInput(1)!;
        int rank = cp.Rank;
        bool hasH = g.KernelH > 1, hasW = g.KernelW > 1;
        int k = 2 + (hasH ? 1 : 0) + (hasW ? 1 : 0);
        var (aOut, aIn, aH, aW) = (cp.Factors[0], cp.Factors[1], cp.Factors[2], cp.Factors[3]);
        var scale = new double[rank];
        var sign = new double[rank];
        for (int r = 0; r < rank; r++)
        {
            double l = cp.Lambda[r] * (hasH ? 1 : aH[0, r]) * (hasW ? 1 : aW[0, r]); // a side of 1 folds into λ
            sign[r] = l < 0 ? -1 : 1;
            scale[r] = Math.Pow(Math.Abs(l), 1.0 / k);
        }
        var before = (Params: ParamsOf([node]), Macs: MacsPerSample([node]));
        var w1 = new Tensor(new Shape(rank, g.In, 1, 1));
        var wh = new Tensor(new Shape(rank, 1, g.KernelH, 1));
        var ww = new Tensor(new Shape(rank, 1, 1, g.KernelW));
        var w2 = new Tensor(new Shape(g.Out, rank, 1, 1));
        for (int r = 0; r < rank; r++)
        {
            for (int c = 0; c < g.In; c++) w1[r * g.In + c] = (float)(aIn[c, r] * scale[r]);
            for (int i = 0; i < g.KernelH; i++) wh[r * g.KernelH + i] = (float)(aH[i, r] * scale[r]);
            for (int j = 0; j < g.KernelW; j++) ww[r * g.KernelW + j] = (float)(aW[j, r] * scale[r]);
            for (int o = 0; o < g.Out; o++) w2[o * rank + r] = (float)(aOut[o, r] * scale[r] * sign[r]);
        }
        int[] s = conv.Strides, p = conv.Pads, d = conv.Dilations;
        var added = graph.ReplaceNode(node, (gr, ins) =>
        {
            var h = AddConv(gr, Stage(node, "cp", "pw1"), ins[0], w1, null, wp.Trainable);
            if (hasH)
                h = AddConv(gr, Stage(node, "cp", "dw_h"), h, wh, null, wp.Trainable,
                    strides: [s[0], hasW ? 1 : s[1]], pads: [p[0], hasW ? 0 : p[1], p[2], hasW ? 0 : p[3]],
                    dilations: [d[0], 1], group: rank);
            if (hasW)
                h = AddConv(gr, Stage(node, "cp", "dw_w"), h, ww, null, wp.Trainable,
                    strides: [hasH ? 1 : s[0], s[1]], pads: [hasH ? 0 : p[0], p[1], hasH ? 0 : p[2], p[3]],
                    dilations: [1, d[1]], group: rank);
            return [AddConv(gr, Stage(node, "cp", "pw2"), h, w2, ins.Count > 2 ? ins[2] : null, wp.Trainable)];
        });
        return new LowRankLayerReport(node.Name, requested, LayerRank.Cp(rank), before.Params, ParamsOf(added), before.Macs,
            MacsPerSample(added), cp.RelativeError, added.Select(n => n.Name).ToArray(), note);
    }
}

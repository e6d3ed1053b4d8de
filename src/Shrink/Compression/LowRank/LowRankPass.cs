using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Compression.LowRank;

/// <summary>
/// What a pass did to one layer: the rank asked for and the factorisation applied (they differ when a rank was clamped
/// to the layer's maximum or CP fell back to Tucker-2), parameters and MACs per sample before and after (MACs −1 when
/// the spatial size is unknown), the relative reconstruction error of the weight, and the nodes that replaced it.
/// </summary>
public sealed record LowRankLayerReport(
    string Node,
    LayerRank Requested,
    LayerRank Applied,
    long ParamsBefore,
    long ParamsAfter,
    long MacsBefore,
    long MacsAfter,
    double RelativeError,
    IReadOnlyList<string> NewNodes,
    string? Note = null)
{
    public double ParamsRatio => ParamsAfter == 0 ? double.PositiveInfinity : (double)ParamsBefore / ParamsAfter;

    public override string ToString() =>
        $"{Node}: {Applied} params {ParamsBefore}→{ParamsAfter}, MACs {MacsBefore}→{MacsAfter}, error {RelativeError:G3}" +
        (Note is null ? "" : $" ({Note})");
}

/// <summary>A plan entry a pass left alone, and why.</summary>
public sealed record DeclinedNode(string Node, string Reason);

/// <summary>The outcome of a pass: <see cref="Modified"/> is true when at least one layer was rewritten.</summary>
public sealed record LowRankPassResult(bool Modified, IReadOnlyList<LowRankLayerReport> Layers, IReadOnlyList<DeclinedNode> Declined)
{
    public static LowRankPassResult Merge(params LowRankPassResult[] results) =>
        new(results.Any(r => r.Modified), results.SelectMany(r => r.Layers).ToArray(), results.SelectMany(r => r.Declined).ToArray());
}

/// <summary>
/// Base of the low-rank graph passes, shaped like ONNX Runtime's graph transformers: the public <see cref="Apply"/> walks
/// the plan entries this pass handles, runs the cheap applicability check (<see cref="WhyNot"/>) and either declines the
/// node (recorded with the reason) or rewrites it in place through <see cref="Graph.Graph.ReplaceNode"/>, initialising the
/// new layers from a decomposition of the trained weight. The replacement's output keeps the old output name, so
/// downstream nodes and graph outputs are untouched.
/// </summary>
public abstract class LowRankPass
{
    protected LowRankPass(LowRankPlan plan) => Plan = plan ?? throw new ArgumentNullException(nameof(plan));

    public LowRankPlan Plan { get; }

    public abstract string Name { get; }

    /// <summary>Rewrites, in place, every node of <paramref name="graph"/> whose plan entry this pass handles.</summary>
    public LowRankPassResult Apply(Graph.Graph graph)
    {
        var layers = new List<LowRankLayerReport>();
        var declined = new List<DeclinedNode>();
        foreach (var (name, rank) in Plan.Layers)
        {
            if (!Handles(rank.Method)) continue;
            var node = graph.FindNode(name);
            if (node is null)
            {
                declined.Add(new DeclinedNode(name, $"graph '{graph.Name}' has no node named '{name}'"));
                continue;
            }
            if (WhyNot(node, rank) is { } reason)
            {
                declined.Add(new DeclinedNode(name, $"{node.Describe()}: {reason}"));
                continue;
            }
            layers.Add(Rewrite(graph, node, rank));
        }
        return new LowRankPassResult(layers.Count > 0, layers, declined);
    }

    /// <summary>Whether plan entries of this method are this pass's business.</summary>
    protected abstract bool Handles(LowRankMethod method);

    /// <summary>Null when <paramref name="node"/> can be rewritten; otherwise the reason it is declined. Cheap.</summary>
    protected abstract string? WhyNot(Node node, LayerRank rank);

    /// <summary>Replaces <paramref name="node"/> by its factorisation and reports on it.</summary>
    protected abstract LowRankLayerReport Rewrite(Graph.Graph graph, Node node, LayerRank rank);

    // ---- shared by the conv passes ----

    /// <summary>Null when <paramref name="node"/> is a group-1 Conv with a stored 4-D weight over an NCHW input.</summary>
    internal static string? WhyNotConv(Node node)
    {
        if (node.Op is not Conv conv) return "not a Conv";
        if (conv.Group != 1) return $"grouped conv (group={conv.Group}) is not factorised";
        if (node.ParameterInput(1) is not { } w) return "the weight is computed, not a stored parameter";
        if (w.Shape.Rank != 4) return $"weight {w.Shape} is not 4-D";
        if (node.Inputs[0].Shape.Rank != 4) return $"input {node.Inputs[0].Shape} is not NCHW";
        return null;
    }

    internal static ConvGeometry Geometry(Node node)
    {
        var w = node.Inputs[1].Shape;
        var x = node.Inputs[0].Shape;
        var y = node.Outputs[0].Shape;
        return new ConvGeometry(w[0], w[1], w[2], w[3], x[2], x[3], y[2], y[3]);
    }

    /// <summary>Adds Conv <paramref name="name"/> over <paramref name="x"/> with a new parameter "{name}.weight".</summary>
    internal static Value AddConv(Graph.Graph g, string name, Value x, Tensor weight, Value? bias, bool trainable,
        int[]? strides = null, int[]? pads = null, int[]? dilations = null, int group = 1)
    {
        string nodeName = g.UniqueNodeName(name);
        var w = g.AddParameter($"{nodeName}.weight", weight, trainable);
        var op = new Conv
        {
            Strides = strides ?? [1, 1],
            Pads = pads ?? [0, 0, 0, 0],
            Dilations = dilations ?? [1, 1],
            Group = group,
        };
        Value[] inputs = bias is null ? [x, w] : [x, w, bias];
        return g.AddNode(op, inputs, nodeName).Outputs[0];
    }

    /// <summary>Parameter elements read by <paramref name="nodes"/>, each parameter once.</summary>
    internal static long ParamsOf(IEnumerable<Node> nodes)
    {
        var seen = new HashSet<Parameter>();
        long n = 0;
        foreach (var node in nodes)
            foreach (var v in node.Inputs)
                if (v.Parameter is { } p && seen.Add(p)) n += p.Data.Length;
        return n;
    }

    /// <summary>
    /// MACs of one sample through <paramref name="nodes"/> (a chain), from each operator's own count with the batch
    /// dimension set to 1; −1 when another dimension is unknown.
    /// </summary>
    internal static long MacsPerSample(IEnumerable<Node> nodes)
    {
        long total = 0;
        foreach (var node in nodes)
        {
            var ins = node.Inputs.Select(v => v.Parameter is null && v.Shape.Rank > 0 && v.Shape[0] == Shape.Dynamic ? v.Shape.WithBatch(1) : v.Shape).ToArray();
            if (ins.Any(s => !s.IsConcrete)) return -1;
            var outs = node.Op.InferShapes(ins);
            total += node.Op.Macs(ins, outs);
        }
        return total;
    }

    internal static string Stage(Node node, string method, string part) => $"{node.Name}.{method}.{part}";

    /// <summary>
    /// A 1x1 conv (any stride/padding) as two 1x1 convs by truncated SVD of W[out, in]: pw1 = √S·Vᵀ carries the stride
    /// and padding, pw2 = U·√S carries the bias.
    /// </summary>
    internal static LowRankLayerReport RewritePointwiseSvd(Graph.Graph graph, Node node, LayerRank requested, int rank, string? note)
    {
        var conv = (Conv)node.Op;
        var g = Geometry(node);
        var wp = node.ParameterInput(1)!;
        int max = Math.Min(g.In, g.Out);
        if (rank > max)
        {
            note = Join(note, $"rank {rank} clamped to {max}");
            rank = max;
        }
        var before = (Params: ParamsOf([node]), Macs: MacsPerSample([node]));
        var svd = TruncatedSvd.Decompose(wp.Data.Reshape(new Shape(g.Out, g.In)), rank);
        var w1 = new Tensor(new Shape(rank, g.In, 1, 1));
        var w2 = new Tensor(new Shape(g.Out, rank, 1, 1));
        for (int r = 0; r < rank; r++)
        {
            double root = Math.Sqrt(svd.S[r]);
            for (int c = 0; c < g.In; c++) w1[r * g.In + c] = (float)(root * svd.V[c, r]);
            for (int o = 0; o < g.Out; o++) w2[o * rank + r] = (float)(root * svd.U[o, r]);
        }
        var added = graph.ReplaceNode(node, (gr, ins) =>
        {
            var h = AddConv(gr, Stage(node, "svd", "pw1"), ins[0], w1, null, wp.Trainable, conv.Strides, conv.Pads, conv.Dilations);
            return [AddConv(gr, Stage(node, "svd", "pw2"), h, w2, ins.Count > 2 ? ins[2] : null, wp.Trainable)];
        });
        return new LowRankLayerReport(node.Name, requested, LayerRank.Svd(rank), before.Params, ParamsOf(added), before.Macs,
            MacsPerSample(added), svd.RelativeError, added.Select(n => n.Name).ToArray(), note);
    }

    internal static string? Join(string? a, string b) => a is null ? b : $"{a}; {b}";
}

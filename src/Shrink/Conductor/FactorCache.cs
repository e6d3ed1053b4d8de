using Shrink.Compression.LowRank;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Conductor;

/// <summary>
/// Factorisations of the original model's layers, computed once per (layer, rank) by the low-rank passes and replayed
/// into any composition: a cached entry records the nodes that replaced the layer (operators, names, new parameters and
/// wiring) so that composing a plan never decomposes a weight twice. Not thread-safe.
/// </summary>
public sealed class FactorCache
{
    private readonly Graph.Graph _original;
    private readonly CpConvOptions? _cpOptions;
    private readonly Dictionary<(string, LayerRank), Entry> _entries = [];

    public FactorCache(Graph.Graph original, CpConvOptions? cpOptions = null)
    {
        _original = original;
        _cpOptions = cpOptions;
    }

    public Graph.Graph Original => _original;

    public int Count => _entries.Count;

    /// <summary>The report of <paramref name="layer"/> factorised at <paramref name="rank"/> (decomposing it on first use).</summary>
    public LowRankLayerReport Report(string layer, LayerRank rank) => Get(layer, rank).Report;

    /// <summary>A copy of the original model with every layer of <paramref name="plan"/> replaced by its cached factorisation.</summary>
    public (Graph.Graph Graph, IReadOnlyList<LowRankLayerReport> Layers) Compose(IReadOnlyDictionary<string, LayerRank> plan)
    {
        var g = _original.Clone();
        var reports = new List<LowRankLayerReport>();
        foreach (var (layer, rank) in plan.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var entry = Get(layer, rank);
            var node = g.FindNode(layer) ?? throw new InvalidGraphException($"Graph '{g.Name}' has no node '{layer}' to factorise.");
            if (entry.Nodes.Count == 0) continue; // declined: left as it is
            g.ReplaceNode(node, (gr, ins) =>
            {
                var made = new List<Value>();
                foreach (var n in entry.Nodes)
                {
                    var inputs = n.Inputs.Select(r => r.Kind switch
                    {
                        RefKind.OriginalInput => ins[r.Index],
                        RefKind.NewNode => made[r.Index],
                        _ => gr.AddParameter(r.ParameterName!, r.Tensor!.Clone(), r.Trainable),
                    }).ToArray();
                    made.Add(gr.AddNode(n.Op, inputs, n.Name).Outputs[0]);
                }
                return [made[^1]];
            });
            reports.Add(entry.Report);
        }
        return (g, reports);
    }

    private Entry Get(string layer, LayerRank rank)
    {
        if (_entries.TryGetValue((layer, rank), out var cached)) return cached;
        var g = _original.Clone();
        var node = g.FindNode(layer) ?? throw new InvalidGraphException($"Graph '{g.Name}' has no node '{layer}' to factorise.");
        var originalInputs = node.Inputs.Select(v => v.Name).ToArray();
        var result = LowRankPasses.Apply(g, new LowRankPlan().Set(layer, rank), _cpOptions);
        if (result.Layers.Count == 0)
        {
            string why = result.Declined.Count > 0 ? result.Declined[0].Reason : "not handled by the low-rank passes";
            throw new ShrinkException($"Layer '{layer}' cannot be factorised as {rank}: {why}.");
        }
        var report = result.Layers[0];
        var nodes = new List<CachedNode>();
        var index = new Dictionary<Value, int>();
        foreach (string name in report.NewNodes)
        {
            var n = g.FindNode(name)!;
            var refs = new List<InputRef>();
            foreach (var v in n.Inputs)
            {
                if (index.TryGetValue(v, out int k)) refs.Add(new InputRef(RefKind.NewNode, k, null, null, false));
                else if (Array.IndexOf(originalInputs, v.Name) is int j and >= 0) refs.Add(new InputRef(RefKind.OriginalInput, j, null, null, false));
                else if (v.Parameter is { } p) refs.Add(new InputRef(RefKind.NewParameter, -1, p.Name, p.Data.Clone(), p.Trainable));
                else throw new InvalidGraphException($"Factorisation of '{layer}': input '{v.Name}' of node '{n.Name}' is neither the layer's input nor a new parameter.");
            }
            index[n.Outputs[0]] = nodes.Count;
            nodes.Add(new CachedNode(n.Name, n.Op, refs));
        }
        var entry = new Entry(report, nodes);
        _entries[(layer, rank)] = entry;
        return entry;
    }

    private enum RefKind { OriginalInput, NewNode, NewParameter }

    private sealed record InputRef(RefKind Kind, int Index, string? ParameterName, Tensor? Tensor, bool Trainable);

    private sealed record CachedNode(string Name, Operator Op, IReadOnlyList<InputRef> Inputs);

    private sealed record Entry(LowRankLayerReport Report, IReadOnlyList<CachedNode> Nodes);
}

using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Execution;

/// <summary>
/// Inference: runs a graph in evaluation mode, returning each intermediate tensor to the pool as soon as its last
/// reader has run. Build once per graph and reuse; not thread-safe.
/// </summary>
public sealed class Executor
{
    private readonly Graph.Graph _graph;
    private readonly List<Node> _order;
    private readonly Dictionary<Value, int> _lastUse = [];

    public Executor(Graph.Graph graph)
    {
        _graph = graph;
        _order = graph.TopologicalOrder();
        for (int i = 0; i < _order.Count; i++)
            foreach (var v in _order[i].Inputs) _lastUse[v] = i;
    }

    public Graph.Graph Graph => _graph;

    /// <summary>Runs the graph; returns one new tensor per graph output (owned by the caller).</summary>
    public Tensor[] Run(params Tensor[] inputs)
    {
        if (inputs.Length != _graph.Inputs.Count)
            throw new ArgumentException($"Graph '{_graph.Name}' takes {_graph.Inputs.Count} inputs, got {inputs.Length}.");
        var live = new Dictionary<Value, Tensor>();
        var outputs = new HashSet<Value>(_graph.Outputs);
        for (int i = 0; i < inputs.Length; i++)
        {
            var v = _graph.Inputs[i];
            if (!inputs[i].Shape.IsCompatibleWith(v.Shape))
                throw new ShapeMismatchException($"Input '{v.Name}' expects shape {v.Shape}, got {inputs[i].Shape}.");
            live[v] = inputs[i];
        }
        var ctx = new OpContext(training: false);
        try
        {
            for (int n = 0; n < _order.Count; n++)
            {
                var node = _order[n];
                var ins = new Tensor[node.Inputs.Count];
                for (int i = 0; i < ins.Length; i++)
                {
                    var v = node.Inputs[i];
                    ins[i] = v.Parameter?.Data ?? live[v];
                }
                var timer = Profiling.OpTimer.Active;
                long t0 = timer is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                var outs = Tape.RunNode(node, ctx, ins);
                timer?.Add(node.Name, node.OpType, "forward", t0);
                ctx.Dispose();
                for (int i = 0; i < outs.Length; i++) live[node.Outputs[i]] = outs[i];
                foreach (var v in node.Inputs.Distinct())
                    if (v.Parameter is null && _lastUse[v] == n && !outputs.Contains(v) && v.Producer is not null)
                    {
                        live[v].Dispose();
                        live.Remove(v);
                    }
            }
            var result = new Tensor[_graph.Outputs.Count];
            for (int i = 0; i < result.Length; i++)
            {
                var v = _graph.Outputs[i];
                result[i] = (v.Parameter?.Data ?? live[v]).Clone();
            }
            return result;
        }
        finally
        {
            foreach (var (v, t) in live)
                if (v.Producer is not null) t.Dispose();
        }
    }

    /// <summary>Single-input, single-output convenience.</summary>
    public Tensor Run(Tensor input) => Run([input])[0];
}

using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Execution;

/// <summary>
/// Inference: runs a graph in evaluation mode through its <see cref="InferencePlan"/> (batch norm folded into convs,
/// activations fused, buffers reused by liveness, views for reshapes), built on the first run and cached per input
/// shape. The plan snapshots folded weights: create a new executor after changing the parameters. Build once per
/// graph and reuse; not thread-safe.
/// </summary>
public sealed class Executor
{
    private readonly Graph.Graph _graph;
    private InferencePlan? _plan;

    public Executor(Graph.Graph graph)
    {
        _graph = graph;
    }

    public Graph.Graph Graph => _graph;

    /// <summary>The plan (built on first use).</summary>
    public InferencePlan Plan => _plan ??= new InferencePlan(_graph);

    /// <summary>Runs the graph; returns one new tensor per graph output (owned by the caller).</summary>
    public Tensor[] Run(params Tensor[] inputs)
    {
        if (inputs.Length != _graph.Inputs.Count)
            throw new ArgumentException($"Graph '{_graph.Name}' takes {_graph.Inputs.Count} inputs, got {inputs.Length}.");
        var shapes = new Shape[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var v = _graph.Inputs[i];
            if (!inputs[i].Shape.IsCompatibleWith(v.Shape))
                throw new ShapeMismatchException($"Input '{v.Name}' expects shape {v.Shape}, got {inputs[i].Shape}.");
            shapes[i] = inputs[i].Shape;
        }
        return Plan.For(shapes).Run(inputs);
    }

    /// <summary>Single-input, single-output convenience.</summary>
    public Tensor Run(Tensor input) => Run([input])[0];
}

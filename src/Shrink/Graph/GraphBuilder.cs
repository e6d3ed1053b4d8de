using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Graph;

/// <summary>
/// Writes models in a few readable lines: each layer method adds its node and freshly initialised parameters
/// (PyTorch's default initialisations, from the builder's seeded RNG) and returns the output value.
/// Node and parameter names follow PyTorch's module paths when layers are wrapped in <see cref="Scope"/>.
/// <code>
/// var b = new GraphBuilder("lenet5", seed: 0);
/// var x = b.Input(1, 28, 28);
/// x = b.MaxPool2d(b.Relu(b.Conv2d(x, 6, kernel: 5, padding: 2)), 2);
/// ...
/// Graph g = b.Build(b.Linear(x, 10));
/// </code>
/// </summary>
public sealed partial class GraphBuilder
{
    private readonly Stack<string> _scopes = new();
    private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);

    public GraphBuilder(string name = "model", int seed = 0)
    {
        Graph = new Graph(name);
        Rng = new Random(seed);
    }

    public Graph Graph { get; }
    public Random Rng { get; }

    /// <summary>A graph input with a dynamic batch dimension and the given per-sample shape (e.g. C, H, W).</summary>
    public Value Input(params int[] perSample) => Input("input", new Shape([Shape.Dynamic, .. perSample]));

    public Value Input(string name, Shape shape) => Graph.AddInput(name, shape);

    /// <summary>Names nodes and parameters created inside the scope "prefix.layer" (disposing ends the scope).</summary>
    public IDisposable Scope(string name)
    {
        _scopes.Push(name);
        return new ScopeExit(this);
    }

    /// <summary>Adds a node for <paramref name="op"/> over <paramref name="inputs"/> and returns its single output.</summary>
    public Value Apply(Operator op, params Value[] inputs) => ApplyNode(op, null, inputs).Outputs[0];

    /// <summary>Adds a node named (within the current scope) <paramref name="name"/> or after the op type.</summary>
    public Node ApplyNode(Operator op, string? name, params Value[] inputs) =>
        Graph.AddNode(op, inputs, NextName(name ?? op.OpType.ToLowerInvariant(), numbered: name is null));

    /// <summary>A parameter named "{layer}.{suffix}" holding <paramref name="data"/>.</summary>
    public Value Parameter(string layer, string suffix, Tensor data, bool trainable = true) =>
        Graph.AddParameter($"{layer}.{suffix}", data, trainable);

    /// <summary>Marks the graph outputs and returns the (verified) graph.</summary>
    public Graph Build(params Value[] outputs)
    {
        foreach (var o in outputs) Graph.AddOutput(o);
        Graph.Verify();
        return Graph;
    }

    /// <summary>Scoped name for a new layer: "layer1.0.conv1" style; numbered names get a counter ("conv3").</summary>
    public string NextName(string baseName, bool numbered = true)
    {
        string prefix = _scopes.Count == 0 ? "" : string.Join('.', _scopes.Reverse()) + ".";
        if (!numbered) return prefix + baseName;
        string key = prefix + baseName;
        int n = _counters.TryGetValue(key, out int c) ? c + 1 : 1;
        _counters[key] = n;
        return $"{prefix}{baseName}{n}";
    }

    private sealed class ScopeExit(GraphBuilder builder) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            builder._scopes.Pop();
        }
    }
}

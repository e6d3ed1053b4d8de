using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Graph;

/// <summary>
/// The model: a DAG of <see cref="Node"/>s over <see cref="Value"/>s. Graph inputs and parameters are values with
/// no producer. <see cref="Nodes"/> is kept in a topological order by every editing method here.
/// </summary>
public sealed partial class Graph
{
    private readonly List<Node> _nodes = [];
    private readonly List<Value> _inputs = [];
    private readonly List<Value> _outputs = [];
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);

    public Graph(string name = "model") => Name = name;

    public string Name { get; set; }
    public IReadOnlyList<Node> Nodes => _nodes;
    public IReadOnlyList<Value> Inputs => _inputs;
    public IReadOnlyList<Value> Outputs => _outputs;
    public IEnumerable<Value> Values => _values.Values;

    /// <summary>Every parameter, each once, in order of first use.</summary>
    public IEnumerable<Parameter> Parameters
    {
        get
        {
            var seen = new HashSet<Parameter>();
            foreach (var node in _nodes)
                foreach (var v in node.Inputs)
                    if (v.Parameter is { } p && seen.Add(p)) yield return p;
        }
    }

    public IEnumerable<Parameter> TrainableParameters => Parameters.Where(p => p.Trainable);

    public long ParameterCount => Parameters.Sum(p => (long)p.Data.Length);

    public Value this[string valueName] =>
        _values.TryGetValue(valueName, out var v) ? v : throw new KeyNotFoundException($"No value named '{valueName}' in graph '{Name}'.");

    public bool TryGetValue(string name, out Value value) => _values.TryGetValue(name, out value!);

    public Node? FindNode(string name) => _nodes.Find(n => n.Name == name);

    // ---- construction ----

    public Value AddInput(string name, Shape shape)
    {
        var v = NewValue(name, shape);
        _inputs.Add(v);
        return v;
    }

    public Value AddParameter(string name, Tensor data, bool trainable = true) => AddParameter(new Parameter(name, data, trainable));

    public Value AddParameter(Parameter parameter)
    {
        var v = NewValue(parameter.Name, parameter.Shape);
        parameter.Name = v.Name;
        v.Parameter = parameter;
        return v;
    }

    /// <summary>
    /// Appends a node computing <paramref name="op"/> over <paramref name="inputs"/>, infers its output shapes and
    /// returns it. Throws <see cref="ShapeMismatchException"/> naming the node, the operator and the shapes.
    /// </summary>
    public Node AddNode(Operator op, IReadOnlyList<Value> inputs, string? name = null, IReadOnlyList<string>? outputNames = null)
    {
        var node = new Node(UniqueNodeName(name ?? op.OpType.ToLowerInvariant()), op);
        var shapes = InferNodeShapes(node, op, inputs.Select(v => v.Shape).ToArray());
        foreach (var input in inputs)
        {
            if (!_values.TryGetValue(input.Name, out var known) || known != input)
                throw new InvalidGraphException($"{node.Describe()}: input '{input.Name}' does not belong to graph '{Name}'.");
        }
        _nodeNames.Add(node.Name);
        foreach (var input in inputs)
        {
            node._inputs.Add(input);
            input._consumers.Add(node);
        }
        for (int i = 0; i < shapes.Length; i++)
        {
            string outName = outputNames is not null && i < outputNames.Count ? outputNames[i]
                : shapes.Length == 1 ? node.Name : $"{node.Name}:{i}";
            var v = NewValue(outName, shapes[i]);
            v.Producer = node;
            node._outputs.Add(v);
        }
        _nodes.Add(node);
        return node;
    }

    public void AddOutput(Value value)
    {
        if (!_values.ContainsKey(value.Name)) throw new InvalidGraphException($"Output '{value.Name}' does not belong to graph '{Name}'.");
        _outputs.Add(value);
    }

    /// <summary>A value name not yet used in the graph, starting from <paramref name="prefix"/>.</summary>
    public string UniqueValueName(string prefix)
    {
        if (!_values.ContainsKey(prefix)) return prefix;
        for (int i = 1; ; i++)
            if (!_values.ContainsKey($"{prefix}_{i}")) return $"{prefix}_{i}";
    }

    public string UniqueNodeName(string prefix)
    {
        if (!_nodeNames.Contains(prefix) && !_values.ContainsKey(prefix)) return prefix;
        for (int i = 1; ; i++)
        {
            string n = $"{prefix}_{i}";
            if (!_nodeNames.Contains(n) && !_values.ContainsKey(n)) return n;
        }
    }

    private Value NewValue(string name, Shape shape)
    {
        var v = new Value(UniqueValueName(name), shape);
        _values.Add(v.Name, v);
        return v;
    }

    internal static Shape[] InferNodeShapes(Node node, Operator op, Shape[] inputShapes)
    {
        var (min, max) = op.InputArity;
        if (inputShapes.Length < min || inputShapes.Length > max)
            throw new InvalidGraphException(
                $"{node.Describe()}: takes {(min == max ? min.ToString() : $"{min} to {max}")} inputs, got {inputShapes.Length}.");
        try
        {
            return op.InferShapes(inputShapes);
        }
        catch (ShapeMismatchException e)
        {
            throw new ShapeMismatchException($"{node.Describe()}: {e.Message}", e);
        }
    }

    // ---- analysis ----

    /// <summary>Nodes in dependency order (Kahn's algorithm, stable). Throws <see cref="InvalidGraphException"/> on a cycle.</summary>
    public List<Node> TopologicalOrder()
    {
        var pending = new Dictionary<Node, int>();
        foreach (var n in _nodes) pending[n] = n.Inputs.Count(v => v.Producer is not null);
        var ready = new Queue<Node>(_nodes.Where(n => pending[n] == 0));
        var order = new List<Node>(_nodes.Count);
        while (ready.Count > 0)
        {
            var n = ready.Dequeue();
            order.Add(n);
            foreach (var o in n.Outputs)
                foreach (var c in o.Consumers)
                    if (pending.ContainsKey(c) && --pending[c] == 0) ready.Enqueue(c);
        }
        if (order.Count != _nodes.Count)
        {
            var stuck = _nodes.Where(n => pending[n] > 0).Select(n => n.Name).Take(5);
            throw new InvalidGraphException($"Graph '{Name}' has a cycle through nodes {string.Join(", ", stuck)}.");
        }
        return order;
    }

    /// <summary>
    /// Re-runs shape inference over the graph from its input and parameter shapes (after an edit, or to change the
    /// input shape). Throws <see cref="ShapeMismatchException"/> naming the first node that does not fit.
    /// </summary>
    public void InferShapes()
    {
        foreach (var node in TopologicalOrder())
        {
            var shapes = InferNodeShapes(node, node.Op, node.Inputs.Select(v => v.Shape).ToArray());
            for (int i = 0; i < shapes.Length; i++) node._outputs[i].Shape = shapes[i];
        }
    }

    /// <summary>Sets the input's shape (e.g. a concrete batch) and re-infers every shape.</summary>
    public void SetInputShape(int index, Shape shape)
    {
        _inputs[index].Shape = shape;
        InferShapes();
    }

    public override string ToString() => $"Graph '{Name}': {_nodes.Count} nodes, {ParameterCount} parameters";
}

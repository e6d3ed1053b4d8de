using Shrink.Tensors;

namespace Shrink.Graph;

public sealed partial class Graph
{
    /// <summary>
    /// Replaces <paramref name="node"/> by a subgraph. <paramref name="build"/> receives the graph and the node's inputs,
    /// adds its nodes (and parameters) with <see cref="AddNode"/>, and returns the values that take the place of the
    /// node's outputs, in order. Consumers and graph outputs are rewired, the new outputs take the old output
    /// names, the new nodes take the old node's place in the order, and parameters nobody reads any more are dropped.
    /// Returns the nodes added.
    /// </summary>
    public IReadOnlyList<Node> ReplaceNode(Node node, Func<Graph, IReadOnlyList<Value>, IReadOnlyList<Value>> build)
    {
        int index = _nodes.IndexOf(node);
        if (index < 0) throw new InvalidGraphException($"{node.Describe()} is not in graph '{Name}'.");
        int before = _nodes.Count;
        IReadOnlyList<Value> replacements;
        try
        {
            replacements = build(this, node.Inputs.ToArray());
            if (replacements.Count != node.Outputs.Count)
                throw new InvalidGraphException($"Replacement for {node.Describe()} returned {replacements.Count} values for {node.Outputs.Count} outputs.");
            for (int i = 0; i < replacements.Count; i++)
                if (!replacements[i].Shape.IsCompatibleWith(node.Outputs[i].Shape))
                    throw new ShapeMismatchException($"Replacement for {node.Describe()} produces {replacements[i].Shape} where {node.Outputs[i].Shape} was expected.");
        }
        catch
        {
            // Leave the graph as it was: drop whatever the builder added before it failed or was rejected.
            foreach (var n in _nodes.GetRange(before, _nodes.Count - before).AsEnumerable().Reverse()) Detach(n);
            RemoveUnusedValues();
            throw;
        }
        var added = _nodes.GetRange(before, _nodes.Count - before);
        for (int i = 0; i < replacements.Count; i++) RedirectConsumers(node.Outputs[i], replacements[i]);
        _nodes.RemoveRange(before, added.Count);
        Detach(node);
        _nodes.InsertRange(index, added);
        for (int i = 0; i < replacements.Count; i++) Rename(replacements[i], node.Outputs[i].Name);
        RemoveUnusedValues();
        return added;
    }

    /// <summary>
    /// Removes a pass-through node (Identity, Dropout at inference...): readers of its output read its first input
    /// instead. The first input must have the output's shape.
    /// </summary>
    public void RemoveNode(Node node)
    {
        if (!_nodes.Contains(node)) throw new InvalidGraphException($"{node.Describe()} is not in graph '{Name}'.");
        if (node.Outputs.Count != 1 || node.Inputs.Count == 0)
            throw new InvalidGraphException($"Cannot remove {node.Describe()}: only single-output nodes with an input can be bypassed.");
        var input = node.Inputs[0];
        var output = node.Outputs[0];
        if (!input.Shape.IsCompatibleWith(output.Shape))
            throw new ShapeMismatchException($"Cannot bypass {node.Describe()}: input {input.Shape} differs from output {output.Shape}.");
        bool isGraphOutput = _outputs.Contains(output);
        RedirectConsumers(output, input);
        Detach(node);
        if (isGraphOutput && input.Producer is not null && !_inputs.Contains(input)) Rename(input, output.Name);
        RemoveUnusedValues();
    }

    /// <summary>Makes every reader of <paramref name="from"/> (and the graph outputs) read <paramref name="to"/>.</summary>
    public void RedirectConsumers(Value from, Value to)
    {
        foreach (var consumer in from._consumers.ToArray())
        {
            for (int j = 0; j < consumer._inputs.Count; j++)
                if (consumer._inputs[j] == from)
                {
                    consumer._inputs[j] = to;
                    to._consumers.Add(consumer);
                }
        }
        from._consumers.Clear();
        for (int i = 0; i < _outputs.Count; i++)
            if (_outputs[i] == from) _outputs[i] = to;
    }

    /// <summary>Drops values that nothing produces or reads and that are not graph inputs or outputs (e.g. orphaned parameters).</summary>
    public void RemoveUnusedValues()
    {
        foreach (var v in _values.Values.ToArray())
        {
            if (v._consumers.Count > 0 || _inputs.Contains(v) || _outputs.Contains(v)) continue;
            if (v.Producer is not null && _nodes.Contains(v.Producer)) continue;
            _values.Remove(v.Name);
        }
    }

    /// <summary>Gives <paramref name="value"/> a new name (if free or freed), keeping the name table consistent.</summary>
    public void Rename(Value value, string name)
    {
        if (value.Name == name) return;
        if (_values.TryGetValue(name, out var other) && other != value)
        {
            bool stale = other._consumers.Count == 0 && (other.Producer is null || !_nodes.Contains(other.Producer))
                         && !_inputs.Contains(other) && !_outputs.Contains(other);
            if (!stale) throw new InvalidGraphException($"Cannot rename '{value.Name}' to '{name}': the name is in use.");
            _values.Remove(name);
        }
        _values.Remove(value.Name);
        value.Name = name;
        if (value.Parameter is { } p) p.Name = name;
        _values.Add(name, value);
    }

    private void Detach(Node node)
    {
        foreach (var input in node._inputs) input._consumers.Remove(node);
        _nodes.Remove(node);
        _nodeNames.Remove(node.Name);
        foreach (var o in node._outputs) o.Producer = null;
    }

    /// <summary>
    /// A deep copy: new nodes and values with the same names, operators shared (they are immutable), parameter tensors
    /// copied (gradients are not).
    /// </summary>
    public Graph Clone()
    {
        var g = new Graph(Name);
        var map = new Dictionary<Value, Value>();
        foreach (var v in _inputs) map[v] = g.AddInput(v.Name, v.Shape);
        foreach (var node in _nodes)
        {
            foreach (var v in node.Inputs)
                if (v.Parameter is { } p && !map.ContainsKey(v))
                    map[v] = g.AddParameter(new Parameter(p.Name, p.Data.Clone(), p.Trainable));
            var copy = g.AddNode(node.Op, node.Inputs.Select(v => map[v]).ToArray(), node.Name, node.Outputs.Select(o => o.Name).ToArray());
            for (int i = 0; i < copy.Outputs.Count; i++) map[node.Outputs[i]] = copy.Outputs[i];
        }
        foreach (var v in _outputs) g.AddOutput(map[v]);
        return g;
    }

    /// <summary>
    /// The part of this graph that computes the values named <paramref name="outputs"/> from the values named
    /// <paramref name="inputs"/> (graph inputs or values computed inside): a new graph with those inputs and outputs (same
    /// names and shapes) and the nodes between them, in this graph's order. Parameters are shared, not copied. Throws
    /// <see cref="InvalidGraphException"/> when an output needs a value that is neither given nor computed.
    /// </summary>
    public Graph Subgraph(IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        var g = new Graph(Name);
        var map = new Dictionary<Value, Value>();
        foreach (var name in inputs) map[this[name]] = g.AddInput(name, this[name].Shape);
        var needed = new HashSet<Node>();
        var pending = new Stack<Value>(outputs.Select(name => this[name]));
        while (pending.TryPop(out var v))
        {
            if (map.ContainsKey(v) || v.IsParameter) continue;
            var producer = v.Producer ?? throw new InvalidGraphException($"A subgraph of '{Name}' needs '{v.Name}', which is neither given nor computed.");
            if (needed.Add(producer)) foreach (var x in producer.Inputs) pending.Push(x);
        }
        foreach (var node in _nodes.Where(needed.Contains))
        {
            foreach (var v in node.Inputs)
                if (v.Parameter is { } p && !map.ContainsKey(v)) map[v] = g.AddParameter(p);
            var copy = g.AddNode(node.Op, node.Inputs.Select(v => map[v]).ToArray(), node.Name, node.Outputs.Select(o => o.Name).ToArray());
            for (int i = 0; i < copy.Outputs.Count; i++) map[node.Outputs[i]] = copy.Outputs[i];
        }
        foreach (var name in outputs) g.AddOutput(map[this[name]]);
        return g;
    }

    /// <summary>
    /// Checks structure: unique names, every node input known and produced earlier (so no cycles), producer and
    /// consumer links consistent, outputs produced, parameters concrete, and shapes re-inferable. Throws
    /// <see cref="InvalidGraphException"/> or <see cref="ShapeMismatchException"/> naming the culprit.
    /// </summary>
    public void Verify()
    {
        if (_outputs.Count == 0) throw new InvalidGraphException($"Graph '{Name}' has no outputs.");
        var available = new HashSet<Value>(_inputs);
        var nodeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in _nodes)
        {
            if (!nodeNames.Add(node.Name)) throw new InvalidGraphException($"Two nodes are named '{node.Name}'.");
            foreach (var input in node.Inputs)
            {
                if (!_values.TryGetValue(input.Name, out var known) || known != input)
                    throw new InvalidGraphException($"{node.Describe()} reads '{input.Name}', which is not in the graph (dangling value).");
                if (input.Parameter is null && !available.Contains(input))
                    throw new InvalidGraphException(input.Producer is null
                        ? $"{node.Describe()} reads '{input.Name}', which no node produces and is neither an input nor a parameter (dangling value)."
                        : $"{node.Describe()} reads '{input.Name}' before {input.Producer.Describe()} computes it (cycle or misordered nodes).");
                if (!input._consumers.Contains(node))
                    throw new InvalidGraphException($"'{input.Name}' does not list {node.Describe()} among its readers.");
            }
            foreach (var o in node.Outputs)
            {
                if (o.Producer != node) throw new InvalidGraphException($"'{o.Name}' does not name {node.Describe()} as producer.");
                if (!available.Add(o)) throw new InvalidGraphException($"'{o.Name}' is produced twice.");
            }
        }
        foreach (var o in _outputs)
            if (!available.Contains(o) && o.Parameter is null)
                throw new InvalidGraphException($"Graph output '{o.Name}' is not computed by any node (dangling value).");
        foreach (var p in Parameters)
            if (!p.Shape.IsConcrete) throw new InvalidGraphException($"Parameter '{p.Name}' has non-concrete shape {p.Shape}.");
        foreach (var node in _nodes)
        {
            var shapes = InferNodeShapes(node, node.Op, node.Inputs.Select(v => v.Shape).ToArray());
            for (int i = 0; i < shapes.Length; i++)
                if (!shapes[i].IsCompatibleWith(node.Outputs[i].Shape))
                    throw new ShapeMismatchException($"{node.Describe()}: output '{node.Outputs[i].Name}' is recorded as {node.Outputs[i].Shape} but infers to {shapes[i]}.");
        }
    }
}

using Shrink.Graph;
using Shrink.Onnx.Proto;

namespace Shrink.Onnx;

/// <summary>What a mapping uses to write ONNX: fresh names, int/float initializers and node protos.</summary>
internal sealed class ExportContext
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names;

    internal ExportContext(GraphProto graph, HashSet<string> usedNames)
    {
        _graph = graph;
        _names = usedNames;
    }

    /// <summary>A name not used by any value, initializer or node of the model yet (and now reserved).</summary>
    public string FreshName(string prefix)
    {
        if (_names.Add(prefix)) return prefix;
        for (int i = 1; ; i++)
            if (_names.Add($"{prefix}_{i}")) return $"{prefix}_{i}";
    }

    /// <summary>Adds an int64 initializer (1-D) and returns its name.</summary>
    public string Ints(string prefix, IEnumerable<int> values)
    {
        string name = FreshName(prefix);
        _graph.Initializer.Add(ConstTensor.Int64Proto(name, values.Select(v => (long)v).ToArray()));
        return name;
    }

    /// <summary>Adds a float32 scalar initializer and returns its name.</summary>
    public string Scalar(string prefix, float value)
    {
        string name = FreshName(prefix);
        _graph.Initializer.Add(ConstTensor.FloatProto(name, Tensors.Shape.Scalar, [value]));
        return name;
    }

    /// <summary>
    /// Adds an ONNX node of type <paramref name="opType"/> (default: the Shrink op type) reading <paramref name="inputs"/>
    /// (default: the node's input names) and writing <paramref name="outputs"/> (default: the node's output names).
    /// </summary>
    public NodeProto AddNode(Node node, string? opType = null, IEnumerable<string>? inputs = null, IEnumerable<string>? outputs = null, string? name = null)
    {
        var p = new NodeProto { Name = name ?? node.Name, OpType = opType ?? node.OpType };
        p.Input.Add(inputs ?? node.Inputs.Select(v => v.Name));
        p.Output.Add(outputs ?? node.Outputs.Select(v => v.Name));
        _graph.Node.Add(p);
        return p;
    }
}

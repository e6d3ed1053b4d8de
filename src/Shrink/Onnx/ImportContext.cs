using Shrink.Graph;
using Shrink.Onnx.Proto;
using Shrink.Ops;

namespace Shrink.Onnx;

/// <summary>What a mapping sees of one ONNX node while importing: its attributes, inputs (values or constants) and the graph.</summary>
internal sealed class ImportContext
{
    private readonly OnnxImporter _importer;

    internal ImportContext(OnnxImporter importer, NodeProto proto, string nodeName, int opset)
    {
        _importer = importer;
        Proto = proto;
        NodeName = nodeName;
        Opset = opset;
        Describe = $"node '{nodeName}' ({proto.OpType})";
        Attributes = new OnnxAttributes(proto, Describe);
    }

    public NodeProto Proto { get; }
    public string NodeName { get; }

    /// <summary>The model's opset for the default domain (attribute forms changed between versions).</summary>
    public int Opset { get; }

    public OnnxAttributes Attributes { get; }
    public Graph.Graph Graph => _importer.Graph;

    /// <summary>"node 'conv1' (Conv)", for messages.</summary>
    public string Describe { get; }

    /// <summary>Number of input slots, including empty (absent optional) ones.</summary>
    public int InputCount => Proto.Input.Count;

    public bool HasInput(int index) => index < Proto.Input.Count && Proto.Input[index].Length > 0;

    /// <summary>
    /// Input <paramref name="index"/> as a graph value; a constant input becomes a parameter (trainable unless
    /// <paramref name="trainable"/> is false, e.g. batch norm statistics; folded constants are always frozen).
    /// </summary>
    public Value Input(int index, bool trainable = true)
    {
        if (!HasInput(index)) throw Error($"input {index} is missing.");
        return _importer.ValueOf(Proto.Input[index], this, trainable);
    }

    /// <summary>All present inputs as values, in order.</summary>
    public Value[] Inputs() => Enumerable.Range(0, Proto.Input.Count).Where(HasInput).Select(i => Input(i)).ToArray();

    /// <summary>Input <paramref name="index"/> when its value is known at import time (initializer, Constant, folded), else null.</summary>
    public ConstTensor? Constant(int index) => HasInput(index) ? _importer.ConstantOf(Proto.Input[index]) : null;

    /// <summary>A constant integer input (Reshape's shape, Pad's pads...), or an error naming the node when it is computed at run time.</summary>
    public long[] ConstantInts(int index, string what)
    {
        var c = ConstantWithSymbols(index, what);
        if (c.IsSymbolic) throw Error($"{what} {c} (input '{Proto.Input[index]}') depends on a size known only at run time; Shrink needs it constant.");
        return c.AsLongs();
    }

    /// <summary>A constant input whose integer elements may be run-time sizes (<see cref="DimSymbol"/>): Reshape's shape.</summary>
    public ConstTensor ConstantWithSymbols(int index, string what)
    {
        if (!HasInput(index)) throw Error($"{what} (input {index}) is missing.");
        return Constant(index) ?? throw Error($"{what} (input '{Proto.Input[index]}') is computed at run time; Shrink needs it constant.");
    }

    /// <summary><paramref name="values"/> (sizes, pads...) as 32-bit integers, or an error naming the node and <paramref name="what"/>.</summary>
    public int[] Int32s(long[] values, string what) =>
        values.All(v => v is >= int.MinValue and <= int.MaxValue) ? values.Select(v => (int)v).ToArray()
            : throw Error($"{what} [{string.Join(",", values)}] do not fit in 32 bits.");

    /// <summary>A constant scalar float input (Clip's min/max, Pad's value...), or <paramref name="fallback"/> when absent.</summary>
    public float ConstantFloat(int index, string what, float fallback)
    {
        if (!HasInput(index)) return fallback;
        var c = Constant(index) ?? throw Error($"{what} (input '{Proto.Input[index]}') is computed at run time; Shrink needs it constant.");
        if (c.Length != 1) throw Error($"{what} must be a scalar, got shape [{string.Join(",", c.Dims)}].");
        if (c.IsSymbolic) throw Error($"{what} (input '{Proto.Input[index]}') depends on a size known only at run time; Shrink needs it constant.");
        return (float)c[0];
    }

    /// <summary>Adds the node for <paramref name="op"/> named after the ONNX node, its outputs named after the ONNX outputs.</summary>
    public IReadOnlyList<Value> Add(Operator op, params Value[] inputs) =>
        Graph.AddNode(op, inputs, NodeName, Proto.Output.ToArray()).Outputs;

    /// <summary>Adds a helper node (one ONNX node that becomes several Shrink nodes); its output gets a fresh name.</summary>
    public Value AddHelper(Operator op, string suffix, params Value[] inputs) =>
        Graph.AddNode(op, inputs, $"{NodeName}/{suffix}", [Graph.UniqueValueName($"{NodeName}/{suffix}_output")]).Outputs[0];

    /// <summary>An error naming this node.</summary>
    public OnnxImportException Error(string message) => new($"{Describe}: {message}");

    /// <summary>Throws unless the attribute is absent or has one of the supported values.</summary>
    public void Require(bool ok, string message)
    {
        if (!ok) throw Error(message);
    }
}

using Google.Protobuf;
using Shrink.Onnx.Proto;
using AttrType = Shrink.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace Shrink.Onnx;

/// <summary>Typed reading of a node's attributes, with ONNX defaults and errors that name the node.</summary>
internal sealed class OnnxAttributes
{
    private readonly Dictionary<string, AttributeProto> _attrs = new(StringComparer.Ordinal);
    private readonly string _node;

    public OnnxAttributes(NodeProto node, string describe)
    {
        _node = describe;
        foreach (var a in node.Attribute) _attrs[a.Name] = a;
    }

    public bool Has(string name) => _attrs.ContainsKey(name);

    public long Int(string name, long fallback) => _attrs.TryGetValue(name, out var a) ? Expect(a, AttrType.Int).I : fallback;

    public float Float(string name, float fallback) => _attrs.TryGetValue(name, out var a) ? Expect(a, AttrType.Float).F : fallback;

    public string String(string name, string fallback) =>
        _attrs.TryGetValue(name, out var a) ? Expect(a, AttrType.String).S.ToStringUtf8() : fallback;

    public long[]? Ints(string name) => _attrs.TryGetValue(name, out var a) ? Expect(a, AttrType.Ints).Ints.ToArray() : null;

    public float[]? Floats(string name) => _attrs.TryGetValue(name, out var a) ? Expect(a, AttrType.Floats).Floats.ToArray() : null;

    public TensorProto? Tensor(string name) => _attrs.TryGetValue(name, out var a) ? Expect(a, AttrType.Tensor).T : null;

    /// <summary>The single attribute present (Constant carries exactly one of value, value_float, value_ints...).</summary>
    public AttributeProto? Only => _attrs.Count == 1 ? _attrs.Values.First() : null;

    /// <summary>An int attribute that must fit in 32 bits (group, axis...).</summary>
    public int Int32(string name, int fallback) => ToInt32(name, Int(name, fallback));

    public int[]? IntArray(string name) => Ints(name)?.Select(v => ToInt32(name, v)).ToArray();

    private int ToInt32(string name, long value) =>
        value is >= int.MinValue and <= int.MaxValue ? (int)value
            : throw new OnnxImportException($"{_node}: attribute '{name}' value {value} does not fit in 32 bits.");

    private AttributeProto Expect(AttributeProto a, AttrType type)
    {
        // Very old files (IR 1) leave the type out; the value field in use says it.
        if (a.Type == type || a.Type == AttrType.Undefined) return a;
        throw new OnnxImportException($"{_node}: attribute '{a.Name}' is {a.Type}, expected {type}.");
    }

    // ---- writing ----

    public static AttributeProto Of(string name, long value) => new() { Name = name, Type = AttrType.Int, I = value };
    public static AttributeProto Of(string name, bool value) => Of(name, value ? 1L : 0L);
    public static AttributeProto Of(string name, float value) => new() { Name = name, Type = AttrType.Float, F = value };
    public static AttributeProto Of(string name, string value) => new() { Name = name, Type = AttrType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Of(string name, IEnumerable<int> values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Ints };
        a.Ints.Add(values.Select(v => (long)v));
        return a;
    }
}

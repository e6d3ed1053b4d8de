using Shrink.Graph;
using Shrink.Onnx.Proto;
using Shrink.Tensors;

namespace Shrink.Onnx;

/// <summary>
/// ONNX → <see cref="Graph.Graph"/>. Initializers become parameters (trainable, except batch norm statistics and
/// folded constants); graph inputs that are also initializers are parameters too; a dim_param or 0 dimension becomes
/// <see cref="Shape.Dynamic"/>; Constant nodes and shape arithmetic are folded (<see cref="ConstantFolder"/>); every
/// other node goes through its <see cref="OpMapping"/> in the <see cref="OpTable"/>.
/// </summary>
internal sealed class OnnxImporter
{
    public const int MinOpset = 9;
    public const int MaxOpset = 17;

    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConstTensor> _constants = new(StringComparer.Ordinal);
    private readonly HashSet<string> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _dropped = new(StringComparer.Ordinal);

    private OnnxImporter(string name) => Graph = new Graph.Graph(name);

    public Graph.Graph Graph { get; }

    public static Graph.Graph Import(ModelProto model, string source)
    {
        var g = model.Graph;
        if (g is null || (g.Node.Count == 0 && g.Output.Count == 0))
            throw new OnnxImportException($"'{source}' is not an ONNX model (it holds no graph).");
        int opset = DefaultOpset(model, source);
        var importer = new OnnxImporter(string.IsNullOrEmpty(g.Name) ? Path.GetFileNameWithoutExtension(source) : g.Name);
        importer.Run(g, opset, source);
        if (model.MetadataProps.FirstOrDefault(e => e.Key == OnnxExporter.FrozenKey) is { } frozen)
        {
            var names = frozen.Value.Split('\n').ToHashSet(StringComparer.Ordinal);
            foreach (var p in importer.Graph.Parameters)
                if (names.Contains(p.Name)) p.Trainable = false;
        }
        return importer.Graph;
    }

    private static int DefaultOpset(ModelProto model, string source)
    {
        var entry = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (entry is null)
            throw new OnnxImportException($"'{source}' declares no opset for the default ONNX domain (is it an ONNX model?).");
        if (entry.Version < MinOpset || entry.Version > MaxOpset)
            throw new OnnxImportException($"'{source}' uses ONNX opset {entry.Version}; Shrink reads opsets {MinOpset} to {MaxOpset} (re-export with e.g. opset_version=13).");
        return (int)entry.Version;
    }

    private void Run(GraphProto g, int opset, string source)
    {
        var nodes = Sorted(g);
        ReportUnsupported(nodes);

        foreach (var t in g.Initializer)
        {
            _constants[t.Name] = ConstTensor.FromProto(t, "initializer");
            _initializers.Add(t.Name);
        }
        foreach (var input in g.Input)
        {
            if (_initializers.Contains(input.Name)) continue; // an input with a default value: a parameter
            _values[input.Name] = Graph.AddInput(input.Name, InputShape(input));
        }

        for (int n = 0; n < nodes.Count; n++)
        {
            var proto = nodes[n];
            string name = string.IsNullOrEmpty(proto.Name) ? $"{proto.OpType}_{n}" : proto.Name;
            string describe = $"node '{name}' ({proto.OpType})";
            foreach (var input in proto.Input)
                if (input.Length > 0 && !_values.ContainsKey(input) && !_constants.ContainsKey(input))
                    throw MissingValue(input, describe);
            if (ConstantFolder.CanFold(proto.OpType))
            {
                var folded = ConstantFolder.TryFold(proto, describe, opset, ConstantOf, ShapeOf);
                if (folded is not null)
                {
                    for (int i = 0; i < folded.Length && i < proto.Output.Count; i++) _constants[proto.Output[i]] = folded[i];
                    continue;
                }
            }
            var mapping = OpTable.ForOnnx(proto.OpType)!;
            var ctx = new ImportContext(this, proto, name, opset);
            var outputs = mapping.Import(ctx);
            for (int i = 0; i < proto.Output.Count; i++)
            {
                if (proto.Output[i].Length == 0) continue;
                if (i < outputs.Count) _values[proto.Output[i]] = outputs[i];
                else _dropped[proto.Output[i]] = $"output {i} of {describe}";
            }
        }

        if (g.Output.Count == 0) throw new OnnxImportException($"'{source}' declares no graph outputs.");
        foreach (var output in g.Output)
        {
            if (_values.TryGetValue(output.Name, out var v)) Graph.AddOutput(v);
            else if (_constants.ContainsKey(output.Name))
                throw new OnnxImportException($"Graph output '{output.Name}' is a constant; Shrink models compute their outputs from their inputs.");
            else throw MissingValue(output.Name, $"graph output '{output.Name}'");
        }
        Graph.Verify();
    }

    /// <summary>Every node whose op has no mapping, all at once.</summary>
    private static void ReportUnsupported(List<NodeProto> nodes)
    {
        var bad = new List<(string, string)>();
        for (int n = 0; n < nodes.Count; n++)
        {
            var p = nodes[n];
            bool defaultDomain = string.IsNullOrEmpty(p.Domain) || p.Domain == "ai.onnx";
            if (defaultDomain && (OpTable.ForOnnx(p.OpType) is not null || ConstantFolder.CanFold(p.OpType))) continue;
            bad.Add((string.IsNullOrEmpty(p.Name) ? $"{p.OpType}_{n}" : p.Name, defaultDomain ? p.OpType : $"{p.Domain}.{p.OpType}"));
        }
        if (bad.Count > 0) throw new UnsupportedOperatorException(bad);
    }

    /// <summary>Nodes in dependency order (files should already be sorted; some writers do not sort).</summary>
    private static List<NodeProto> Sorted(GraphProto g)
    {
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < g.Node.Count; i++)
            foreach (var o in g.Node[i].Output)
                if (o.Length > 0) producer.TryAdd(o, i);
        var state = new byte[g.Node.Count];
        var order = new List<NodeProto>(g.Node.Count);
        for (int i = 0; i < g.Node.Count; i++) Visit(i);
        return order;

        void Visit(int root)
        {
            if (state[root] != 0) return;
            var stack = new Stack<(int Node, int Next)>();
            stack.Push((root, 0));
            state[root] = 1;
            while (stack.Count > 0)
            {
                var (n, next) = stack.Pop();
                var inputs = g.Node[n].Input;
                if (next < inputs.Count)
                {
                    stack.Push((n, next + 1));
                    if (producer.TryGetValue(inputs[next], out int p) && state[p] == 0)
                    {
                        state[p] = 1;
                        stack.Push((p, 0));
                    }
                    continue;
                }
                state[n] = 2;
                order.Add(g.Node[n]);
            }
        }
    }

    private static Shape InputShape(ValueInfoProto input)
    {
        var type = input.Type?.TensorType ?? throw new OnnxImportException($"Graph input '{input.Name}' is not a tensor.");
        if (type.ElemType != (int)TensorProto.Types.DataType.Float)
            throw new OnnxImportException($"Graph input '{input.Name}' has element type {(TensorProto.Types.DataType)type.ElemType}; Shrink models take float32 inputs.");
        if (type.Shape is null) throw new OnnxImportException($"Graph input '{input.Name}' has no shape; Shrink needs the input's rank and sizes.");
        return new Shape(type.Shape.Dim.Select(d =>
            d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0
                ? checked((int)d.DimValue)
                : Shape.Dynamic).ToArray());
    }

    internal ConstTensor? ConstantOf(string name) => _constants.GetValueOrDefault(name);

    private Shape? ShapeOf(string name)
    {
        if (_values.TryGetValue(name, out var v)) return v.Shape;
        if (_constants.TryGetValue(name, out var c)) return new Shape(c.Dims);
        return null;
    }

    /// <summary>The graph value for an ONNX name; constants become parameters on first use.</summary>
    internal Value ValueOf(string name, ImportContext ctx, bool trainable)
    {
        if (_values.TryGetValue(name, out var v)) return v;
        if (_constants.TryGetValue(name, out var c))
        {
            if (c.IsSymbolic)
                throw ctx.Error($"input '{name}' {c} depends on a size known only at run time (such as the batch); Shrink needs it constant.");
            v = Graph.AddParameter(name, c.ToTensor(), trainable && _initializers.Contains(name));
            _values[name] = v;
            return v;
        }
        throw MissingValue(name, ctx.Describe);
    }

    private OnnxImportException MissingValue(string name, string reader) =>
        _dropped.TryGetValue(name, out var what)
            ? new OnnxImportException($"{reader} reads {what} ('{name}'), which Shrink does not compute.")
            : new OnnxImportException($"{reader} reads '{name}', which no node produces and is neither a graph input nor an initializer (truncated or malformed model).");
}

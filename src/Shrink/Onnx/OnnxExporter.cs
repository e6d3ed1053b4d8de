using Shrink.Graph;
using Shrink.Onnx.Proto;
using Shrink.Tensors;

namespace Shrink.Onnx;

/// <summary>
/// <see cref="Graph.Graph"/> → ONNX (opset <see cref="Opset"/>, IR <see cref="IrVersion"/>): parameters as float32
/// initializers, each node through its <see cref="OpMapping"/>, inputs and outputs declared with their shapes and a
/// dynamic batch dimension written as dim_param "N".
/// </summary>
internal static class OnnxExporter
{
    public const int Opset = 13;
    public const int IrVersion = 8;

    /// <summary>Model metadata key listing (one per line) the parameters that are frozen, so that a round trip keeps them frozen.</summary>
    public const string FrozenKey = "shrink.frozen_parameters";

    public static ModelProto Export(Graph.Graph graph)
    {
        var unsupported = graph.Nodes.Where(n => OpTable.ForShrink(n.Op.GetType()) is null).ToList();
        if (unsupported.Count > 0)
            throw new OnnxExportException($"No ONNX export for {string.Join(", ", unsupported.Select(n => n.Describe()))}.");

        var g = new GraphProto { Name = graph.Name };
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Shrink",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = g,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });

        var names = new HashSet<string>(graph.Values.Select(v => v.Name), StringComparer.Ordinal);
        var ctx = new ExportContext(g, names);

        foreach (var input in graph.Inputs) g.Input.Add(ValueInfo(input.Name, input.Shape));
        foreach (var p in graph.Parameters)
        {
            if (!p.Shape.IsConcrete) throw new OnnxExportException($"Parameter '{p.Name}' has non-concrete shape {p.Shape}.");
            g.Initializer.Add(ConstTensor.FloatProto(p.Name, p.Shape, p.Data.Span));
        }
        var frozen = graph.Parameters.Where(p => !p.Trainable).Select(p => p.Name).ToArray();
        if (frozen.Length > 0) model.MetadataProps.Add(new StringStringEntryProto { Key = FrozenKey, Value = string.Join('\n', frozen) });
        foreach (var node in graph.TopologicalOrder())
            OpTable.ForShrink(node.Op.GetType())!.Export(ctx, node);

        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in graph.Outputs)
        {
            string name = output.Name;
            if (output.Producer is null || !declared.Add(name))
            {
                // An input, parameter or repeated value as a graph output: ONNX wants each output computed by a node.
                name = ctx.FreshName(output.Name + "_out");
                g.Node.Add(new NodeProto { Name = name, OpType = "Identity", Input = { output.Name }, Output = { name } });
            }
            g.Output.Add(ValueInfo(name, output.Shape));
        }
        return model;
    }

    private static ValueInfoProto ValueInfo(string name, Shape shape)
    {
        var s = new TensorShapeProto();
        for (int i = 0; i < shape.Rank; i++)
            s.Dim.Add(shape[i] == Shape.Dynamic
                ? new TensorShapeProto.Types.Dimension { DimParam = i == 0 ? "N" : $"d{i}" }
                : new TensorShapeProto.Types.Dimension { DimValue = shape[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = s } },
        };
    }
}

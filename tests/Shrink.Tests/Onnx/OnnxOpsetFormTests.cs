using Shrink.Execution;
using Shrink.Onnx.Proto;
using Shrink.Ops;
using Shrink.Tensors;
using static Shrink.Tests.Onnx.OnnxTestUtil;

namespace Shrink.Tests.Onnx;

/// <summary>Attribute-versus-input forms across opsets, and the constant folding of shape arithmetic.</summary>
public class OnnxOpsetFormTests
{
    [Fact]
    public void Opset9_AttributeForms_ClipPadDropoutUnsqueeze()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 3));
        g.Node.Add(Node("Clip", "clip", ["x"], ["a"], Attr("min", 0f), Attr("max", 6f)));
        g.Node.Add(Node("Pad", "pad", ["a"], ["b"], Attr("pads", new long[] { 0, 1, 0, 2 }), Attr("value", 1.5f)));
        g.Node.Add(Node("Dropout", "drop", ["b"], ["c", "mask"], Attr("ratio", 0.2f)));
        g.Node.Add(Node("Unsqueeze", "unsq", ["c"], ["d"], Attr("axes", new long[] { 1 })));
        g.Node.Add(Node("Squeeze", "sq", ["d"], ["e"], Attr("axes", new long[] { 1 })));
        g.Node.Add(Node("Softmax", "softmax", ["e"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 6));
        var graph = Load(Model(g, opset: 9));
        Assert.Equal("Clip(min=0 max=6)", graph.FindNode("clip")!.Op.ToString().Replace(",", "", StringComparison.Ordinal));
        Assert.Equal([0, 1, 0, 2], ((Pad)graph.FindNode("pad")!.Op).Pads);
        Assert.Equal(0.2f, ((Dropout)graph.FindNode("drop")!.Op).Ratio);
        var y = new Executor(graph).Run(Tensor.FromArray(new Shape(1, 3), -1f, 3f, 9f));
        // Clip → [0, 3, 6], padded → [1.5, 0, 3, 6, 1.5, 1.5], softmax over those.
        double[] z = [1.5, 0, 3, 6, 1.5, 1.5];
        double sum = z.Sum(Math.Exp);
        for (int i = 0; i < 6; i++) Assert.Equal(Math.Exp(z[i]) / sum, y.Span[i], 5);
    }

    [Fact]
    public void Opset11_ClipInputs_MaxOnly()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 3));
        g.Initializer.Add(Floats("hi", [2f]));
        g.Node.Add(Node("Clip", "clip", ["x", "", "hi"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 3));
        var graph = Load(Model(g, opset: 11));
        var y = new Executor(graph).Run(Tensor.FromArray(new Shape(1, 3), -5f, 1f, 9f));
        Assert.Equal([-5f, 1f, 2f], y.ToArray());
        Assert.Empty(graph.Parameters); // min/max became attributes, not parameters
    }

    /// <summary>x.view(x.size(0), -1) as PyTorch writes it, at opset 11 (Unsqueeze axes attribute), with a Constant node.</summary>
    [Fact]
    public void ShapeGatherUnsqueezeConcat_FoldsToReshapeZeroMinusOne()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 2, 3, 3));
        g.Node.Add(Node("Shape", "shape", ["x"], ["s"]));
        g.Node.Add(new NodeProto { OpType = "Constant", Name = "c0", Output = { "zero" }, Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = Int64s("", [0]) } } });
        g.Node.Add(Node("Gather", "gather", ["s", "zero"], ["n"], Attr("axis", 0L)));
        g.Node.Add(Node("Unsqueeze", "unsq", ["n"], ["n1"], Attr("axes", new long[] { 0 })));
        g.Initializer.Add(Int64s("minus1", [-1], 1));
        g.Node.Add(Node("Concat", "cat", ["n1", "minus1"], ["shape"], Attr("axis", 0L)));
        g.Node.Add(Node("Reshape", "reshape", ["x", "shape"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 18));
        var graph = Load(Model(g, opset: 11));
        Assert.Equal(["Reshape"], graph.Nodes.Select(n => n.OpType));
        Assert.Equal([0, -1], ((Reshape)graph.Nodes[0].Op).Shape);
        Assert.Equal(new Shape(-1, 18), graph.Outputs[0].Shape);
        Assert.Empty(graph.Parameters);
    }

    [Fact]
    public void ReduceMeanKeepDims_IsGlobalAveragePool()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 2, 3, 3));
        g.Node.Add(Node("ReduceMean", "mean", ["x"], ["y"], Attr("axes", new long[] { -1, -2 })));
        g.Output.Add(FloatInfo("y", -1, 2, 1, 1));
        var graph = Load(Model(g));
        Assert.Equal(["GlobalAveragePool"], graph.Nodes.Select(n => n.OpType));
    }

    [Fact]
    public void Opset12_SoftmaxNotLastAxis_Rejected()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 2, 3));
        g.Node.Add(Node("Softmax", "sm", ["x"], ["y"], Attr("axis", 1L)));
        g.Output.Add(FloatInfo("y", -1, 2, 3));
        var e = Assert.Throws<Shrink.Onnx.OnnxImportException>(() => Load(Model(g, opset: 12)));
        Assert.Contains("node 'sm' (Softmax)", e.Message);
    }
}

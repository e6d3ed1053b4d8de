using Shrink.Graph;
using Shrink.Onnx;
using Shrink.Onnx.Proto;
using Shrink.Ops;
using Shrink.Tensors;
using static Shrink.Tests.Onnx.OnnxTestUtil;

namespace Shrink.Tests.Onnx;

public class OnnxBasicTests
{
    internal static Shrink.Graph.Graph Mlp()
    {
        var g = new Shrink.Graph.Graph("mlp");
        var rng = new Random(1);
        var x = g.AddInput("input", new Shape(Shape.Dynamic, 12));
        var w1 = Param(g, "fc1.weight", rng, 0.3f, 16, 12);
        var b1 = Param(g, "fc1.bias", rng, 0.3f, 16);
        var h = g.AddNode(new Gemm { TransB = true }, [x, w1, b1], "fc1").Outputs[0];
        h = g.AddNode(new Relu(), [h], "relu1").Outputs[0];
        var w2 = Param(g, "fc2.weight", rng, 0.3f, 5, 16);
        var b2 = Param(g, "fc2.bias", rng, 0.3f, 5);
        var y = g.AddNode(new Gemm { TransB = true, Alpha = 0.5f, Beta = 2f }, [h, w2, b2], "fc2").Outputs[0];
        g.AddOutput(y);
        g.Verify();
        return g;
    }

    [Fact]
    public void Mlp_RoundTrip_SameOutputsNamesAndParameters()
    {
        var g = Mlp();
        var back = RoundTrip(g);
        AssertSameOutputs(g, back, batch: 3);
        Assert.Equal(g.ParameterCount, back.ParameterCount);
        Assert.Equal(g.Nodes.Select(n => n.ToString()), back.Nodes.Select(n => n.ToString()));
        Assert.All(back.Parameters, p => Assert.True(p.Trainable));
        Assert.Equal(Shape.Dynamic, back.Inputs[0].Shape[0]);
        Assert.Equal("transA=0 transB=1 alpha=0.5 beta=2", back.FindNode("fc2")!.Op.Attributes);
    }

    [Fact]
    public void Export_WritesOpset13_ProducerShrink_DynamicBatchAsN()
    {
        var model = ModelProto.Parser.ParseFrom(ToBytes(Mlp()));
        Assert.Equal("Shrink", model.ProducerName);
        Assert.Contains(model.OpsetImport, o => o.Domain == "" && o.Version == 13);
        Assert.InRange(model.IrVersion, 7, 8);
        Assert.Equal("N", model.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal("N", model.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.All(model.Graph.Initializer, t => Assert.Equal(1, t.DataType));
    }

    [Fact]
    public void Save_ToFile_IsAtomic_AndLoads()
    {
        string dir = Directory.CreateTempSubdirectory("shrink-onnx").FullName;
        try
        {
            string path = Path.Combine(dir, "m.onnx");
            File.WriteAllText(path, "old");
            OnnxModel.Save(Mlp(), path);
            Assert.Equal(["m.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName));
            AssertSameOutputs(Mlp(), OnnxModel.Load(path));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void GraphInputThatIsAlsoInitializer_IsAParameter_AndZeroDimIsDynamic()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", 0, 3));
        g.Input.Add(FloatInfo("w", 4, 3));
        g.Initializer.Add(Floats("w", Enumerable.Range(0, 12).Select(i => i * 0.1f).ToArray(), 4, 3));
        g.Node.Add(Node("Gemm", "fc", ["x", "w"], ["y"], Attr("transB", 1L)));
        g.Output.Add(FloatInfo("y", -1, 4));
        var graph = Load(Model(g));
        Assert.Single(graph.Inputs);
        Assert.Equal(new Shape(Shape.Dynamic, 3), graph.Inputs[0].Shape);
        Assert.Equal(12, graph.ParameterCount);
        Assert.True(graph.Parameters.Single().Trainable);
    }

    [Fact]
    public void SupportedOperators_ListsMappedAndFoldedOps()
    {
        Assert.Contains("Gemm", OnnxModel.SupportedOperators);
        Assert.Contains("Relu", OnnxModel.SupportedOperators);
        Assert.Contains("Shape", OnnxModel.SupportedOperators);
    }
}

using Shrink.Graph;
using Shrink.Onnx;
using Shrink.Ops;
using Shrink.Tensors;
using static Shrink.Tests.Onnx.OnnxTestUtil;

namespace Shrink.Tests.Onnx;

/// <summary>
/// import(export(g)) reproduces g: same outputs within 1e-5 (relative to the output scale) on a batch of 3, same
/// nodes with the same attributes, same parameters (batch norm statistics still frozen).
/// </summary>
public class OnnxRoundTripTests
{
    /// <summary>Batch-norm statistics away from (0, 1) so that BN does real work.</summary>
    private static void RandomiseStatistics(Shrink.Graph.Graph g, int seed = 5)
    {
        var rng = new Random(seed);
        foreach (var n in g.Nodes.Where(n => n.OpType == "BatchNormalization"))
            for (int i = 1; i < 5; i++)
            {
                var s = n.Inputs[i].Parameter!.Data.Span;
                for (int j = 0; j < s.Length; j++) s[j] = i == 4 ? 0.5f + (float)rng.NextDouble() : (float)(rng.NextDouble() - 0.5);
            }
    }

    internal static Shrink.Graph.Graph LeNet()
    {
        var b = new GraphBuilder("lenet", seed: 1);
        var x = b.Input(1, 28, 28);
        x = b.MaxPool2d(b.Relu(b.Conv2d(x, 6, 5, padding: 2)), 2);
        x = b.AvgPool2d(b.Relu(b.Conv2d(x, 16, 5)), 2);
        x = b.Flatten(x);
        x = b.Dropout(b.Relu(b.Linear(x, 32)), 0.3f);
        return b.Build(b.Softmax(b.Linear(x, 10)));
    }

    internal static Shrink.Graph.Graph Residual()
    {
        var b = new GraphBuilder("resblock", seed: 2);
        var x = b.Input(4, 12, 12);
        var y = b.Relu(b.BatchNorm2d(b.Conv2d(x, 8, 3, stride: 2, padding: 1, bias: false)));
        y = b.BatchNorm2d(b.Conv2d(y, 8, 3, padding: 1, bias: false));
        var s = b.BatchNorm2d(b.Conv2d(x, 8, 1, stride: 2, bias: false));
        y = b.Relu(b.Add(y, s));
        y = b.Reshape(b.GlobalAvgPool(y), 0, -1);
        var g = b.Build(b.Linear(y, 5));
        RandomiseStatistics(g);
        return g;
    }

    internal static Shrink.Graph.Graph ConcatBlock()
    {
        var b = new GraphBuilder("concat", seed: 3);
        var x = b.Input(3, 11, 11);
        var a1 = b.Relu(b.Conv2d(x, 4, 1));
        var a2 = b.Relu(b.Conv2d(x, 5, 3, padding: 2, dilation: 2));
        var a3 = b.Conv2d(b.MaxPool2d(x, 3, 1, padding: 1), 3, 1);
        var a4 = b.AvgPool2d(b.Pad2d(x, 1, 2, 1, 0, value: 0.5f), 3, 1, padding: 0, countIncludePad: false);
        var a5 = b.MaxPool2d(b.Conv2d(x, 2, (1, 3), padding: (0, 1)), 3, 1, padding: 1, ceilMode: true);
        var y = b.Concat(1, a1, a2, a3, a4, a5);
        y = b.AvgPool2d(y, 3, 2, padding: 1, ceilMode: true, countIncludePad: true);
        y = b.Flatten(b.GlobalMaxPool(y));
        return b.Build(b.Linear(y, 7));
    }

    internal static Shrink.Graph.Graph MobileBlock()
    {
        var b = new GraphBuilder("mobile", seed: 4);
        var x = b.Input(8, 10, 10);
        var y = b.Relu6(b.BatchNorm2d(b.Conv2d(x, 16, 1, bias: false)));
        y = b.HardSwish(b.BatchNorm2d(b.Conv2d(y, 16, 3, stride: 2, padding: 1, groups: 16, bias: false)));
        var se = b.Silu(b.Conv2d(b.GlobalAvgPool(y), 4, 1));
        se = b.HardSigmoid(b.Conv2d(se, 16, 1));
        y = b.Mul(y, se);
        y = b.PRelu(b.Conv2d(y, 8, 1), 8);
        y = b.LeakyRelu(y, 0.2f);
        y = b.Tanh(b.Identity(y));
        var g = b.Build(b.Sigmoid(y));
        RandomiseStatistics(g);
        return g;
    }

    internal static Shrink.Graph.Graph Elementwise()
    {
        var g = new Shrink.Graph.Graph("elementwise");
        var rng = new Random(6);
        var x = g.AddInput("tokens", new Shape(Shape.Dynamic, 4, 6));
        var t = g.AddNode(new Transpose { Perm = [0, 2, 1] }, [x], "transpose").Outputs[0];           // [N,6,4]
        var m = g.AddNode(new MatMul(), [t, Param(g, "proj", rng, 0.5f, 4, 5)], "matmul").Outputs[0];  // [N,6,5]
        m = g.AddNode(new Sub(), [m, Param(g, "shift", rng, 0.5f, 5)], "sub").Outputs[0];
        var d = Param(g, "scale", rng, 0.5f, 6, 1);
        d.Parameter!.Data.Span.Fill(2.5f);
        m = g.AddNode(new Div(), [m, d], "div").Outputs[0];
        m = g.AddNode(new Reshape { Shape = [0, 30] }, [m], "reshape").Outputs[0];
        m = g.AddNode(new Gemm { TransA = false, TransB = false, Alpha = 0.7f }, [m, Param(g, "w", rng, 0.3f, 30, 3)], "gemm").Outputs[0];
        m = g.AddNode(new Clip { Min = -0.25f }, [m], "clip_min_only").Outputs[0];
        g.AddOutput(g.AddNode(new Softmax { Axis = 1 }, [m], "softmax").Outputs[0]);
        g.AddOutput(t);
        g.Verify();
        return g;
    }

    public static TheoryData<string> Structures => new() { "lenet", "residual", "concat", "mobile", "elementwise" };

    internal static Shrink.Graph.Graph Build(string name) => name switch
    {
        "lenet" => LeNet(),
        "residual" => Residual(),
        "concat" => ConcatBlock(),
        "mobile" => MobileBlock(),
        _ => Elementwise(),
    };

    [Theory]
    [MemberData(nameof(Structures))]
    public void RoundTrip_SameOutputs_SameStructure(string name)
    {
        var g = Build(name);
        var back = RoundTrip(g);
        AssertSameOutputs(g, back, batch: 3);
        Assert.Equal(g.ParameterCount, back.ParameterCount);
        Assert.Equal(g.Parameters.Where(p => !p.Trainable).Select(p => p.Name).Order(), back.Parameters.Where(p => !p.Trainable).Select(p => p.Name).Order());
        foreach (var n in g.Nodes)
        {
            if (n.Op is Silu or HardSwish) continue; // exported as Sigmoid/HardSigmoid + Mul
            if (n.Op is AveragePool { CountIncludePad: true }) continue; // may be exported as Pad + AveragePool
            var m = back.FindNode(n.Name);
            Assert.True(m is not null, $"node '{n.Name}' lost in the round trip");
            Assert.Equal(n.Op.ToString(), m!.Op.ToString());
            Assert.Equal(n.Inputs.Select(v => v.Name), m.Inputs.Select(v => v.Name));
        }
        ExportFiles.Write(name, g);
    }

    [Fact]
    public void SiluAndHardSwish_ExportAsStandardOps()
    {
        var model = Shrink.Onnx.Proto.ModelProto.Parser.ParseFrom(ToBytes(MobileBlock()));
        var ops = model.Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.DoesNotContain("Silu", ops);
        Assert.DoesNotContain("HardSwish", ops); // opset 13 has no HardSwish
        Assert.Contains("HardSigmoid", ops);
        Assert.Equal(13, model.OpsetImport.Single().Version);
    }

    [Fact]
    public void FrozenParameters_StayFrozen()
    {
        var g = LeNet();
        var frozen = g.Parameters.First(p => p.Name.EndsWith(".weight", StringComparison.Ordinal));
        frozen.Trainable = false;
        var back = RoundTrip(g);
        Assert.False(back.Parameters.Single(p => p.Name == frozen.Name).Trainable);
        Assert.Equal(g.TrainableParameters.Count(), back.TrainableParameters.Count());
    }

    [Fact]
    public void Attributes_RoundTrip()
    {
        var g = new Shrink.Graph.Graph("attrs");
        var rng = new Random(9);
        var x = g.AddInput("x", new Shape(Shape.Dynamic, 4, 9, 9));
        Operator[] ops =
        [
            new Conv { Strides = [2, 1], Pads = [1, 0, 2, 1], Dilations = [1, 2], Group = 2 },
            new MaxPool { KernelShape = [3, 2], Strides = [2, 1], Pads = [1, 1, 1, 0], Dilations = [1, 1], CeilMode = true },
            new AveragePool { KernelShape = [2, 3], Strides = [1, 2], Pads = [0, 1, 1, 1], CeilMode = true, CountIncludePad = false },
            new BatchNormalization { Epsilon = 1e-3f, Momentum = 0.8f },
            new Pad { Pads = [0, 0, 1, 2, 0, 1, 0, 3], Value = -1.5f },
            new Clip { Min = -1f, Max = 2f },
            new LeakyRelu { Alpha = 0.3f },
            new HardSigmoid { Alpha = 0.25f, Beta = 0.4f },
            new Dropout { Ratio = 0.25f },
            new Transpose { Perm = [0, 1, 3, 2] },
            new Softmax { Axis = 2 },
            new Flatten { Axis = 2 },
        ];
        var v = x;
        int channels = 4;
        foreach (var op in ops)
        {
            Value[] inputs = op switch
            {
                Conv => [v, Param(g, "conv.weight", rng, 0.3f, 6, 2, 3, 2), Param(g, "conv.bias", rng, 0.3f, 6)],
                BatchNormalization => [v, .. Enumerable.Range(0, 4).Select(i => Param(g, $"bn.p{i}", rng, 0.3f, channels))],
                _ => [v],
            };
            v = g.AddNode(op, inputs, op.OpType.ToLowerInvariant()).Outputs[0];
            if (op is Conv) channels = 6;
        }
        foreach (var p in g.Parameters.Where(p => p.Name is "bn.p3")) p.Data.Span.Fill(0.7f);
        g.AddOutput(v);
        g.Verify();
        var back = RoundTrip(g);
        foreach (var n in g.Nodes) Assert.Equal(n.Op.ToString(), back.FindNode(n.Name)!.Op.ToString());
        AssertSameOutputs(g, back);
    }
}

public class OnnxAveragePoolExportTests
{
    [Theory]
    [InlineData(false, 11)]
    [InlineData(true, 11)]
    [InlineData(true, 10)]
    public void CountIncludePad_ExportsPortably_SameOutputs(bool ceil, int size)
    {
        var b = new GraphBuilder("avg", seed: 1);
        var x = b.Input(2, size, size);
        var g = b.Build(b.AvgPool2d(x, 3, 2, padding: 1, ceilMode: ceil, countIncludePad: true));
        var bytes = OnnxTestUtil.ToBytes(g);
        var model = Shrink.Onnx.Proto.ModelProto.Parser.ParseFrom(bytes);
        var pool = model.Graph.Node.Single(n => n.OpType == "AveragePool");
        Assert.Equal(0, pool.Attribute.Single(a => a.Name == "count_include_pad").I);
        OnnxTestUtil.AssertSameOutputs(g, OnnxTestUtil.FromBytes(bytes), batch: 2);
    }
}

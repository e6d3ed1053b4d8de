using Shrink.Execution;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Graphs;

public class GraphBuilderLayersTests
{
    [Fact]
    public void Linear_is_Gemm_transB_with_PyTorch_init_and_names()
    {
        var b = new GraphBuilder(seed: 1);
        var x = b.Input(20);
        var y = b.Linear(x, 7);
        var y2 = b.Linear(y, 3, bias: false, name: "head");
        var g = b.Build(y2);
        var fc = g.FindNode("fc1")!;
        Assert.IsType<Gemm>(fc.Op);
        Assert.True(((Gemm)fc.Op).TransB);
        Assert.Equal(new Shape(-1, 7), y.Shape);
        var w = g["fc1.weight"].Parameter!.Data;
        var bias = g["fc1.bias"].Parameter!.Data;
        Assert.Equal(new Shape(7, 20), w.Shape);
        Assert.Equal(new Shape(7), bias.Shape);
        float bound = 1 / MathF.Sqrt(20);
        Assert.All(w.ToArray().Concat(bias.ToArray()), v => Assert.InRange(v, -bound, bound));
        Assert.True(w.ToArray().Max() > 0.5f * bound && w.ToArray().Min() < -0.5f * bound, "weights should fill the range");
        Assert.Equal(2, g.FindNode("head")!.Inputs.Count);
        Assert.Equal(new Shape(3, 7), g["head.weight"].Shape);
        Assert.False(g.TryGetValue("head.bias", out _));
    }

    [Fact]
    public void Layers_are_numbered_and_scoped()
    {
        var b = new GraphBuilder();
        var x = b.Input(3, 4, 4);
        Value y;
        using (b.Scope("block"))
        {
            y = b.Relu6(b.Relu6(x));
            y = b.Sigmoid(y, name: "gate");
        }
        var g = b.Build(y);
        Assert.NotNull(g.FindNode("block.relu61"));
        Assert.NotNull(g.FindNode("block.relu62"));
        Assert.NotNull(g.FindNode("block.gate"));
        var clip = (Clip)g.FindNode("block.relu61")!.Op;
        Assert.Equal((0f, 6f), (clip.Min, clip.Max));
    }

    [Fact]
    public void PRelu_slope_is_per_channel()
    {
        var b = new GraphBuilder();
        var x = b.Input(3, 4, 4);
        var p1 = b.PRelu(x, 3);
        var f = b.Flatten(p1);
        var p2 = b.PRelu(f, 48, name: "act");
        var g = b.Build(b.PRelu(p2, 1));
        Assert.Equal(new Shape(3, 1, 1), g["prelu1.weight"].Shape);
        Assert.Equal(new Shape(48), g["act.weight"].Shape);
        Assert.Equal(new Shape(1), g["prelu2.weight"].Shape);
        Assert.All(g["prelu1.weight"].Parameter!.Data.ToArray(), v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void A_small_graph_runs_with_a_dynamic_batch()
    {
        // [N,16,5,5] → Reshape[-1,400] → Linear → Softmax, plus a residual-style broadcast Add and a Concat.
        var b = new GraphBuilder(seed: 3);
        var x = b.Input(16, 5, 5);
        var r = b.Reshape(x, -1, 400);
        var r2 = b.Reshape(x, 0, -1);
        Assert.Equal(new Shape(-1, 400), r.Shape);
        Assert.Equal(new Shape(-1, 400), r2.Shape);
        var h = b.Add(b.Tanh(r), b.Mul(r2, b.Parameter("scale", "value", Tensor.Scalar(0.5f))));
        var c = b.Concat(1, h, b.Dropout(r));
        var logits = b.Linear(c, 10);
        var g = b.Build(b.Softmax(b.Identity(logits)));
        var input = Shrink.Tests.Ops.GradientCheck.Random(new Shape(3, 16, 5, 5), 9);
        var y = new Executor(g).Run(input);
        Assert.Equal(new Shape(3, 10), y.Shape);
        for (int n = 0; n < 3; n++)
            Assert.Equal(1.0, y.Span.Slice(n * 10, 10).ToArray().Sum(), 5);
    }

    [Fact]
    public void Builder_shape_methods()
    {
        var b = new GraphBuilder();
        var x = b.Input(3, 4, 5);
        Assert.Equal(new Shape(-1, 5, 4, 3), b.Transpose(x, 0, 3, 2, 1).Shape);
        Assert.Equal(new Shape(5, 4, 3, -1), b.Transpose(x).Shape);
        Assert.Equal(new Shape(-1, 60), b.Flatten(x).Shape);
        var m = b.MatMul(x, b.Parameter("w", "weight", new Tensor(new Shape(5, 2))));
        Assert.Equal(new Shape(-1, 3, 4, 2), m.Shape);
        Assert.Equal(new Shape(-1, 3, 4, 5), b.Div(b.Sub(x, x), b.HardSwish(b.HardSigmoid(b.Silu(b.LeakyRelu(x, 0.2f))))).Shape);
        var e = Assert.Throws<ShapeMismatchException>(() => b.Linear(x, 3));
        Assert.Contains("[N,3,4,5]", e.Message);
    }
}

using Shrink.Execution;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Graph;

public class GraphBuilderSpatialTests
{
    private static Shrink.Graph.Graph Build()
    {
        var b = new GraphBuilder("net", seed: 3);
        var x = b.Input(3, 12, 11);
        x = b.Conv2d(x, 8, kernel: 3, padding: 1);                               // conv1: 8·3·9 + 8
        x = b.BatchNorm2d(x);                                                     // bn1: 4 × 8
        x = b.Apply(new Relu(), x);
        x = b.MaxPool2d(x, 2, ceilMode: true);                                    // 6x6
        x = b.Conv2d(x, 8, (3, 1), padding: (1, 0), groups: 8, bias: false);      // conv2: 8·3
        x = b.Conv2d(x, 8, (1, 3), padding: (0, 1), groups: 8, bias: false, name: "sep");  // sep: 8·3
        x = b.Pad2d(x, 1, 0, 0, 1);                                               // 7x7
        x = b.AvgPool2d(x, 3, stride: 2, padding: 1, countIncludePad: false);    // 4x4
        using (b.Scope("head"))
        {
            var y = b.Conv2d(x, 4, 1, stride: 1, groups: 2);                      // head.conv1: 4·4 + 4
            var gap = b.GlobalAvgPool(y);
            var gmp = b.GlobalMaxPool(y);
            return b.Build(gap, gmp);
        }
    }

    [Fact]
    public void Parameters_have_pytorch_names_counts_and_initialisation()
    {
        var g = Build();
        var ps = g.Parameters.ToDictionary(p => p.Name, p => p);
        Assert.Equal(
            ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
             "conv2.weight", "sep.weight", "head.conv1.weight", "head.conv1.bias"],
            g.Parameters.Select(p => p.Name).ToArray());
        Assert.Equal(8 * 3 * 9 + 8 + 4 * 8 + 8 * 3 + 8 * 3 + 4 * 4 + 4, g.ParameterCount);
        Assert.Equal(new Shape(8, 1, 3, 1), ps["conv2.weight"].Shape);
        Assert.Equal(new Shape(8, 1, 1, 3), ps["sep.weight"].Shape);
        Assert.False(ps["bn1.running_mean"].Trainable);
        Assert.False(ps["bn1.running_var"].Trainable);
        Assert.True(ps["bn1.weight"].Trainable);
        Assert.All(ps["bn1.weight"].Data.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(ps["bn1.running_var"].Data.ToArray(), v => Assert.Equal(1f, v));
        float bound = 1f / MathF.Sqrt(27);
        Assert.All(ps["conv1.weight"].Data.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(ps["conv1.bias"].Data.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(ps["conv1.weight"].Data.ToArray().Max() > bound / 2);

        var bn = (BatchNormalization)g.FindNode("bn1")!.Op;
        Assert.Equal(0.9f, bn.Momentum, 6);
        Assert.Equal(new Shape(Shape.Dynamic, 4, 1, 1), g.Outputs[0].Shape);
        Assert.Equal(["Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "Conv", "Pad", "AveragePool", "Conv", "GlobalAveragePool", "GlobalMaxPool"],
            g.Nodes.Select(n => n.OpType).ToArray());
        Assert.Equal(4, ((Conv)g.FindNode("head.conv1")!.Op).InferShapes([new Shape(1, 8, 4, 4), new Shape(4, 4, 1, 1)])[0][1]);
    }

    [Fact]
    public void Graph_trains_forward_and_backward_end_to_end()
    {
        var g = Build();
        var x = GradientCheckRandom(new Shape(2, 3, 12, 11));
        using var tape = Tape.Forward(g, [x], training: true);
        Assert.Equal(new Shape(2, 4, 1, 1), tape.Outputs[0].Shape);
        var ones = new Tensor(tape.Outputs[0].Shape);
        ones.Fill(1f);
        tape.Backward([ones, ones]);
        foreach (var p in g.TrainableParameters)
        {
            Assert.NotNull(p.Grad);
            Assert.False(p.Grad!.HasNonFinite(), p.Name);
            Assert.True(p.Grad.ToArray().Any(v => v != 0), $"{p.Name} got no gradient");
        }
        Assert.Null(g.Parameters.First(p => p.Name == "bn1.running_mean").Grad);
        Assert.True(g.Parameters.First(p => p.Name == "bn1.running_mean").Data.ToArray().Any(v => v != 0), "running mean updated");
    }

    [Fact]
    public void Bad_builder_arguments_are_rejected()
    {
        var b = new GraphBuilder();
        var x = b.Input(6, 8, 8);
        var e = Assert.Throws<ArgumentException>(() => b.Conv2d(x, 4, 3, groups: 4));
        Assert.Contains("groups=4", e.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<ShapeMismatchException>(() => b.MaxPool2d(x, 9));
        Assert.Contains("[N,6,8,8]", e2.Message, StringComparison.Ordinal);
        Assert.Contains("MaxPool", e2.Message, StringComparison.Ordinal);
    }

    private static Tensor GradientCheckRandom(Shape s) => Shrink.Tests.Ops.GradientCheck.Random(s, 42);
}

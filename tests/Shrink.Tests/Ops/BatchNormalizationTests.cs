using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

public class BatchNormalizationTests
{
    private static Tensor[] Inputs(Shape x, int seed)
    {
        int c = x[1];
        return
        [
            GradientCheck.Random(x, seed, -2, 3),
            GradientCheck.Random(new Shape(c), seed + 1, 0.5f, 1.5f),
            GradientCheck.Random(new Shape(c), seed + 2),
            GradientCheck.Random(new Shape(c), seed + 3),
            GradientCheck.Random(new Shape(c), seed + 4, 0.5f, 2f),
        ];
    }

    public static IEnumerable<object[]> Shapes => new object[][]
    {
        [new[] { 2, 3, 4, 5 }],
        [new[] { 1, 5, 3, 3 }],
        [new[] { 3, 1, 7, 1 }],
        [new[] { 4, 6 }],
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Training_gradients_through_batch_statistics(int[] dims)
    {
        var inputs = Inputs(new Shape(dims), 11);
        GradientCheck.AssertOp(new BatchNormalization(), inputs, training: true, wrt: [0, 1, 2], maxElementsPerInput: 40);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Eval_gradients_are_affine_including_running_stats(int[] dims)
    {
        var inputs = Inputs(new Shape(dims), 21);
        GradientCheck.AssertOp(new BatchNormalization(), inputs, training: false, maxElementsPerInput: 40);
    }

    [Fact]
    public void Training_normalises_and_updates_running_stats_in_place()
    {
        var inputs = Inputs(new Shape(3, 2, 4, 5), 5);
        var x = inputs[0];
        var mean0 = inputs[3].ToArray();
        var var0 = inputs[4].ToArray();
        var op = new BatchNormalization { Momentum = 0.8f, Epsilon = 1e-3f };
        var y = new Tensor(x.Shape);
        using (var ctx = new OpContext(training: true)) op.Forward(ctx, inputs, [y]);
        for (int c = 0; c < 2; c++)
        {
            var vals = new List<double>();
            for (int n = 0; n < 3; n++) vals.AddRange(x.Span.Slice((n * 2 + c) * 20, 20).ToArray().Select(v => (double)v));
            double m = vals.Average(), v = vals.Sum(t => (t - m) * (t - m)) / vals.Count;
            Assert.Equal(0.8 * mean0[c] + 0.2 * m, inputs[3][c], 5);
            Assert.Equal(0.8 * var0[c] + 0.2 * v * vals.Count / (vals.Count - 1), inputs[4][c], 5);
            double expected = (x[0, c, 1, 2] - m) / Math.Sqrt(v + 1e-3) * inputs[1][c] + inputs[2][c];
            Assert.Equal(expected, y[0, c, 1, 2], 4);
        }
    }

    [Fact]
    public void Eval_uses_running_stats()
    {
        var inputs = Inputs(new Shape(2, 3, 2, 2), 8);
        var y = new Tensor(inputs[0].Shape);
        using (var ctx = new OpContext(training: false)) new BatchNormalization().Forward(ctx, inputs, [y]);
        for (int i = 0; i < y.Length; i++)
        {
            int c = i / 4 % 3;
            double e = (inputs[0][i] - inputs[3][c]) / Math.Sqrt(inputs[4][c] + 1e-5) * inputs[1][c] + inputs[2][c];
            Assert.Equal(e, y[i], 4);
        }
    }

    [Fact]
    public void Bad_shapes_and_single_value_batches_are_rejected()
    {
        var e = Assert.Throws<ShapeMismatchException>(() =>
            new BatchNormalization().InferShapes([new Shape(2, 3, 4, 4), new Shape(4), new Shape(3), new Shape(3), new Shape(3)]));
        Assert.Contains("[2,3,4,4]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4]", e.Message, StringComparison.Ordinal);
        var inputs = Inputs(new Shape(1, 3, 1, 1), 1);
        using var ctx = new OpContext(training: true);
        Assert.Throws<ShapeMismatchException>(() => new BatchNormalization().Forward(ctx, inputs, [new Tensor(inputs[0].Shape)]));
    }
}

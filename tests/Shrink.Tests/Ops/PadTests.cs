using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

public class PadTests
{
    [Fact]
    public void Pads_any_rank_with_a_constant()
    {
        var x = Tensor.FromArray(new Shape(2, 3), 1, 2, 3, 4, 5, 6);
        var op = new Pad { Pads = [1, 0, 0, 2], Value = -1 };
        var y = new Tensor(op.InferShapes([x.Shape])[0]);
        using var ctx = new OpContext(false);
        op.Forward(ctx, [x], [y]);
        Assert.Equal(new Shape(3, 5), y.Shape);
        Assert.Equal(new float[] { -1, -1, -1, -1, -1, 1, 2, 3, -1, -1, 4, 5, 6, -1, -1 }, y.ToArray());
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 0, 1, 2, 0, 1, 0, 1, 3 })]
    [InlineData(new[] { 7 }, new[] { 2, 3 })]
    [InlineData(new[] { 1, 2, 3 }, new[] { 0, 0, 0, 0, 0, 0 })]
    [InlineData(new[] { 1, 1, 1, 1 }, new[] { 0, 0, 1, 1, 0, 0, 1, 1 })]
    public void Gradients_match_central_differences(int[] dims, int[] pads)
    {
        var x = GradientCheck.Random(new Shape(dims), 3);
        GradientCheck.AssertOp(new Pad { Pads = pads, Value = 0.5f }, [x]);
    }

    [Fact]
    public void Bad_pads_are_rejected_naming_the_input()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => new Pad { Pads = [0, -1, 0, 0] }.InferShapes([new Shape(2, 3)]));
        Assert.Contains("negative", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2,3]", e.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<ShapeMismatchException>(() => new Pad { Pads = [1, 1] }.InferShapes([new Shape(2, 3)]));
        Assert.Contains("needs 4", e2.Message, StringComparison.Ordinal);
        Assert.Equal(new Shape(Shape.Dynamic, 3, 7, 6),
            new Pad { Pads = [0, 0, 2, 1, 0, 0, 1, 2] }.InferShapes([new Shape(Shape.Dynamic, 3, 4, 3)])[0]);
    }
}

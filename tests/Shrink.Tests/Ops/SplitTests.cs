using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

public class SplitTests
{
    [Fact]
    public void Splits_channels_into_consecutive_parts()
    {
        // [2, 3, 2]: values 0..11; split axis 1 into [1, 2].
        var x = Tensor.FromArray(new Shape(2, 3, 2), Enumerable.Range(0, 12).Select(i => (float)i).ToArray());
        var op = new Split { Axis = 1, Sizes = [1, 2] };
        var shapes = op.InferShapes([x.Shape]);
        Assert.Equal([new Shape(2, 1, 2), new Shape(2, 2, 2)], shapes);
        var outs = shapes.Select(s => new Tensor(s)).ToArray();
        op.Forward(new OpContext(false), [x], outs);
        Assert.Equal([0f, 1, 6, 7], outs[0].ToArray());
        Assert.Equal([2f, 3, 4, 5, 8, 9, 10, 11], outs[1].ToArray());
    }

    [Theory]
    [InlineData(6, 2)]
    [InlineData(7, 3)]
    [InlineData(1, 1)]
    public void Equal_parts_take_the_remainder_last(int length, int parts)
    {
        var op = new Split { Axis = -1, NumOutputs = parts };
        var sizes = op.PartSizes(length);
        Assert.Equal(parts, sizes.Length);
        Assert.Equal(length, sizes.Sum());
        Assert.All(sizes[..^1], s => Assert.Equal(sizes[0], s));
    }

    [Fact]
    public void Gradient_matches_central_differences()
    {
        var x = GradientCheck.Random(new Shape(2, 5, 3, 2), seed: 3);
        GradientCheck.AssertOp(new Split { Axis = 1, Sizes = [2, 3] }, [x]);
        GradientCheck.AssertOp(new Split { Axis = 3, NumOutputs = 2 }, [x]);
    }

    [Fact]
    public void Sizes_that_do_not_sum_to_the_axis_are_rejected()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => new Split { Axis = 1, Sizes = [2, 2] }.InferShapes([new Shape(1, 5, 2, 2)]));
        Assert.Contains("sum to the axis length 5", e.Message);
    }
}

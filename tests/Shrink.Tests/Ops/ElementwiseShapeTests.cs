using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

/// <summary>Shape inference (dynamic batch included) and the bad-input messages of the element-wise and shape ops.</summary>
public class ElementwiseShapeTests
{
    private static Shape S(params int[] d) => new(d);
    private static Shape Infer(Operator op, params Shape[] inputs) => op.InferShapes(inputs)[0];

    [Fact]
    public void Broadcasting_mismatch_through_AddNode_names_node_op_and_both_shapes()
    {
        var g = new Shrink.Graph.Graph();
        var a = g.AddInput("a", S(-1, 3, 4, 5));
        var b = g.AddInput("b", S(4, 1, 1));
        var e = Assert.Throws<ShapeMismatchException>(() => g.AddNode(new Add(), [a, b], "residual"));
        Assert.Contains("'residual'", e.Message);
        Assert.Contains("(Add)", e.Message);
        Assert.Contains("[N,3,4,5]", e.Message);
        Assert.Contains("[4,1,1]", e.Message);
    }

    [Fact]
    public void Broadcast_shapes_keep_the_dynamic_batch()
    {
        Assert.Equal(S(-1, 3, 4, 5), Infer(new Mul(), S(-1, 3, 4, 5), S(3, 1, 1)));
        Assert.Equal(S(4, 5), Infer(new Div(), S(1, 5), S(4, 1)));
        Assert.Equal(S(-1, 6), Infer(new PRelu(), S(-1, 6), S(6)));
    }

    [Fact]
    public void PRelu_slope_that_does_not_broadcast_is_named()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Infer(new PRelu(), S(-1, 3, 4, 4), S(4, 1, 1)));
        Assert.Contains("[4,1,1]", e.Message);
        Assert.Contains("[N,3,4,4]", e.Message);
    }

    [Theory]
    [InlineData(new[] { -1, 400 }, new[] { -1, 400 })]
    [InlineData(new[] { 0, -1 }, new[] { -1, 400 })]
    [InlineData(new[] { -1, 16, 25 }, new[] { -1, 16, 25 })]
    [InlineData(new[] { 0, 16, -1 }, new[] { -1, 16, 25 })]
    [InlineData(new[] { -1, 200 }, new[] { -1, 200 })]
    [InlineData(new[] { 0, 0, 25 }, new[] { -1, 16, 25 })]
    public void Reshape_keeps_the_batch_dynamic(int[] target, int[] expected) =>
        Assert.Equal(new Shape(expected), Infer(new Reshape { Shape = target }, S(-1, 16, 5, 5)));

    [Fact]
    public void Reshape_on_concrete_shapes()
    {
        Assert.Equal(S(8, 400), Infer(new Reshape { Shape = [-1, 400] }, S(8, 16, 5, 5)));
        Assert.Equal(S(8, 400), Infer(new Reshape { Shape = [0, -1] }, S(8, 16, 5, 5)));
        Assert.Equal(S(2, 3, 4), Infer(new Reshape { Shape = [2, 3, 4] }, S(24)));
        Assert.Equal(S(0, 7), Infer(new Reshape { Shape = [0, 7] }, S(0, 7)));
    }

    [Theory]
    [InlineData(new[] { 8, 16, 5, 5 }, new[] { -1, 7 }, "cannot be reshaped")]
    [InlineData(new[] { 8, 16, 5, 5 }, new[] { 8, 401 }, "cannot be reshaped")]
    [InlineData(new[] { -1, 16, 5, 5 }, new[] { 0, 401 }, "cannot be reshaped")]
    [InlineData(new[] { 8, 16 }, new[] { -1, -1 }, "more than one")]
    [InlineData(new[] { 8, 16 }, new[] { 0, 0, 0 }, "rank 2")]
    public void Reshape_that_does_not_fit_is_rejected(int[] x, int[] target, string expected)
    {
        var g = new Shrink.Graph.Graph();
        var v = g.AddInput("x", new Shape(x));
        var e = Assert.Throws<ShapeMismatchException>(() => g.AddNode(new Reshape { Shape = target }, [v], "flat"));
        Assert.Contains("'flat' (Reshape)", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(new Shape(x).ToString(), e.Message);
    }

    [Fact]
    public void Concat_shapes_and_mismatched_non_axis_dims()
    {
        Assert.Equal(S(-1, 7, 4, 4), Infer(new Concat { Axis = 1 }, S(-1, 3, 4, 4), S(-1, 4, 4, 4)));
        Assert.Equal(S(-1, 3), Infer(new Concat { Axis = 0 }, S(-1, 3), S(2, 3)));
        var g = new Shrink.Graph.Graph();
        var a = g.AddInput("a", S(-1, 3, 4, 4));
        var b = g.AddInput("b", S(-1, 3, 5, 4));
        var e = Assert.Throws<ShapeMismatchException>(() => g.AddNode(new Concat { Axis = 1 }, [a, b], "cat"));
        Assert.Contains("'cat' (Concat)", e.Message);
        Assert.Contains("[N,3,5,4]", e.Message);
        Assert.Contains("[N,3,4,4]", e.Message);
        Assert.Contains("dimension 2", e.Message);
        Assert.Throws<ShapeMismatchException>(() => Infer(new Concat { Axis = 4 }, S(1, 2, 3, 4)));
        Assert.Throws<ShapeMismatchException>(() => Infer(new Concat { Axis = 0 }, S(1, 2), S(1, 2, 3)));
    }

    [Fact]
    public void Flatten_shapes()
    {
        Assert.Equal(S(-1, 400), Infer(new Flatten(), S(-1, 16, 5, 5)));
        Assert.Equal(S(1, 24), Infer(new Flatten { Axis = 0 }, S(2, 3, 4)));
        Assert.Equal(S(24, 1), Infer(new Flatten { Axis = 3 }, S(2, 3, 4)));
        Assert.Equal(S(-1, 5), Infer(new Flatten { Axis = -1 }, S(-1, 16, 5)));
        Assert.Throws<ShapeMismatchException>(() => Infer(new Flatten { Axis = 4 }, S(2, 3, 4)));
    }

    [Fact]
    public void MatMul_shapes_and_mismatches()
    {
        Assert.Equal(S(-1, 3, 5), Infer(new MatMul(), S(-1, 3, 4), S(4, 5)));
        Assert.Equal(S(2, 7, 3, 5), Infer(new MatMul(), S(2, 1, 3, 4), S(7, 4, 5)));
        var inner = Assert.Throws<ShapeMismatchException>(() => Infer(new MatMul(), S(3, 4), S(5, 6)));
        Assert.Contains("[3,4]", inner.Message);
        Assert.Contains("[5,6]", inner.Message);
        var batch = Assert.Throws<ShapeMismatchException>(() => Infer(new MatMul(), S(2, 3, 4), S(3, 4, 5)));
        Assert.Contains("batch", batch.Message);
        var vector = Assert.Throws<ShapeMismatchException>(() => Infer(new MatMul(), S(4), S(4, 5)));
        Assert.Contains("rank", vector.Message);
        Assert.Equal(2L * 7 * 3 * 5 * 4, new MatMul().Macs([S(2, 1, 3, 4), S(7, 4, 5)], [S(2, 7, 3, 5)]));
    }

    [Fact]
    public void Transpose_shapes_and_bad_perm()
    {
        Assert.Equal(S(-1, 5, 4, 3), Infer(new Transpose { Perm = [0, 3, 2, 1] }, S(-1, 3, 4, 5)));
        Assert.Equal(S(5, 4, 3), Infer(new Transpose(), S(3, 4, 5)));
        var e = Assert.Throws<ShapeMismatchException>(() => Infer(new Transpose { Perm = [0, 0, 1] }, S(3, 4, 5)));
        Assert.Contains("[0,0,1]", e.Message);
        Assert.Throws<ShapeMismatchException>(() => Infer(new Transpose { Perm = [1, 0] }, S(3, 4, 5)));
    }

    [Fact]
    public void Softmax_axis_out_of_range()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Infer(new Softmax { Axis = 2 }, S(-1, 10)));
        Assert.Contains("[N,10]", e.Message);
    }
}

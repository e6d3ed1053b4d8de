using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

public class ConvTests
{
    private static Tensor Run(Operator op, params Tensor[] inputs)
    {
        var shape = op.InferShapes(inputs.Select(t => t.Shape).ToArray())[0];
        var y = new Tensor(shape);
        using var ctx = new OpContext(training: false);
        op.Forward(ctx, inputs, [y]);
        return y;
    }

    // n, cin, h, w, cout, kh, kw, stride, pads (t,l,b,r), dilation, group, bias
    public static IEnumerable<object[]> Configs => new object[][]
    {
        [1, 3, 7, 7, 4, 3, 3, 1, new[] { 1, 1, 1, 1 }, 1, 1, true],     // plain 3x3 same
        [2, 3, 7, 6, 4, 3, 3, 2, new[] { 1, 1, 1, 1 }, 1, 1, true],     // stride 2
        [1, 2, 6, 7, 3, 3, 3, 1, new[] { 0, 1, 2, 0 }, 1, 1, true],     // asymmetric pads
        [1, 2, 9, 8, 3, 3, 3, 1, new[] { 2, 2, 2, 2 }, 2, 1, false],    // dilation 2
        [2, 4, 5, 5, 6, 3, 3, 1, new[] { 1, 1, 1, 1 }, 1, 2, true],     // groups 2
        [2, 5, 7, 7, 5, 3, 3, 1, new[] { 1, 1, 1, 1 }, 1, 5, true],     // depthwise
        [1, 3, 7, 7, 6, 3, 3, 2, new[] { 1, 1, 1, 1 }, 1, 3, false],    // depthwise, multiplier 2, stride 2
        [2, 5, 4, 3, 3, 1, 1, 1, new[] { 0, 0, 0, 0 }, 1, 1, true],     // 1x1 (pure GEMM)
        [1, 3, 5, 6, 4, 1, 1, 2, new[] { 0, 0, 0, 0 }, 1, 1, true],     // 1x1 stride 2 (im2col)
        [1, 4, 6, 5, 4, 3, 1, 1, new[] { 1, 0, 1, 0 }, 1, 4, false],    // depthwise kx1
        [1, 4, 5, 6, 4, 1, 3, 1, new[] { 0, 1, 0, 1 }, 1, 4, false],    // depthwise 1xk
        [1, 3, 5, 5, 2, 3, 1, 1, new[] { 1, 0, 1, 0 }, 1, 1, true],     // dense kx1
        [3, 1, 1, 1, 2, 1, 1, 1, new[] { 0, 0, 0, 0 }, 1, 1, true],     // 1x1 spatial
        [1, 3, 5, 7, 2, 5, 3, 3, new[] { 2, 1, 1, 0 }, 1, 1, true],     // odd everything
    };

    private static (Conv Op, Tensor X, Tensor W, Tensor? B) Make(int n, int cin, int h, int w, int cout, int kh, int kw,
        int stride, int[] pads, int dil, int group, bool bias, int seed = 1)
    {
        var op = new Conv { Strides = [stride, stride], Pads = pads, Dilations = [dil, dil], Group = group };
        var x = GradientCheck.Random(new Shape(n, cin, h, w), seed);
        var wt = GradientCheck.Random(new Shape(cout, cin / group, kh, kw), seed + 1);
        var b = bias ? GradientCheck.Random(new Shape(cout), seed + 2) : null;
        return (op, x, wt, b);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Forward_matches_naive_reference(int n, int cin, int h, int w, int cout, int kh, int kw, int stride, int[] pads, int dil, int group, bool bias)
    {
        var (op, x, wt, b) = Make(n, cin, h, w, cout, kh, kw, stride, pads, dil, group, bias);
        var y = b is null ? Run(op, x, wt) : Run(op, x, wt, b);
        var r = SpatialReference.Conv(x, wt, b, op.Strides, pads, op.Dilations, group, y.Shape[2], y.Shape[3]);
        SpatialReference.AssertClose(r, y, 1e-4, 1e-5, op.ToString());
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Gradients_match_central_differences(int n, int cin, int h, int w, int cout, int kh, int kw, int stride, int[] pads, int dil, int group, bool bias)
    {
        var (op, x, wt, b) = Make(n, cin, h, w, cout, kh, kw, stride, pads, dil, group, bias);
        GradientCheck.AssertOp(op, b is null ? [x, wt] : [x, wt, b], maxElementsPerInput: 32);
    }

    [Fact]
    public void Gradients_for_a_subset_of_inputs_only()
    {
        var (op, x, wt, b) = Make(2, 4, 5, 5, 6, 3, 3, 1, [1, 1, 1, 1], 1, 2, true);
        GradientCheck.AssertOp(op, [x, wt, b!], wrt: [1], maxElementsPerInput: 16);
        GradientCheck.AssertOp(op, [x, wt, b!], wrt: [2]);
        GradientCheck.AssertOp(op, [x, wt, b!], wrt: [0], maxElementsPerInput: 16);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 3, 7)]
    [InlineData(1, 5, 13)]
    [InlineData(3, 17, 7)]
    [InlineData(1, 17, 13)]
    public void Awkward_sizes_match_reference(int n, int c, int hw)
    {
        foreach (var (k, s, p, g) in new[] { (3, 1, 1, 1), (3, 2, 1, c), (1, 1, 0, 1), (5, 2, 2, 1) })
        {
            int cout = g == 1 ? (c % 4) + 2 : c;
            var op = new Conv { Strides = [s, s], Pads = [p, p, p, p], Group = g };
            var x = GradientCheck.Random(new Shape(n, c, hw, hw), 3);
            var w = GradientCheck.Random(new Shape(cout, c / g, k, k), 4);
            var b = GradientCheck.Random(new Shape(cout), 5);
            var y = Run(op, x, w, b);
            var r = SpatialReference.Conv(x, w, b, op.Strides, op.Pads, op.Dilations, g, y.Shape[2], y.Shape[3]);
            SpatialReference.AssertClose(r, y, 1e-4, 1e-5, $"{op} c={c} hw={hw}");
        }
    }

    [Fact]
    public void Large_batch_runs_in_parallel_and_deterministically()
    {
        var (op, x, wt, b) = Make(4, 16, 24, 24, 32, 3, 3, 1, [1, 1, 1, 1], 1, 1, true);
        var y1 = Run(op, x, wt, b!);
        var y2 = Run(op, x, wt, b!);
        Assert.Equal(y1.ToArray(), y2.ToArray());
        // Each image alone (batch 1 takes the sequential path) gives bit-identical results.
        int per = x.Length / 4, perY = y1.Length / 4;
        for (int n = 0; n < 4; n++)
        {
            var xi = new Tensor(x.Shape.WithBatch(1), x.Span.Slice(n * per, per).ToArray());
            var yi = Run(op, xi, wt, b!);
            Assert.Equal(y1.Span.Slice(n * perY, perY).ToArray(), yi.ToArray());
        }
        var dy = GradientCheck.Random(y1.Shape, 9);
        Tensor Grad()
        {
            var dw = new Tensor(wt.Shape);
            var dx = new Tensor(x.Shape);
            using var ctx = new OpContext(true);
            op.Forward(ctx, [x, wt, b!], [y1]);
            op.Backward(ctx, [x, wt, b!], [y1], [dy], [dx, dw, null]);
            return dw;
        }
        Assert.Equal(Grad().ToArray(), Grad().ToArray());
    }

    [Fact]
    public void Shapes_macs_and_attributes()
    {
        var op = new Conv { Strides = [2, 2], Pads = [1, 1, 1, 1], Group = 2 };
        Shape x = new(Shape.Dynamic, 4, 9, 9), w = new(6, 2, 3, 3);
        Assert.Equal(new Shape(Shape.Dynamic, 6, 5, 5), op.InferShapes([x, w])[0]);
        Assert.Equal(2L * 6 * 5 * 5 * 2 * 3 * 3, op.Macs([x.WithBatch(2), w], [new Shape(2, 6, 5, 5)]));
        Assert.Equal("s=2 p=1 g=2", op.Attributes);
        Assert.Equal("s=1 p=0,1,2,0 d=2", new Conv { Pads = [0, 1, 2, 0], Dilations = [2, 2] }.Attributes);
    }

    [Fact]
    public void Shape_mismatch_through_the_graph_names_node_op_and_both_shapes()
    {
        var g = new Shrink.Graph.Graph("t");
        var x = g.AddInput("x", new Shape(Shape.Dynamic, 3, 28, 28));
        var w = g.AddParameter("c1.weight", new Tensor(new Shape(6, 1, 5, 5)));
        var e = Assert.Throws<ShapeMismatchException>(() => g.AddNode(new Conv(), [x, w], "c1"));
        Assert.Contains("'c1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Conv", e.Message, StringComparison.Ordinal);
        Assert.Contains("[N,3,28,28]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[6,1,5,5]", e.Message, StringComparison.Ordinal);
        Assert.Contains("group 1", e.Message, StringComparison.Ordinal);

        var b = g.AddParameter("c2.bias", new Tensor(new Shape(5)));
        var w2 = g.AddParameter("c2.weight", new Tensor(new Shape(6, 3, 5, 5)));
        var e2 = Assert.Throws<ShapeMismatchException>(() => g.AddNode(new Conv(), [x, w2, b], "c2"));
        Assert.Contains("[5]", e2.Message, StringComparison.Ordinal);
        Assert.Contains("[6,3,5,5]", e2.Message, StringComparison.Ordinal);

        var small = g.AddInput("s", new Shape(1, 3, 2, 2));
        var e3 = Assert.Throws<ShapeMismatchException>(() => g.AddNode(new Conv(), [small, w2], "c3"));
        Assert.Contains("[1,3,2,2]", e3.Message, StringComparison.Ordinal);

        var e4 = Assert.Throws<ShapeMismatchException>(() => g.AddNode(new Conv { Group = 4 }, [x, w2], "c4"));
        Assert.Contains("group 4", e4.Message, StringComparison.Ordinal);
    }
}

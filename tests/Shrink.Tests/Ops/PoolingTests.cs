using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

public class PoolingTests
{
    private static Tensor Run(Operator op, Tensor x)
    {
        var y = new Tensor(op.InferShapes([x.Shape])[0]);
        using var ctx = new OpContext(training: false);
        op.Forward(ctx, [x], [y]);
        return y;
    }

    /// <summary>Distinct values (a shuffled ramp, spaced 0.05 apart) so max pooling has no ties within eps.</summary>
    private static Tensor Distinct(Shape shape, int seed)
    {
        var t = new Tensor(shape);
        var rng = new Random(seed);
        var order = Enumerable.Range(0, t.Length).OrderBy(_ => rng.Next()).ToArray();
        for (int i = 0; i < order.Length; i++) t[i] = (order[i] - t.Length / 2f) * 0.05f;
        return t;
    }

    // h, w, k, stride, pads (t,l,b,r), dilation, ceil
    public static IEnumerable<object[]> MaxConfigs => new object[][]
    {
        [6, 6, 2, 2, new[] { 0, 0, 0, 0 }, 1, false],
        [7, 7, 2, 2, new[] { 0, 0, 0, 0 }, 1, false],   // plain 2x2 fast path, odd size (last row and column unused)
        [7, 7, 3, 2, new[] { 1, 1, 1, 1 }, 1, false],
        [7, 6, 3, 2, new[] { 0, 0, 0, 0 }, 1, true],
        [8, 7, 2, 2, new[] { 1, 0, 0, 1 }, 1, true],
        [7, 8, 3, 1, new[] { 0, 2, 1, 0 }, 1, false],
        [9, 9, 3, 2, new[] { 2, 2, 2, 2 }, 2, false],
        [5, 5, 2, 3, new[] { 1, 1, 1, 1 }, 1, true],
    };

    [Theory]
    [MemberData(nameof(MaxConfigs))]
    public void MaxPool_matches_reference_and_gradients(int h, int w, int k, int s, int[] pads, int d, bool ceil)
    {
        var op = new MaxPool { KernelShape = [k, k], Strides = [s, s], Pads = pads, Dilations = [d, d], CeilMode = ceil };
        var x = Distinct(new Shape(2, 3, h, w), h * 31 + w);
        var y = Run(op, x);
        SpatialReference.AssertClose(SpatialReference.MaxPool(x, op.KernelShape, op.Strides, pads, op.Dilations, y.Shape[2], y.Shape[3]), y, 0, 0, op.ToString());
        GradientCheck.AssertOp(op, [x], maxElementsPerInput: 48);
    }

    /// <summary>The plain 2×2 pool's vectorised plane kernel on maps wide enough for every vector width, odd sizes included.</summary>
    [Theory]
    [InlineData(28, 28)]
    [InlineData(14, 14)]
    [InlineData(29, 35)]
    [InlineData(40, 66)]
    public void Plain_2x2_max_pool_matches_reference_and_gradients(int h, int w)
    {
        var op = new MaxPool { KernelShape = [2, 2], Strides = [2, 2] };
        var x = Distinct(new Shape(2, 3, h, w), h * 31 + w);
        var y = Run(op, x);
        SpatialReference.AssertClose(SpatialReference.MaxPool(x, op.KernelShape, op.Strides, op.Pads, op.Dilations, y.Shape[2], y.Shape[3]), y, 0, 0, op.ToString());
        GradientCheck.AssertOp(op, [x], maxElementsPerInput: 96);
    }

    // h, w, k, stride, pads, ceil, includePad
    public static IEnumerable<object[]> AvgConfigs => new object[][]
    {
        [6, 6, 2, 2, new[] { 0, 0, 0, 0 }, false, false],
        [7, 7, 3, 2, new[] { 1, 1, 1, 1 }, false, true],
        [7, 7, 3, 2, new[] { 1, 1, 1, 1 }, false, false],
        [7, 6, 3, 2, new[] { 1, 1, 1, 1 }, true, true],
        [7, 6, 3, 2, new[] { 1, 1, 1, 1 }, true, false],
        [8, 7, 2, 2, new[] { 1, 0, 0, 1 }, true, true],
        [6, 5, 3, 1, new[] { 0, 2, 1, 0 }, false, false],
        [5, 5, 2, 3, new[] { 0, 0, 0, 0 }, true, false],
    };

    [Theory]
    [MemberData(nameof(AvgConfigs))]
    public void AveragePool_matches_reference_and_gradients(int h, int w, int k, int s, int[] pads, bool ceil, bool includePad)
    {
        var op = new AveragePool { KernelShape = [k, k], Strides = [s, s], Pads = pads, CeilMode = ceil, CountIncludePad = includePad };
        var x = GradientCheck.Random(new Shape(2, 3, h, w), h * 31 + w);
        var y = Run(op, x);
        SpatialReference.AssertClose(SpatialReference.AvgPool(x, op.KernelShape, op.Strides, pads, includePad, y.Shape[2], y.Shape[3]), y, 1e-5, 1e-6, op.ToString());
        GradientCheck.AssertOp(op, [x], maxElementsPerInput: 48);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 3, 7)]
    [InlineData(1, 5, 13)]
    [InlineData(3, 17, 7)]
    [InlineData(1, 17, 13)]
    public void Awkward_sizes_match_reference(int n, int c, int hw)
    {
        var x = Distinct(new Shape(n, c, hw, hw), c * 7 + hw);
        foreach (var (k, s, p, ceil) in new[] { (1, 1, 0, false), (2, 2, 0, true), (3, 2, 1, false), (3, 2, 1, true) })
        {
            if (k > hw + 2 * p) continue;
            var mp = new MaxPool { KernelShape = [k, k], Strides = [s, s], Pads = [p, p, p, p], CeilMode = ceil };
            var y = Run(mp, x);
            SpatialReference.AssertClose(SpatialReference.MaxPool(x, mp.KernelShape, mp.Strides, mp.Pads, mp.Dilations, y.Shape[2], y.Shape[3]), y, 0, 0, mp.ToString());
            foreach (bool inc in new[] { false, true })
            {
                var ap = new AveragePool { KernelShape = [k, k], Strides = [s, s], Pads = [p, p, p, p], CeilMode = ceil, CountIncludePad = inc };
                var ya = Run(ap, x);
                SpatialReference.AssertClose(SpatialReference.AvgPool(x, ap.KernelShape, ap.Strides, ap.Pads, inc, ya.Shape[2], ya.Shape[3]), ya, 1e-5, 1e-6, ap.ToString());
            }
        }
    }

    [Theory]
    [InlineData(4, 2, 0, 2, false, 2)]   // floor((4−2)/2)+1
    [InlineData(5, 2, 0, 2, false, 2)]
    [InlineData(5, 2, 0, 2, true, 3)]    // ceil keeps the partial window starting at 4 < 5
    [InlineData(6, 3, 1, 2, true, 4)]    // (6+2−3)/2 = 2.5 → 3+1 = 4; last start 6 < 6+1
    [InlineData(5, 3, 1, 2, true, 3)]    // (5+2−3)/2 = 2 → 3, exact
    [InlineData(4, 2, 1, 2, true, 3)]    // (4+2−2)/2 = 2 → 3; last start 4 < 4+1
    [InlineData(2, 1, 0, 2, true, 1)]    // ceil((2−1)/2) = 1 → 2 windows, but start 2 ≥ 2+0 drops it
    public void Output_size_follows_the_ceil_rule(int input, int k, int pad, int stride, bool ceil, int expected) =>
        Assert.Equal(expected, Pooling.OutputSize(input, k, stride, pad, pad, 1, ceil));

    [Fact]
    public void Global_pools_match_reference_and_gradients()
    {
        var x = Distinct(new Shape(2, 3, 5, 7), 3);
        var gap = Run(new GlobalAveragePool(), x);
        var gmp = Run(new GlobalMaxPool(), x);
        Assert.Equal(new Shape(2, 3, 1, 1), gap.Shape);
        for (int p = 0; p < 6; p++)
        {
            var plane = x.Span.Slice(p * 35, 35).ToArray();
            Assert.Equal(plane.Average(), gap[p], 5);
            Assert.Equal(plane.Max(), gmp[p]);
        }
        GradientCheck.AssertOp(new GlobalAveragePool(), [x]);
        GradientCheck.AssertOp(new GlobalMaxPool(), [x], maxElementsPerInput: 210);
        Assert.Equal(new Shape(Shape.Dynamic, 8, 1, 1), new GlobalAveragePool().InferShapes([new Shape(Shape.Dynamic, 8, 3, 3)])[0]);
    }

    [Fact]
    public void Bad_inputs_name_the_shapes()
    {
        var small = new Shape(1, 3, 2, 2);
        var e = Assert.Throws<ShapeMismatchException>(() => new MaxPool { KernelShape = [3, 3] }.InferShapes([small]));
        Assert.Contains("[1,3,2,2]", e.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<ShapeMismatchException>(() => new AveragePool { KernelShape = [2, 2] }.InferShapes([new Shape(1, 3, 4)]));
        Assert.Contains("[1,3,4]", e2.Message, StringComparison.Ordinal);
        var e3 = Assert.Throws<ShapeMismatchException>(() => new MaxPool().InferShapes([new Shape(1, 3, 4, 4)]));
        Assert.Contains("KernelShape", e3.Message, StringComparison.Ordinal);
        var e4 = Assert.Throws<ShapeMismatchException>(() => new GlobalMaxPool().InferShapes([new Shape(2, 3)]));
        Assert.Contains("[2,3]", e4.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attributes_and_element_ops()
    {
        Assert.Equal("k=3 s=2 p=1 ceil", new MaxPool { KernelShape = [3, 3], Strides = [2, 2], Pads = [1, 1, 1, 1], CeilMode = true }.Attributes);
        Assert.Equal("k=2 s=2 p=0 count_include_pad", new AveragePool { KernelShape = [2, 2], Strides = [2, 2], CountIncludePad = true }.Attributes);
        Assert.Equal(0, new MaxPool { KernelShape = [2, 2] }.Macs([new Shape(1, 1, 4, 4)], [new Shape(1, 1, 3, 3)]));
        Assert.Equal(9, new MaxPool { KernelShape = [2, 2] }.ElementOps([new Shape(1, 1, 4, 4)], [new Shape(1, 1, 3, 3)]));
    }
}

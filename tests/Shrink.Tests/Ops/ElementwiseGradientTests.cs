using Shrink.Ops;
using Shrink.Tensors;
using static Shrink.Tests.Ops.GradientCheck;

namespace Shrink.Tests.Ops;

/// <summary>Central-difference checks of every input of the element-wise, broadcasting and shape operators.</summary>
public class ElementwiseGradientTests
{
    private static readonly Shape Nchw = new(2, 3, 4, 5);

    /// <summary>Values uniform in ±[lo, hi]: away from zero and (for lo, hi chosen per op) away from kinks.</summary>
    private static Tensor Band(Shape shape, int seed, float lo, float hi)
    {
        var t = AwayFromZero(shape, seed, margin: lo / hi);
        System.Numerics.Tensors.TensorPrimitives.Multiply(t.Span, hi, t.Span);
        return t;
    }

    // ---- activations ----

    [Fact] public void Sigmoid() => AssertOp(new Sigmoid(), [Random(Nchw, 1, -3, 3)]);
    [Fact] public void Tanh() => AssertOp(new Tanh(), [Random(Nchw, 2, -2, 2)]);
    [Fact] public void Silu() => AssertOp(new Silu(), [Random(Nchw, 3, -4, 4)]);
    [Fact] public void Identity() => AssertOp(new Identity(), [Random(Nchw, 4)]);
    [Fact] public void LeakyRelu() => AssertOp(new LeakyRelu { Alpha = 0.1f }, [AwayFromZero(Nchw, 5)]);

    [Fact]
    public void Clip_away_from_the_bounds()
    {
        // Bounds at ±0.5; inputs in ±[0.1,0.4] ∪ ±[0.6,1] after shifting none lies within eps of a bound.
        var x = AwayFromZero(Nchw, 6, margin: 0.1f);
        var s = x.Span;
        for (int i = 0; i < s.Length; i++) if (MathF.Abs(MathF.Abs(s[i]) - 0.5f) < 0.1f) s[i] *= 0.7f;
        AssertOp(new Clip { Min = -0.5f, Max = 0.5f }, [x]);
        AssertOp(new Clip { Min = 0, Max = 6 }, [AwayFromZero(Nchw, 7)]);
    }

    [Fact]
    public void HardSigmoid_away_from_the_kinks()
    {
        // PyTorch's (1/6, 1/2) has kinks at ±3; the ONNX default (0.2, 0.5) at ±2.5.
        AssertOp(new HardSigmoid { Alpha = 1f / 6, Beta = 0.5f }, [Band(Nchw, 8, 0.1f, 2.8f)]);
        AssertOp(new HardSigmoid { Alpha = 1f / 6, Beta = 0.5f }, [Band(Nchw, 9, 3.2f, 5f)]);
        AssertOp(new HardSigmoid(), [Band(Nchw, 10, 0.1f, 2.3f)]);
    }

    [Fact]
    public void HardSwish_away_from_the_kinks()
    {
        AssertOp(new HardSwish(), [Band(Nchw, 11, 0.1f, 2.8f)]);
        AssertOp(new HardSwish(), [Band(Nchw, 12, 3.2f, 5f)]);
    }

    [Fact]
    public void PRelu_per_channel_shared_and_rank2()
    {
        var slope = Random(new Shape(3, 1, 1), 13, 0.1f, 0.5f);
        AssertOp(new PRelu(), [AwayFromZero(Nchw, 14), slope]);
        AssertOp(new PRelu(), [AwayFromZero(Nchw, 15), Tensor.FromArray(new Shape(1), 0.25f)]);
        AssertOp(new PRelu(), [AwayFromZero(new Shape(4, 6), 16), Random(new Shape(6), 17)]);
    }

    // ---- broadcasting binary ops ----

    public static TheoryData<string, int[], int[]> BinaryCases => new()
    {
        { "Add", [2, 3, 4, 5], [2, 3, 4, 5] },
        { "Add", [2, 3, 4, 5], [] },
        { "Add", [], [2, 3, 4, 5] },
        { "Add", [2, 3, 4, 5], [3, 1, 1] },
        { "Add", [1, 5], [4, 1] },
        { "Add", [4, 5], [5] },
        { "Sub", [2, 3, 4, 5], [3, 1, 1] },
        { "Sub", [3, 1, 1], [2, 3, 4, 5] },
        { "Sub", [1, 5], [4, 1] },
        { "Sub", [1], [2, 3] },
        { "Mul", [2, 3, 4, 5], [2, 3, 4, 5] },
        { "Mul", [2, 3, 4, 5], [3, 1, 1] },
        { "Mul", [1, 5], [4, 1] },
        { "Mul", [2, 1, 4, 1], [3, 1, 5] },
        { "Mul", [], [3, 4] },
        { "Div", [2, 3, 4, 5], [2, 3, 4, 5] },
        { "Div", [2, 3, 4, 5], [3, 1, 1] },
        { "Div", [4, 1], [1, 5] },
        { "Div", [3, 4], [] },
        { "Div", [], [3, 4] },
        { "Div", [5], [2, 3, 5] },
    };

    [Theory, MemberData(nameof(BinaryCases))]
    public void Binary_broadcasting(string op, int[] a, int[] b)
    {
        Operator o = op switch { "Add" => new Add(), "Sub" => new Sub(), "Mul" => new Mul(), _ => new Div() };
        var ta = Random(new Shape(a), 20);
        // Denominators in ±[0.5, 1.5]: far enough from 0 that 1/b stays smooth over ±eps.
        var tb = op == "Div" ? Band(new Shape(b), 21, 0.5f, 1.5f) : Random(new Shape(b), 21);
        AssertOp(o, [ta, tb]);
    }

    [Fact]
    public void Binary_gradients_for_a_subset_of_inputs()
    {
        AssertOp(new Mul(), [Random(Nchw, 22), Random(new Shape(3, 1, 1), 23)], wrt: [1]);
        AssertOp(new Div(), [Random(Nchw, 24), Band(new Shape(3, 1, 1), 25, 0.5f, 1.5f)], wrt: [0]);
    }

    [Fact]
    public void Binary_with_a_shared_input_accumulates_both_contributions()
    {
        // x·x: each side's gradient is accumulated into its own buffer here, but the op must add, never assign.
        var x = Random(new Shape(3, 4), 26);
        var dx = Tensor.FromArray(new Shape(3, 4), Enumerable.Repeat(1f, 12).ToArray());
        var y = new Tensor(x.Shape);
        var dy = Random(x.Shape, 27);
        var op = new Mul();
        using var ctx = new OpContext(false);
        op.Forward(ctx, [x, x], [y]);
        op.Backward(ctx, [x, x], [y], [dy], [dx, dx]);
        for (int i = 0; i < 12; i++) Assert.Equal(1 + 2 * x[i] * dy[i], dx[i], 5);
    }

    // ---- MatMul ----

    public static TheoryData<int[], int[]> MatMulCases => new()
    {
        { [3, 4], [4, 5] },
        { [2, 3, 4], [2, 4, 5] },
        { [2, 3, 4], [4, 5] },
        { [3, 4], [2, 4, 5] },
        { [2, 1, 3, 4], [3, 4, 2] },
        { [1, 4], [4, 1] },
    };

    [Theory, MemberData(nameof(MatMulCases))]
    public void MatMul_with_batch_broadcasting(int[] a, int[] b) =>
        AssertOp(new MatMul(), [Random(new Shape(a), 30), Random(new Shape(b), 31)]);

    // ---- shape ops ----

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(-1)]
    public void Concat_on_axis(int axis)
    {
        int ax = axis < 0 ? axis + 4 : axis;
        var s1 = Nchw.WithDim(ax, 1);
        var s2 = Nchw.WithDim(ax, 3);
        AssertOp(new Concat { Axis = axis }, [Random(Nchw, 40), Random(s1, 41), Random(s2, 42)]);
    }

    [Fact] public void Concat_of_one_input() => AssertOp(new Concat { Axis = 1 }, [Random(Nchw, 43)]);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(-1)]
    public void Flatten(int axis) => AssertOp(new Flatten { Axis = axis }, [Random(Nchw, 44)]);

    [Fact] public void Reshape() => AssertOp(new Reshape { Shape = [0, -1, 5] }, [Random(Nchw, 45)]);

    [Theory]
    [InlineData(new[] { 0, 2, 3, 1 })]
    [InlineData(new[] { 3, 1, 0, 2 })]
    [InlineData(new[] { 0, 1, 3, 2 })]
    [InlineData(new int[0])]
    public void Transpose(int[] perm) =>
        AssertOp(new Transpose { Perm = perm.Length == 0 ? null : perm }, [Random(Nchw, 46)]);

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    [InlineData(0)]
    public void Softmax(int axis) => AssertOp(new Softmax { Axis = axis }, [Random(Nchw, 47, -2, 2)]);

    [Fact]
    public void Dropout_in_training_and_eval()
    {
        // The checker gives every forward the same seed, so the mask is the same in each probe.
        AssertOp(new Dropout { Ratio = 0.3f }, [Random(Nchw, 48)], training: true);
        AssertOp(new Dropout { Ratio = 0.3f }, [Random(Nchw, 49)], training: false);
    }
}

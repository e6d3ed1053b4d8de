using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

/// <summary>Dropout has no PyTorch golden (different RNG): its statistics, eval identity and determinism instead.</summary>
public class DropoutTests
{
    private static (Tensor Y, Tensor Dx) Run(Dropout op, Tensor x, bool training, int seed)
    {
        var y = new Tensor(x.Shape);
        var dx = new Tensor(x.Shape);
        var dy = new Tensor(x.Shape);
        dy.Fill(1f);
        using var ctx = new OpContext(training, new Random(seed));
        op.Forward(ctx, [x], [y]);
        op.Backward(ctx, [x], [y], [dy], [dx]);
        return (y, dx);
    }

    [Fact]
    public void Eval_is_the_identity_and_passes_the_gradient()
    {
        var x = GradientCheck.Random(new Shape(4, 50), 1);
        var (y, dx) = Run(new Dropout { Ratio = 0.5f }, x, training: false, seed: 0);
        Assert.Equal(x.ToArray(), y.ToArray());
        Assert.All(dx.ToArray(), v => Assert.Equal(1f, v));
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    [InlineData(0.8f)]
    public void Training_drops_the_ratio_and_keeps_the_mean(float p)
    {
        const int n = 100_000;
        var x = new Tensor(new Shape(n));
        x.Fill(1f);
        var (y, dx) = Run(new Dropout { Ratio = p }, x, training: true, seed: 3);
        float keep = 1f / (1 - p);
        int dropped = 0;
        for (int i = 0; i < n; i++)
        {
            Assert.True(y[i] == 0 || y[i] == keep, $"element {i} is {y[i]}, expected 0 or {keep}");
            Assert.Equal(y[i], dx[i]); // backward uses the same mask (x = dy = 1)
            if (y[i] == 0) dropped++;
        }
        // Binomial(n, p): the standard deviation of the dropped fraction is √(p(1−p)/n) ≤ 0.0016; allow 5σ.
        double sigma = Math.Sqrt(p * (1 - p) / n);
        Assert.InRange((double)dropped / n, p - 5 * sigma, p + 5 * sigma);
        Assert.InRange(System.Numerics.Tensors.TensorPrimitives.Sum<float>(y.Span) / n, 1 - 5 * sigma * keep, 1 + 5 * sigma * keep);
    }

    [Fact]
    public void Same_seed_same_mask_other_seed_other_mask()
    {
        var x = GradientCheck.Random(new Shape(3, 64), 2);
        var op = new Dropout { Ratio = 0.5f };
        var a = Run(op, x, true, 11).Y.ToArray();
        Assert.Equal(a, Run(op, x, true, 11).Y.ToArray());
        Assert.NotEqual(a, Run(op, x, true, 12).Y.ToArray());
    }

    [Fact]
    public void Ratio_zero_in_training_is_the_identity()
    {
        var x = GradientCheck.Random(new Shape(7, 9), 4);
        Assert.Equal(x.ToArray(), Run(new Dropout { Ratio = 0 }, x, true, 1).Y.ToArray());
    }

    [Fact]
    public void Ratio_outside_zero_one_is_rejected()
    {
        Assert.Throws<Shrink.Graph.ShapeMismatchException>(() => new Dropout { Ratio = 1f }.InferShapes([new Shape(2, 3)]));
        var b = new Shrink.Graph.GraphBuilder();
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Dropout(b.Input(3), -0.1f));
    }
}

using Shrink.Execution.Losses;
using Shrink.Graph;
using Shrink.Tensors;
using Shrink.Tests.Ops;

namespace Shrink.Tests.Execution;

public class LossTests
{
    private static Tensor Logits(int n, int c, int seed, float scale = 3) => GradientCheck.Random(new Shape(n, c), seed, -scale, scale);

    private static int[] Labels(int n, int c, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(c)).ToArray();
    }

    public static TheoryData<int, int, float> Sizes => new()
    {
        { 1, 1, 0f }, { 1, 2, 0f }, { 3, 5, 0f }, { 7, 13, 0f }, { 2, 100, 0f },
        { 1, 1, 0.2f }, { 3, 5, 0.1f }, { 7, 13, 0.3f }, { 4, 17, 1f },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void CrossEntropy_gradient_matches_central_differences(int n, int c, float smoothing)
    {
        var x = Logits(n, c, seed: n * 31 + c);
        LossGradientCheck.Assert(new CrossEntropyLoss(smoothing), x, Targets.FromLabels(Labels(n, c, seed: c)));
    }

    [Theory]
    [InlineData(1, 1, 0.5f, 1f, 0f)]
    [InlineData(3, 5, 4f, 0.7f, 0f)]
    [InlineData(6, 10, 2f, 0.5f, 0.1f)]
    [InlineData(4, 7, 1f, 0f, 0f)]
    [InlineData(5, 3, 8f, 1f, 0f)]
    public void Distillation_gradient_matches_central_differences(int n, int c, float temperature, float alpha, float smoothing)
    {
        var s = Logits(n, c, seed: 5 * n + c);
        var t = Logits(n, c, seed: 7 * n + c, scale: 5);
        LossGradientCheck.Assert(new DistillationLoss(temperature, alpha, smoothing), s, Targets.Distill(Labels(n, c, seed: n), t));
    }

    [Theory]
    [InlineData(new[] { 1 })]
    [InlineData(new[] { 4, 3 })]
    [InlineData(new[] { 2, 3, 2, 5 })]
    public void Mse_gradient_matches_central_differences(int[] dims)
    {
        var p = GradientCheck.Random(new Shape(dims), seed: 1);
        var y = GradientCheck.Random(new Shape(dims), seed: 2);
        LossGradientCheck.Assert(new MseLoss(), p, Targets.FromValues(y));
    }

    /// <summary>A loss whose gradient is 5% too large: the checker must reject it.</summary>
    private sealed class WrongCrossEntropy : Loss
    {
        private readonly CrossEntropyLoss _inner = new();
        public override string Name => "wrong";
        public override double Compute(Tensor prediction, Targets targets, Tensor? gradient)
        {
            double l = _inner.Compute(prediction, targets, gradient);
            if (gradient is not null) System.Numerics.Tensors.TensorPrimitives.Multiply(gradient.Span, 1.05f, gradient.Span);
            return l;
        }
    }

    [Fact]
    public void Checker_rejects_a_wrong_gradient()
    {
        var r = LossGradientCheck.Check(new WrongCrossEntropy(), Logits(3, 5, seed: 1), Targets.FromLabels([0, 4, 2]));
        Assert.False(r.Passed, r.ToString());
    }

    [Fact]
    public void CrossEntropy_of_equal_logits_is_log_C()
    {
        var x = new Tensor(new Shape(4, 10));
        x.Fill(3.5f);
        double l = new CrossEntropyLoss().Compute(x, Targets.FromLabels([0, 3, 9, 5]), null);
        Assert.Equal(Math.Log(10), l, 12);
    }

    [Fact]
    public void CrossEntropy_is_stable_for_huge_logits()
    {
        var x = Tensor.FromArray(new Shape(2, 3), 1e4f, -1e4f, 0f, 3e4f, 3e4f, 3e4f);
        var g = new Tensor(x.Shape);
        double l = new CrossEntropyLoss().Compute(x, Targets.FromLabels([1, 2]), g);
        // Row 0: −log p_1 = 2e4 exactly (p_1 underflows but the log-sum-exp does not). Row 1: log 3.
        Assert.Equal((2e4 + Math.Log(3)) / 2, l, 6);
        Assert.False(g.HasNonFinite());
        Assert.Equal(0.5f, g[0], 6); // (1 − 0)/2
        Assert.Equal(-0.5f, g[1], 6);
    }

    [Fact]
    public void Gradient_is_overwritten_not_accumulated()
    {
        var x = Logits(3, 4, seed: 3);
        var labels = Targets.FromLabels([1, 0, 3]);
        var fresh = new Tensor(x.Shape);
        var dirty = new Tensor(x.Shape);
        dirty.Fill(123f);
        var loss = new CrossEntropyLoss(0.1f);
        loss.Compute(x, labels, fresh);
        loss.Compute(x, labels, dirty);
        Assert.Equal(0f, fresh.MaxAbsDiff(dirty));

        var y = Logits(3, 4, seed: 4);
        var mseG = new Tensor(x.Shape);
        mseG.Fill(-7f);
        var mseFresh = new Tensor(x.Shape);
        new MseLoss().Compute(x, Targets.FromValues(y), mseG);
        new MseLoss().Compute(x, Targets.FromValues(y), mseFresh);
        Assert.Equal(0f, mseG.MaxAbsDiff(mseFresh));

        var kd = new DistillationLoss(2, 0.5f);
        var kdG = new Tensor(x.Shape);
        kdG.Fill(9f);
        var kdFresh = new Tensor(x.Shape);
        kd.Compute(x, Targets.Distill([1, 0, 3], y), kdG);
        kd.Compute(x, Targets.Distill([1, 0, 3], y), kdFresh);
        Assert.Equal(0f, kdG.MaxAbsDiff(kdFresh));
    }

    [Fact]
    public void Distillation_with_alpha_zero_is_cross_entropy_and_alpha_one_needs_no_labels()
    {
        var s = Logits(4, 6, seed: 8);
        var t = Logits(4, 6, seed: 9);
        int[] y = [5, 0, 2, 2];
        double ce = new CrossEntropyLoss(0.1f).Compute(s, Targets.FromLabels(y), null);
        double kd0 = new DistillationLoss(3, 0, 0.1f).Compute(s, Targets.Distill(y, t), null);
        Assert.Equal(ce, kd0, 12);

        double soft = new DistillationLoss(3, 1).Compute(s, new Targets(TeacherLogits: t), null);
        Assert.True(soft > 0);
        double self = new DistillationLoss(3, 1).Compute(s, new Targets(TeacherLogits: s), null);
        Assert.Equal(0, self, 12); // KL(p ‖ p) = 0
    }

    [Fact]
    public void Mse_value_by_hand()
    {
        var p = Tensor.FromArray(new Shape(2, 2), 1, 2, 3, 4);
        var y = Tensor.FromArray(new Shape(2, 2), 1, 0, 3, 1);
        var g = new Tensor(p.Shape);
        Assert.Equal((4 + 9) / 4.0, new MseLoss().Compute(p, Targets.FromValues(y), g), 12);
        Assert.Equal([0f, 1f, 0f, 1.5f], g.ToArray());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(5)]
    public void Label_out_of_range_is_named(int bad)
    {
        var x = Logits(3, 5, seed: 1);
        var ex = Assert.Throws<ArgumentException>(() => new CrossEntropyLoss().Compute(x, Targets.FromLabels([0, bad, 1]), null));
        Assert.Contains($"label {bad} of batch item 1", ex.Message);
        Assert.Contains("5 classes", ex.Message);
        var kd = Assert.Throws<ArgumentException>(() => new DistillationLoss(2, 0.5f).Compute(x, Targets.Distill([bad, 0, 1], x), null));
        Assert.Contains($"label {bad} of batch item 0", kd.Message);
    }

    [Fact]
    public void Bad_inputs_give_clear_errors()
    {
        var x = Logits(3, 5, seed: 1);
        var ce = new CrossEntropyLoss();
        Assert.Contains("Labels is null", Assert.Throws<ArgumentException>(() => ce.Compute(x, default, null)).Message);
        Assert.Contains("2 labels for a batch of 3", Assert.Throws<ShapeMismatchException>(() => ce.Compute(x, Targets.FromLabels([0, 1]), null)).Message);
        Assert.Contains("[N,C]", Assert.Throws<ShapeMismatchException>(() => ce.Compute(new Tensor(new Shape(5)), Targets.FromLabels([0]), null)).Message);
        Assert.Contains("gradient tensor has shape [5,3]",
            Assert.Throws<ShapeMismatchException>(() => ce.Compute(x, Targets.FromLabels([0, 1, 2]), new Tensor(new Shape(5, 3)))).Message);

        var mse = new MseLoss();
        Assert.Contains("Values is null", Assert.Throws<ArgumentException>(() => mse.Compute(x, Targets.FromLabels([0, 1, 2]), null)).Message);
        Assert.Contains("targets have shape [5,3], prediction has [3,5]",
            Assert.Throws<ShapeMismatchException>(() => mse.Compute(x, Targets.FromValues(new Tensor(new Shape(5, 3))), null)).Message);

        var kd = new DistillationLoss(4, 0.9f);
        Assert.Contains("TeacherLogits is null", Assert.Throws<ArgumentException>(() => kd.Compute(x, Targets.FromLabels([0, 1, 2]), null)).Message);
        Assert.Contains("teacher logits have shape [3,4]",
            Assert.Throws<ShapeMismatchException>(() => kd.Compute(x, Targets.Distill([0, 1, 2], Logits(3, 4, 2)), null)).Message);
        Assert.Contains("Labels is null", Assert.Throws<ArgumentException>(() => kd.Compute(x, new Targets(TeacherLogits: x), null)).Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(-0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistillationLoss(0, 0.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistillationLoss(2, 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistillationLoss(2, 0.5f, 2f));
    }

    [Fact]
    public void CorrectTop1_counts_argmax_hits_first_max_on_ties_and_nan_as_wrong()
    {
        var x = Tensor.FromArray(new Shape(5, 3),
            0.1f, 0.9f, 0.3f,     // argmax 1
            2f, -1f, 2f,          // tie: first (0)
            -5f, -4f, -3f,        // 2
            float.NaN, 1f, 0f,    // NaN: wrong whatever the label
            0f, 0f, 1f);          // 2
        Assert.Equal(3, Metrics.CorrectTop1(x, [1, 0, 2, 0, 0]));
        Assert.Equal(0, Metrics.CorrectTop1(x, [0, 2, 1, 1, 1]));
        Assert.Equal(1, Metrics.CorrectTop1(x, [0, 2, 1, 1, 2]));
        var hits = new bool[5];
        Assert.Equal(3, Metrics.CorrectTop1(x, [1, 0, 2, 0, 0], hits));
        Assert.Equal([true, true, true, false, false], hits);
        Assert.Throws<ArgumentException>(() => Metrics.CorrectTop1(x, [1, 0, 2, 0, 0], new bool[4]));
        Assert.Contains("label 3 of batch item 0", Assert.Throws<ArgumentException>(() => Metrics.CorrectTop1(x, [3, 0, 0, 0, 0])).Message);
        Assert.Throws<ShapeMismatchException>(() => Metrics.CorrectTop1(x, [0]));
        Assert.Throws<ShapeMismatchException>(() => Metrics.CorrectTop1(new Tensor(new Shape(3)), [0, 0, 0]));
    }
}

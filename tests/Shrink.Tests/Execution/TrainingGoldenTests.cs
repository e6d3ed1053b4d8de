using System.Globalization;
using Shrink.Execution.Losses;
using Shrink.Execution.Optimizers;
using Shrink.Execution.Schedules;
using Shrink.Graph;
using Shrink.Tests.Goldens;

namespace Shrink.Tests.Execution;

/// <summary>
/// Losses, optimizers and schedules against PyTorch 1.13 (tools/make_training_goldens.py).
/// Tolerances: loss values are stored as float32 (rtol 1e-6 from that alone) and computed here in double from the
/// same float32 inputs, so 1e-5 relative; gradients are float32 results of the same formulas (rtol 1e-4, atol 1e-7).
/// Optimizers do the same float32 operations as PyTorch but may fuse multiply-adds differently: a few ulp per step,
/// 5 steps → rtol 1e-5, atol 1e-6. Learning rates are float32 of double formulas: rtol 1e-6.
/// </summary>
public class TrainingGoldenTests
{
    public static IEnumerable<object[]> LossCases => Golden.Cases("losses");
    public static IEnumerable<object[]> OptimCases => Golden.Cases("optim");
    public static IEnumerable<object[]> ScheduleCases => Golden.Cases("schedules");

    /// <summary>A hyperparameter saved as float32, read back as the decimal PyTorch was given (0.9, not 0.8999999762).</summary>
    private static double Hyper(Golden g, string key) =>
        double.Parse(((float)g.Scalar(key)).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    [Theory]
    [MemberData(nameof(LossCases))]
    public void Loss_matches_pytorch(string name)
    {
        var g = Golden.Load(name);
        string kind = name.Split('/')[1];
        Tensor prediction;
        Loss loss;
        Targets targets;
        if (kind.StartsWith("ce_", StringComparison.Ordinal))
        {
            prediction = g.Tensor("logits");
            loss = new CrossEntropyLoss((float)Hyper(g, "smoothing"));
            targets = Targets.FromLabels(g.Ints("labels"));
        }
        else if (kind.StartsWith("mse_", StringComparison.Ordinal))
        {
            prediction = g.Tensor("prediction");
            loss = new MseLoss();
            targets = Targets.FromValues(g.Tensor("values"));
        }
        else
        {
            prediction = g.Tensor("logits");
            loss = new DistillationLoss((float)Hyper(g, "temperature"), (float)Hyper(g, "alpha"));
            targets = Targets.Distill(g.Ints("labels"), g.Tensor("teacher"));
        }
        var grad = new Tensor(prediction.Shape);
        double value = loss.Compute(prediction, targets, grad);
        double expected = g.Scalar("loss");
        Assert.True(Math.Abs(value - expected) <= 1e-5 * Math.Abs(expected) + 1e-7, $"{name}: loss {value:G9}, PyTorch {expected:G9}");
        Golden.AssertClose(g.Tensor("grad"), grad, rtol: 1e-4, atol: 1e-7, what: name);
    }

    [Theory]
    [MemberData(nameof(OptimCases))]
    public void Optimizer_matches_pytorch_step_by_step(string name)
    {
        var g = Golden.Load(name);
        var w = new Parameter("w", g.Tensor("w"));
        var b = new Parameter("b", g.Tensor("b"));
        Optimizer opt = name.Split('/')[1].StartsWith("sgd", StringComparison.Ordinal)
            ? new Sgd([w, b], Hyper(g, "momentum"), Hyper(g, "dampening"), Hyper(g, "weight_decay"), g.Scalar("nesterov") != 0)
            : new AdamW([w, b], Hyper(g, "beta1"), Hyper(g, "beta2"), Hyper(g, "eps"), Hyper(g, "weight_decay"));
        var gw = g.Tensor("grad_w");
        var gb = g.Tensor("grad_b");
        var aw = g.Tensor("after_w");
        var ab = g.Tensor("after_b");
        var lrs = g.Tensor("lrs");
        int steps = lrs.Length;
        for (int k = 0; k < steps; k++)
        {
            gw.Span.Slice(k * w.Data.Length, w.Data.Length).CopyTo(w.EnsureGrad().Span);
            gb.Span.Slice(k * b.Data.Length, b.Data.Length).CopyTo(b.EnsureGrad().Span);
            opt.Step(lrs[k]);
            var ew = new Tensor(w.Shape, aw.Span.Slice(k * w.Data.Length, w.Data.Length).ToArray());
            var eb = new Tensor(b.Shape, ab.Span.Slice(k * b.Data.Length, b.Data.Length).ToArray());
            Golden.AssertClose(ew, w.Data, rtol: 1e-5, atol: 1e-6, what: $"{name} step {k + 1} w");
            Golden.AssertClose(eb, b.Data, rtol: 1e-5, atol: 1e-6, what: $"{name} step {k + 1} b");
        }
    }

    [Theory]
    [MemberData(nameof(ScheduleCases))]
    public void Schedule_matches_pytorch(string name)
    {
        var g = Golden.Load(name);
        double baseLr = Hyper(g, "base_lr");
        LrSchedule s = name.Split('/')[1] switch
        {
            "step_lr" => new StepLr(baseLr, (int)g.Scalar("step_size"), Hyper(g, "gamma")),
            var k when k.StartsWith("cosine", StringComparison.Ordinal) =>
                new CosineWithWarmup(baseLr, (int)g.Scalar("warmup"), (int)g.Scalar("total"), Hyper(g, "min_lr")),
            var k when k.StartsWith("one_cycle", StringComparison.Ordinal) =>
                new OneCycle(Hyper(g, "max_lr"), (int)g.Scalar("total"), Hyper(g, "pct_start"), Hyper(g, "div_factor"), Hyper(g, "final_div_factor")),
            var k => throw new InvalidOperationException($"No schedule for golden '{k}'."),
        };
        var expected = g.Tensor("lrs");
        Assert.Equal((int)g.Scalar("steps"), expected.Length);
        for (int k = 0; k < expected.Length; k++)
        {
            float e = expected[k], a = s.LearningRate(k);
            Assert.True(Math.Abs(a - e) <= 1e-6 * Math.Abs(e) + 1e-12, $"{name}: step {k} lr {a:G9}, PyTorch {e:G9}");
        }
    }
}

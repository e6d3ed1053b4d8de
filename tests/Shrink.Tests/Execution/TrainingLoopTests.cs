using Shrink.Execution;
using Shrink.Execution.Losses;
using Shrink.Execution.Optimizers;
using Shrink.Execution.Schedules;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Execution;

/// <summary>Loss, optimizer and schedule wired to the tape: a linear classifier learns separable data.</summary>
public class TrainingLoopTests
{
    [Theory]
    [InlineData("sgd")]
    [InlineData("adamw")]
    public void Softmax_regression_learns_separable_data(string kind)
    {
        const int n = 64, d = 4, c = 3;
        var rng = new Random(5);
        var x = new Tensor(new Shape(n, d));
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % c;
            for (int j = 0; j < d; j++) x[i, j] = (j == labels[i] ? 2f : 0f) + 0.3f * Init.NextGaussian(rng);
        }

        var b = new GraphBuilder("softmax", seed: 1);
        var input = b.Input(d);
        var w = new Tensor(new Shape(c, d));
        Init.KaimingUniformDefault(w, d, b.Rng);
        var logits = b.Apply(new Gemm { TransB = true }, input, b.Parameter("fc", "weight", w), b.Parameter("fc", "bias", new Tensor(new Shape(c))));
        var graph = b.Build(logits);

        Optimizer opt = kind == "sgd" ? new Sgd(graph.Parameters, momentum: 0.9) : new AdamW(graph.Parameters, weightDecay: 0);
        LrSchedule schedule = kind == "sgd" ? new CosineWithWarmup(0.1, 5, 60) : new OneCycle(0.2, 60);
        var loss = new CrossEntropyLoss(0.05f);
        var targets = Targets.FromLabels(labels);
        double first = 0, last = 0;
        int correct = 0;
        for (int step = 0; step < 60; step++)
        {
            opt.ZeroGrad();
            using var tape = Tape.Forward(graph, [x], training: true);
            var grad = new Tensor(tape.Output.Shape);
            last = loss.Compute(tape.Output, targets, grad);
            if (step == 0) first = last;
            correct = Metrics.CorrectTop1(tape.Output, labels);
            tape.Backward([grad]);
            opt.Step(schedule.LearningRate(opt.StepCount));
        }
        Assert.True(last < first / 3, $"{kind}: loss {first:F4} → {last:F4}");
        Assert.True(correct >= n - 2, $"{kind}: {correct}/{n} correct");
    }
}

using Shrink.Execution.Losses;
using Shrink.Execution.Optimizers;
using Shrink.Execution.Schedules;
using Shrink.Graph;
using Shrink.Tests.Goldens;
using Shrink.Training;

namespace Shrink.Tests.Training;

/// <summary>
/// One full training step of a small CNN (conv, batch norm in training mode, ReLU, max pool, strided conv, linear,
/// label-smoothed cross-entropy) against PyTorch: logits, loss, every gradient, running statistics, and the weights
/// after one SGD (Nesterov, weight decay) and one AdamW step. Made by tools/make_training_step_golden.py.
/// </summary>
public class TrainingStepGoldenTests
{
    private static readonly Golden G = Golden.Load("training/cnn_step");

    private static Shrink.Graph.Graph SmallCnn()
    {
        var b = new GraphBuilder("small_cnn");
        var x = b.Input(1, 8, 8);
        x = b.MaxPool2d(b.Relu(b.BatchNorm2d(b.Conv2d(x, 4, 3, padding: 1, name: "conv1"), name: "bn1")), 2);
        x = b.Relu(b.Conv2d(x, 6, 3, stride: 2, padding: 1, name: "conv2"));
        var g = b.Build(b.Linear(b.Flatten(x), 5, name: "fc1"));
        foreach (var v in g.Values.Where(v => v.Parameter is not null))
            v.Parameter!.Data.CopyFrom(G.Tensor("init." + v.Name));
        return g;
    }

    private static (Shrink.Graph.Graph Graph, StepResult Step) TrainOneStep(Func<IEnumerable<Parameter>, Optimizer> optimizer, float lr)
    {
        var g = SmallCnn();
        var trainer = new Trainer(g, new CrossEntropyLoss(0.1f), optimizer(g.TrainableParameters), new ConstantLr(lr));
        var step = trainer.Step(G.Tensor("x"), G.Ints("y"));
        return (g, step);
    }

    [Fact]
    public void Loss_gradients_and_running_statistics_match_PyTorch()
    {
        var (g, step) = TrainOneStep(ps => new Sgd(ps), 0f);
        Assert.Equal(G.Scalar("loss"), step.Loss, 5);
        foreach (var p in g.TrainableParameters)
            Golden.AssertClose(G.Tensor("grad." + p.Name), p.Grad!, rtol: 1e-3, atol: 1e-5, what: $"grad of {p.Name}");
        Golden.AssertClose(G.Tensor("after.bn1.running_mean"), g["bn1.running_mean"].Parameter!.Data, 1e-4, 1e-6, "running mean");
        Golden.AssertClose(G.Tensor("after.bn1.running_var"), g["bn1.running_var"].Parameter!.Data, 1e-4, 1e-6, "running var");
    }

    [Fact]
    public void Weights_after_one_SGD_step_match_PyTorch()
    {
        var (g, _) = TrainOneStep(ps => new Sgd(ps, momentum: 0.9, weightDecay: 5e-4, nesterov: true), 0.1f);
        foreach (var p in g.TrainableParameters)
            Golden.AssertClose(G.Tensor("sgd." + p.Name), p.Data, rtol: 1e-4, atol: 1e-6, what: $"SGD {p.Name}");
    }

    [Fact]
    public void Weights_after_one_AdamW_step_match_PyTorch()
    {
        var (g, _) = TrainOneStep(ps => new AdamW(ps, weightDecay: 0.01), 0.01f);
        // AdamW's first step moves every weight by ≈ lr·g/|g|. conv1's bias feeds batch norm in training mode, which
        // cancels it: its true gradient is 0 and both frameworks hold only rounding noise there, so its update is noise.
        foreach (var p in g.TrainableParameters.Where(p => p.Name != "conv1.bias"))
            Golden.AssertClose(G.Tensor("adamw." + p.Name), p.Data, rtol: 1e-4, atol: 1e-5, what: $"AdamW {p.Name}");
    }
}

public class TrainingScheduleChoiceTests
{
    /// <summary>A run of a couple of steps (a dry run, a tiny subset) must still get a valid schedule.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(1000)]
    public void Every_run_length_gets_a_schedule_with_positive_rates_after_the_first_step(int steps)
    {
        foreach (string name in new[] { "onecycle", "cosine", "constant" })
        {
            var s = TrainingRun.CreateSchedule(new TrainingOptions { Schedule = name, LearningRate = 0.1f }, steps);
            Assert.True(Enumerable.Range(1, Math.Max(1, steps - 1)).All(i => s.LearningRate(i) > 0 && s.LearningRate(i) <= 0.1f + 1e-6f), $"{name} at {steps} steps");
        }
    }
}

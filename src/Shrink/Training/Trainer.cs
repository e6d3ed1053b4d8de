using Shrink.Execution.Losses;
using Shrink.Execution.Optimizers;
using Shrink.Execution.Schedules;
using Shrink.Execution;
using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Training;

/// <summary>The outcome of one optimizer step.</summary>
public readonly record struct StepResult(double Loss, int Correct, int Count, float LearningRate);

/// <summary>
/// Trains a graph: forward in training mode, loss, backward in reverse order, optimizer update with the schedule's
/// learning rate. Frozen parameters are neither differentiated nor updated. With one kernel thread and the same
/// seed, two runs are bit-identical.
/// </summary>
public sealed class Trainer
{
    private readonly List<Node> _order;
    private readonly Random _rng;

    public Trainer(Graph.Graph graph, Loss loss, Optimizer optimizer, LrSchedule schedule, int seed = 0)
    {
        Graph = graph;
        Loss = loss;
        Optimizer = optimizer;
        Schedule = schedule;
        _order = graph.TopologicalOrder();
        _rng = new Random(seed);
        if (graph.Inputs.Count != 1 || graph.Outputs.Count != 1)
            throw new ShrinkException($"Training needs a graph with one input and one output; '{graph.Name}' has {graph.Inputs.Count} and {graph.Outputs.Count}.");
    }

    public Graph.Graph Graph { get; }
    public Loss Loss { get; }
    public Optimizer Optimizer { get; }
    public LrSchedule Schedule { get; }

    /// <summary>Optimizer steps taken so far (the schedule's clock; restore it when resuming).</summary>
    public int StepCount { get; set; }

    /// <summary>One optimizer step on a batch. <paramref name="teacherLogits"/> feeds a distillation loss.</summary>
    public StepResult Step(Tensor images, int[] labels, Tensor? teacherLogits = null)
    {
        Optimizer.ZeroGrad();
        using var tape = Tape.Forward(Graph, [images], training: true, _rng, order: _order);
        var logits = tape.Output;
        using var grad = Tensor.Rent(logits.Shape);
        double loss = Loss.Compute(logits, new Targets(labels, null, teacherLogits), grad);
        if (!double.IsFinite(loss))
            throw new ShrinkException($"The loss became {loss} at step {StepCount} of '{Graph.Name}': lower the learning rate or check the data for NaN/Inf.");
        int correct = Metrics.CorrectTop1(logits, labels);
        tape.Backward([grad]);
        float lr = Schedule.LearningRate(StepCount);
        Optimizer.Step(lr);
        StepCount++;
        return new StepResult(loss, correct, labels.Length, lr);
    }
}

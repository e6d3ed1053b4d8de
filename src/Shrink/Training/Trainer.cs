using System.Diagnostics;
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
/// seed, two runs are bit-identical. The random stream of a step (dropout) is a function of (seed, step count) only,
/// so a run resumed from a checkpoint continues exactly as the uninterrupted run would have.
/// </summary>
public sealed class Trainer
{
    private readonly List<Node> _order;
    private readonly int _seed;

    public Trainer(Graph.Graph graph, Loss loss, Optimizer optimizer, LrSchedule schedule, int seed = 0)
    {
        Graph = graph;
        Loss = loss;
        Optimizer = optimizer;
        Schedule = schedule;
        _order = graph.TopologicalOrder();
        _seed = seed;
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
        var timer = Profiling.OpTimer.Active;
        long t0 = timer is null ? 0 : Stopwatch.GetTimestamp();
        Optimizer.ZeroGrad();
        timer?.Add("zero gradients", Optimizer.Name, "zero", t0);
        using var tape = Tape.Forward(Graph, [images], training: true, StepRandom(_seed, StepCount), order: _order, economical: true);
        var logits = tape.Output;
        t0 = timer is null ? 0 : Stopwatch.GetTimestamp();
        using var grad = Tensor.Rent(logits.Shape);
        double loss = Loss.Compute(logits, new Targets(labels, null, teacherLogits), grad);
        if (!double.IsFinite(loss))
            throw new ShrinkException($"The loss became {loss} at step {StepCount} of '{Graph.Name}': lower the learning rate or check the data for NaN/Inf.");
        int correct = Metrics.CorrectTop1(logits, labels);
        timer?.Add("loss", Loss.GetType().Name, "loss", t0);
        tape.Backward([grad]);
        float lr = Schedule.LearningRate(StepCount);
        t0 = timer is null ? 0 : Stopwatch.GetTimestamp();
        Optimizer.Step(lr);
        timer?.Add("optimizer step", Optimizer.Name, "step", t0);
        StepCount++;
        return new StepResult(loss, correct, labels.Length, lr);
    }

    /// <summary>The random stream of step <paramref name="step"/> under <paramref name="seed"/> (SplitMix64 of both).</summary>
    public static Random StepRandom(int seed, int step)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)step) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return new Random((int)(z & 0x7FFFFFFF));
    }
}

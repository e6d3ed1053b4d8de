using Shrink.Data;
using Shrink.Execution;
using Shrink.Execution.Losses;
using Shrink.Graph;

namespace Shrink.Training;

/// <summary>Top-1 accuracy (in [0, 1]) and mean cross-entropy of a model on a data set.</summary>
public readonly record struct EvalResult(double Accuracy, double Loss, int Count)
{
    public double AccuracyPercent => 100 * Accuracy;
}

public static class Evaluation
{
    /// <summary>
    /// Runs <paramref name="graph"/> in evaluation mode over <paramref name="data"/> (z-normalised with
    /// <paramref name="normalization"/>), optionally only its first <paramref name="maxSamples"/> samples. When
    /// <paramref name="hits"/> is given (one slot per sample evaluated), it receives each sample's top-1 verdict in data order.
    /// </summary>
    public static EvalResult Evaluate(Graph.Graph graph, Dataset data, Normalization normalization, int batchSize = 256,
        int? maxSamples = null, bool[]? hits = null, CancellationToken cancel = default)
    {
        CheckFits(graph, data);
        var executor = new Executor(graph);
        var loss = new CrossEntropyLoss();
        int count = maxSamples is int m ? Math.Min(m, data.Count) : data.Count;
        if (hits is not null && hits.Length != count)
            throw new ArgumentException($"{hits.Length} verdict slots for {count} samples.", nameof(hits));
        var loader = new DataLoader(data, Enumerable.Range(0, count).ToArray(), DataLoaderOptions.Evaluation(batchSize, normalization));
        long correct = 0;
        int done = 0;
        double lossSum = 0;
        foreach (var batch in loader.Epoch(0))
        {
            cancel.ThrowIfCancellationRequested();
            using var logits = executor.Run(batch.Images);
            correct += hits is null ? Metrics.CorrectTop1(logits, batch.Labels) : Metrics.CorrectTop1(logits, batch.Labels, hits.AsSpan(done, batch.Count));
            done += batch.Count;
            lossSum += loss.Compute(logits, Targets.FromLabels(batch.Labels), null) * batch.Count;
        }
        return new EvalResult(count == 0 ? 0 : (double)correct / count, count == 0 ? 0 : lossSum / count, count);
    }

    /// <summary>Throws a clear <see cref="ShrinkException"/> when the model's input or output does not fit the data.</summary>
    public static void CheckFits(Graph.Graph graph, Dataset data)
    {
        if (graph.Inputs.Count != 1 || graph.Outputs.Count != 1)
            throw new ShrinkException($"Model '{graph.Name}' has {graph.Inputs.Count} inputs and {graph.Outputs.Count} outputs; classification needs one of each.");
        var input = graph.Inputs[0].Shape;
        var sample = data.ImageShape;
        if (input.Rank != 4 || !new Tensors.Shape(input[1], input[2], input[3]).IsCompatibleWith(sample))
            throw new ShapeMismatchException($"Model '{graph.Name}' takes input {input} but data set '{data.Name}' has images of {sample}.");
        var output = graph.Outputs[0].Shape;
        if (output.Rank != 2 || (output[1] != Tensors.Shape.Dynamic && output[1] != data.ClassCount))
            throw new ShapeMismatchException($"Model '{graph.Name}' outputs {output} but data set '{data.Name}' has {data.ClassCount} classes.");
    }
}

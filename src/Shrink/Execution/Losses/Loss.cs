using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Execution.Losses;

/// <summary>
/// A training objective on a model output. <see cref="Compute"/> returns the mean loss over the batch (accumulated
/// in double) and, when a gradient tensor is given, overwrites it with dLoss/dPrediction — the tensor to hand to
/// <see cref="Tape.Backward"/>. Implementations never keep references to their arguments.
/// </summary>
public abstract class Loss
{
    /// <summary>Short name for logs and reports ("cross-entropy", "mse", ...).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The mean loss of <paramref name="prediction"/> against <paramref name="targets"/>. When
    /// <paramref name="gradient"/> is not null (same shape as the prediction) it receives dLoss/dPrediction.
    /// </summary>
    public abstract double Compute(Tensor prediction, Targets targets, Tensor? gradient);

    public override string ToString() => Name;

    /// <summary>Checks that the gradient tensor, when given, has the prediction's shape.</summary>
    protected void CheckGradient(Tensor prediction, Tensor? gradient)
    {
        if (gradient is not null && gradient.Shape != prediction.Shape)
            throw new ShapeMismatchException($"{Name} loss: gradient tensor has shape {gradient.Shape}, prediction has {prediction.Shape}.");
    }

    /// <summary>Checks logits are [N, C] with N ≥ 1, C ≥ 1 and returns (N, C).</summary>
    protected (int N, int C) CheckLogits(Tensor logits, string what = "prediction")
    {
        if (logits.Rank != 2 || logits.Shape[0] < 1 || logits.Shape[1] < 1)
            throw new ShapeMismatchException($"{Name} loss: {what} must be logits of shape [N,C] with N, C ≥ 1, got {logits.Shape}.");
        return (logits.Shape[0], logits.Shape[1]);
    }

    /// <summary>Checks there is one label per batch item, each in [0, C).</summary>
    protected int[] CheckLabels(Targets targets, int n, int c)
    {
        var labels = targets.Labels ?? throw new ArgumentException($"{Name} loss needs class labels (Targets.Labels is null).", nameof(targets));
        if (labels.Length != n)
            throw new ShapeMismatchException($"{Name} loss: {labels.Length} labels for a batch of {n}.");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)c)
                throw new ArgumentException($"{Name} loss: label {labels[i]} of batch item {i} is out of range for {c} classes (expected 0..{c - 1}).", nameof(targets));
        return labels;
    }
}

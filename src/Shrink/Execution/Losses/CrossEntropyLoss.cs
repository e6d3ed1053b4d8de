using Shrink.Tensors;

namespace Shrink.Execution.Losses;

/// <summary>
/// Softmax cross-entropy on logits [N, C] against class labels, averaged over the batch — PyTorch's
/// <c>F.cross_entropy(logits, labels, label_smoothing=ε)</c>: the target distribution is (1−ε)·onehot + ε/C.
/// Log-softmax is computed stably (max subtracted) in double. Gradient: (softmax − target) / N.
/// </summary>
public sealed class CrossEntropyLoss : Loss
{
    public CrossEntropyLoss(float labelSmoothing = 0)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must be in [0, 1].");
        LabelSmoothing = labelSmoothing;
    }

    public float LabelSmoothing { get; }

    public override string Name => "cross-entropy";

    public override double Compute(Tensor prediction, Targets targets, Tensor? gradient)
    {
        var (n, c) = CheckLogits(prediction);
        var labels = CheckLabels(targets, n, c);
        CheckGradient(prediction, gradient);
        var probs = c <= 1024 ? stackalloc double[c] : new double[c];
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var row = prediction.Span.Slice(i * c, c);
            double logSum = Softmax.Row(row, 1.0, probs, out double max);
            total += RowLoss(row, labels[i], LabelSmoothing, max, logSum);
            if (gradient is not null)
                RowGradient(probs, labels[i], LabelSmoothing, 1.0 / n, gradient.Span.Slice(i * c, c));
        }
        return total / n;
    }

    /// <summary>Smoothed cross-entropy of one row given its max and log Σ exp(row − max).</summary>
    internal static double RowLoss(ReadOnlySpan<float> row, int label, double smoothing, double max, double logSum)
    {
        // −log p_c = max + logSum − row_c
        double nllLabel = max + logSum - row[label];
        if (smoothing == 0) return nllLabel;
        double sumNll = 0;
        foreach (float v in row) sumNll += max + logSum - v;
        return (1 - smoothing) * nllLabel + smoothing / row.Length * sumNll;
    }

    /// <summary>Writes scale · (p − ((1−ε)·onehot + ε/C)) into <paramref name="grad"/>.</summary>
    internal static void RowGradient(ReadOnlySpan<double> probs, int label, double smoothing, double scale, Span<float> grad)
    {
        double off = smoothing / probs.Length;
        for (int k = 0; k < probs.Length; k++)
        {
            double target = off + (k == label ? 1 - smoothing : 0);
            grad[k] = (float)(scale * (probs[k] - target));
        }
    }
}

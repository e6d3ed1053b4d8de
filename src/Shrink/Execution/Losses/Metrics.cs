using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Execution.Losses;

/// <summary>Batch metrics computed from model outputs.</summary>
public static class Metrics
{
    /// <summary>
    /// How many rows of <paramref name="logits"/> [N, C] have their largest entry (first one on ties) at the label.
    /// A row containing NaN counts as wrong.
    /// </summary>
    public static int CorrectTop1(Tensor logits, int[] labels) => Top1(logits, labels, default);

    /// <summary>
    /// Like <see cref="CorrectTop1(Tensor, int[])"/>, also writing each row's verdict to <paramref name="hits"/>
    /// (length N).
    /// </summary>
    public static int CorrectTop1(Tensor logits, int[] labels, Span<bool> hits)
    {
        if (hits.Length != labels.Length)
            throw new ArgumentException($"Top-1 accuracy: {hits.Length} verdict slots for {labels.Length} labels.", nameof(hits));
        return Top1(logits, labels, hits);
    }

    private static int Top1(Tensor logits, int[] labels, Span<bool> hits)
    {
        if (logits.Rank != 2)
            throw new ShapeMismatchException($"Top-1 accuracy needs logits of shape [N,C], got {logits.Shape}.");
        int n = logits.Shape[0], c = logits.Shape[1];
        if (labels.Length != n)
            throw new ShapeMismatchException($"Top-1 accuracy: {labels.Length} labels for a batch of {n}.");
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            if ((uint)labels[i] >= (uint)c)
                throw new ArgumentException($"Top-1 accuracy: label {labels[i]} of batch item {i} is out of range for {c} classes (expected 0..{c - 1}).", nameof(labels));
            var row = logits.Span.Slice(i * c, c);
            bool hit = TensorPrimitives.IndexOfMax(row) == labels[i] && !float.IsNaN(row[labels[i]]);
            if (!hits.IsEmpty) hits[i] = hit;
            if (hit) correct++;
        }
        return correct;
    }
}

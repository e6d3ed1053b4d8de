using Shrink.Data;
using Shrink.Execution;
using Shrink.Tensors;

namespace Shrink.Conductor;

/// <summary>
/// The original's logits on every image of a data set, row i for image i, computed once, in order, in fixed batches (so
/// a resumed run gets the same numbers). The conductor's fine-tunes read the training images unaugmented, so the
/// teacher's answer to an image never changes; a run's fine-tunes draw the training split several times over, and the
/// teacher's forward pass was a quarter of every distillation step.
/// </summary>
internal sealed class TeacherLogits
{
    /// <summary>Tables above this many floats (256 MB) are not kept; each batch then runs the teacher.</summary>
    public const long MaxFloats = 64L << 20;

    private readonly float[] _table;

    private TeacherLogits(float[] table, int classes)
    {
        _table = table;
        Classes = classes;
    }

    public int Classes { get; }

    /// <summary>The table of <paramref name="teacher"/>'s logits on <paramref name="data"/>; null when it would exceed <paramref name="maxFloats"/>.</summary>
    public static TeacherLogits? TryCompute(Executor teacher, Dataset data, Normalization normalization, int classes,
        long maxFloats = MaxFloats, CancellationToken cancel = default)
    {
        if (classes <= 0 || (long)data.Count * classes > maxFloats) return null;
        var table = new float[data.Count * classes];
        var loader = new DataLoader(data, Enumerable.Range(0, data.Count).ToArray(), DataLoaderOptions.Evaluation(256, normalization));
        foreach (var batch in loader.Epoch(0))
        {
            cancel.ThrowIfCancellationRequested();
            using var logits = teacher.Run(batch.Images);
            if (logits.Shape != new Shape(batch.Count, classes))
                throw new Graph.ShapeMismatchException($"The teacher gives logits of {logits.Shape} for a batch of {batch.Count}, not [{batch.Count},{classes}].");
            for (int r = 0; r < batch.Count; r++)
                logits.Span.Slice(r * classes, classes).CopyTo(table.AsSpan(batch.Indices[r] * classes, classes));
        }
        return new TeacherLogits(table, classes);
    }

    /// <summary>The logits of the images at <paramref name="indices"/>, as a [N, classes] tensor the caller disposes.</summary>
    public Tensor Rows(int[] indices)
    {
        var t = new Tensor(new Shape(indices.Length, Classes));
        for (int r = 0; r < indices.Length; r++)
            _table.AsSpan(indices[r] * Classes, Classes).CopyTo(t.Span.Slice(r * Classes, Classes));
        return t;
    }
}

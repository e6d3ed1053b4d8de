using Shrink.Tensors;

namespace Shrink.Execution.Losses;

/// <summary>
/// What a <see cref="Loss"/> compares the prediction with: class <see cref="Labels"/> (one per batch item) for
/// classification, <see cref="Values"/> (same shape as the prediction) for regression, and the teacher's
/// <see cref="TeacherLogits"/> (same shape as the student's) for distillation. Each loss reads the fields it needs.
/// </summary>
public readonly record struct Targets(int[]? Labels = null, Tensor? Values = null, Tensor? TeacherLogits = null)
{
    public static Targets FromLabels(int[] labels) => new(Labels: labels);
    public static Targets FromValues(Tensor values) => new(Values: values);
    public static Targets Distill(int[] labels, Tensor teacherLogits) => new(Labels: labels, TeacherLogits: teacherLogits);
}

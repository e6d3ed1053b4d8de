using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = 1 / (1 + e^−x); dy/dx = y·(1 − y).</summary>
public sealed class Sigmoid : UnaryElementwise
{
    public override string OpType => "Sigmoid";

    protected override void Compute(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y);

    protected override void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch)
    {
        TensorPrimitives.Subtract(1f, y, scratch);      // 1 − y
        TensorPrimitives.Multiply(scratch, y, scratch); // y(1 − y)
        TensorPrimitives.MultiplyAdd(scratch, dy, dx, dx);
    }
}

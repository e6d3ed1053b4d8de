using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = tanh(x); dy/dx = 1 − y².</summary>
public sealed class Tanh : UnaryElementwise
{
    public override string OpType => "Tanh";

    protected override void Compute(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);

    protected override void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch)
    {
        TensorPrimitives.Multiply(y, y, scratch);
        TensorPrimitives.Subtract(1f, scratch, scratch); // 1 − y²
        TensorPrimitives.MultiplyAdd(scratch, dy, dx, dx);
    }
}

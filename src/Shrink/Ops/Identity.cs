using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = x (a copy).</summary>
public sealed class Identity : UnaryElementwise
{
    public override string OpType => "Identity";

    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) => 0;

    protected override void Compute(ReadOnlySpan<float> x, Span<float> y) => x.CopyTo(y);

    protected override void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch) => TensorPrimitives.Add(dx, dy, dx);
}

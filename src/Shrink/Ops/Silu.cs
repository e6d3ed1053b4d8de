using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// SiLU (swish): y = x·σ(x); dy/dx = σ(x)·(1 + x·(1 − σ(x))). Not an ONNX op: export writes Sigmoid + Mul.
/// </summary>
public sealed class Silu : UnaryElementwise
{
    public override string OpType => "Silu";

    protected override void Compute(ReadOnlySpan<float> x, Span<float> y)
    {
        TensorPrimitives.Sigmoid(x, y);
        TensorPrimitives.Multiply(x, y, y);
    }

    protected override void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch)
    {
        TensorPrimitives.Sigmoid(x, scratch);
        for (int i = 0; i < dx.Length; i++)
        {
            float s = scratch[i];
            dx[i] += dy[i] * s * (1 + x[i] * (1 - s));
        }
    }
}

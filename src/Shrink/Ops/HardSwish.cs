using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// y = x·max(0, min(1, x/6 + 1/2)) (PyTorch's hardswish); dy/dx = 0 for x &lt; −3, 1 for x &gt; 3, (2x + 3)/6 between (PyTorch's choice at the kinks: the middle formula at ±3).
/// </summary>
public sealed class HardSwish : UnaryElementwise
{
    public override string OpType => "HardSwish";

    protected override void Compute(ReadOnlySpan<float> x, Span<float> y)
    {
        TensorPrimitives.Multiply(x, 1f / 6, y);
        TensorPrimitives.Add(y, 0.5f, y);
        TensorPrimitives.Max(y, 0f, y);
        TensorPrimitives.Min(y, 1f, y);
        TensorPrimitives.Multiply(x, y, y);
    }

    protected override void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch)
    {
        for (int i = 0; i < dx.Length; i++)
        {
            float v = x[i];
            if (v > 3) dx[i] += dy[i];
            else if (v >= -3) dx[i] += dy[i] * (v / 3 + 0.5f);
        }
    }
}

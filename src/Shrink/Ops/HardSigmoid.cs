using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// y = max(0, min(1, Alpha·x + Beta)) (ONNX defaults Alpha 0.2, Beta 0.5; PyTorch's hardsigmoid is Alpha 1/6).
/// The gradient is Alpha strictly inside the linear part, 0 outside.
/// </summary>
public sealed class HardSigmoid : UnaryElementwise
{
    public float Alpha { get; init; } = 0.2f;
    public float Beta { get; init; } = 0.5f;

    public override string OpType => "HardSigmoid";
    public override string Attributes => $"alpha={Alpha} beta={Beta}";

    protected override void Compute(ReadOnlySpan<float> x, Span<float> y)
    {
        TensorPrimitives.Multiply(x, Alpha, y);
        TensorPrimitives.Add(y, Beta, y);
        TensorPrimitives.Max(y, 0f, y);
        TensorPrimitives.Min(y, 1f, y);
    }

    protected override void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch)
    {
        for (int i = 0; i < dx.Length; i++)
        {
            float t = Alpha * x[i] + Beta;
            if (t > 0 && t < 1) dx[i] += Alpha * dy[i];
        }
    }
}

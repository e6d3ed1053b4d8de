using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = min(max(x, Min), Max). ReLU6 is Clip(0, 6). The gradient passes where Min &lt; x &lt; Max.</summary>
public sealed class Clip : UnaryElementwise
{
    public float Min { get; init; } = float.MinValue;
    public float Max { get; init; } = float.MaxValue;

    public override string OpType => "Clip";

    public override string Attributes =>
        string.Join(' ', new[] { Min != float.MinValue ? $"min={Min}" : "", Max != float.MaxValue ? $"max={Max}" : "" }.Where(s => s.Length > 0));

    protected override void Compute(ReadOnlySpan<float> x, Span<float> y)
    {
        TensorPrimitives.Max(x, Min, y);
        TensorPrimitives.Min(y, Max, y);
    }

    protected override void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch)
    {
        for (int i = 0; i < dx.Length; i++)
            if (x[i] > Min && x[i] < Max) dx[i] += dy[i];
    }
}

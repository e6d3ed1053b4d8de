using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = x for x &gt; 0, Alpha·x otherwise (gradient at exactly 0 is Alpha, as PyTorch).</summary>
public sealed class LeakyRelu : UnaryElementwise
{
    public float Alpha { get; init; } = 0.01f;

    public override string OpType => "LeakyRelu";
    public override string Attributes => $"alpha={Alpha}";

    protected override void Compute(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = x[i] > 0 ? x[i] : Alpha * x[i];
    }

    protected override void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch)
    {
        for (int i = 0; i < dx.Length; i++) dx[i] += x[i] > 0 ? dy[i] : Alpha * dy[i];
    }
}

using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = min(max(x, Min), Max). ReLU6 is Clip(0, 6). The gradient passes where Min &lt; x &lt; Max.</summary>
public sealed class Clip : UnaryElementwise
{
    public float Min { get; init; } = float.MinValue;
    public float Max { get; init; } = float.MaxValue;

    public override string OpType => "Clip";

    /// <summary>The mask Min &lt; x &lt; Max equals Min &lt; y &lt; Max, so backward reads only the output (the input — often a
    /// batch-norm output — can be released during forward).</summary>
    public override bool BackwardReadsInput(int index) => false;

    public override string Attributes =>
        string.Join(' ', new[] { Min != float.MinValue ? $"min={Min}" : "", Max != float.MaxValue ? $"max={Max}" : "" }.Where(s => s.Length > 0));

    protected override void Compute(ReadOnlySpan<float> x, Span<float> y) => Kernels.Activation.Clamp(x, y, 0f, Min, Max);

    /// <summary>Each element is written from the same element of the input alone: the clamp may run in place.</summary>
    public override bool RecomputesInPlace => true;

    /// <summary>The gradient can be written over the output gradient (masked in place: no zeroed buffer, one pass less).</summary>
    public override bool BackwardInPlace(int index) => Fused;

    /// <summary>SHRINK_NO_CLIP_FUSION=1 (or this switch, for in-process A/B timing) turns off the in-place gradient and the
    /// tape's one-pass recompute of a clip over a released batch norm (or sum).</summary>
    internal static bool Fused = Environment.GetEnvironmentVariable("SHRINK_NO_CLIP_FUSION") != "1";

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        if (ReferenceEquals(dx, outputGrads[0])) Kernels.Activation.ClipBackwardInPlace(outputs[0].Span, Min, Max, dx.Span);
        else Kernels.Activation.ClipBackward(outputs[0].Span, outputGrads[0].Span, Min, Max, dx.Span);
    }

    protected override void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch)
    {
        for (int i = 0; i < dx.Length; i++)
            if (y[i] > Min && y[i] < Max) dx[i] += dy[i];
    }
}

using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// Eval: y = x. Training: inverted dropout, y = x·mask with mask 0 (probability Ratio) or 1/(1 − Ratio), drawn from
/// the context's RNG and kept in <see cref="OpContext.Saved"/> for backward, so E[y] = x.
/// </summary>
public sealed class Dropout : Operator
{
    public float Ratio { get; init; } = 0.5f;

    public override string OpType => "Dropout";
    public override string Attributes => $"ratio={Ratio}";

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        if (!(Ratio >= 0 && Ratio < 1)) throw new ShapeMismatchException($"ratio {Ratio} is outside [0, 1).");
        return [inputs[0]];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        var (x, y) = (inputs[0], outputs[0]);
        if (!ctx.Training || Ratio == 0)
        {
            x.Span.CopyTo(y.Span);
            return;
        }
        var mask = Tensor.Rent(x.Shape, clear: false);
        ctx.Saved = mask;
        var m = mask.Span;
        float keep = 1f / (1f - Ratio);
        for (int i = 0; i < m.Length; i++) m[i] = ctx.Rng.NextSingle() < Ratio ? 0f : keep;
        TensorPrimitives.Multiply(x.Span, m, y.Span);
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        if (ctx.Saved is Tensor mask) TensorPrimitives.MultiplyAdd(outputGrads[0].Span, mask.Span, dx.Span, dx.Span);
        else TensorPrimitives.Add(dx.Span, outputGrads[0].Span, dx.Span);
    }
}

using System.Buffers;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// Base of one-input, same-shape element-wise operators (activations): the shape rule and the forward/backward
/// plumbing live here, an operator supplies only its two span kernels.
/// </summary>
public abstract class UnaryElementwise : Operator
{
    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs) => [inputs[0]];

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        Compute(inputs[0].Span, outputs[0].Span);

    /// <summary>y = f(x) is a pure function of x: recomputing it is running it again.</summary>
    public override bool Recomputable => true;

    public override void Recompute(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        Compute(inputs[0].Span, outputs[0].Span);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        var scratch = ArrayPool<float>.Shared.Rent(Math.Max(1, dx.Length));
        try
        {
            AccumulateGradient(inputs[0].Span, outputs[0].Span, outputGrads[0].Span, dx.Span, scratch.AsSpan(0, dx.Length));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>y = f(x), element by element (same length, no aliasing assumed either way).</summary>
    protected abstract void Compute(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>dx += f'(x)·dy, given x and y = f(x); <paramref name="scratch"/> is a free buffer of the same length.</summary>
    protected abstract void AccumulateGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> scratch);
}

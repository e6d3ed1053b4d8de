using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// y = x for x &gt; 0, slope·x otherwise, with slope broadcast (unidirectionally) to x: per-channel slopes are
/// [C,1,1] for NCHW, [C] for [N,C]. dslope = Σ dy·x over x ≤ 0, summed over the stretched dimensions.
/// </summary>
public sealed class PRelu : Operator
{
    public override string OpType => "PRelu";
    public override (int Min, int Max) InputArity => (2, 2);

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        if (!Broadcast.CanBroadcastTo(inputs[1], inputs[0]))
            throw new ShapeMismatchException($"slope {inputs[1]} does not broadcast to X {inputs[0]}.");
        return [inputs[0]];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        Broadcast.To(inputs[1], outputs[0]); // y = slope, stretched; then y = x > 0 ? x : slope·x
        var x = inputs[0].Span;
        var y = outputs[0].Span;
        for (int i = 0; i < y.Length; i++) y[i] = x[i] > 0 ? x[i] : y[i] * x[i];
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        var (xt, dyt) = (inputs[0], outputGrads[0]);
        var x = xt.Span;
        var dy = dyt.Span;
        using var t = Tensor.Rent(xt.Shape, clear: false);
        var s = t.Span;
        if (inputGrads[0] is { } dxt)
        {
            Broadcast.To(inputs[1], t);
            var dx = dxt.Span;
            for (int i = 0; i < dx.Length; i++) dx[i] += x[i] > 0 ? dy[i] : s[i] * dy[i];
        }
        if (inputGrads[1] is { } dslope)
        {
            for (int i = 0; i < s.Length; i++) s[i] = x[i] > 0 ? 0 : dy[i] * x[i];
            Broadcast.ReduceInto(t, dslope);
        }
    }
}

using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = max(x, 0). Gradient at exactly 0 is 0 (PyTorch's convention).</summary>
public sealed class Relu : Operator
{
    public override string OpType => "Relu";

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs) => [inputs[0]];

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        TensorPrimitives.Max(inputs[0].Span, 0f, outputs[0].Span);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        var y = outputs[0].Span;
        var dy = outputGrads[0].Span;
        var d = dx.Span;
        for (int i = 0; i < d.Length; i++)
            if (y[i] > 0) d[i] += dy[i];
    }
}

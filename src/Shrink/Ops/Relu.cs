using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = max(x, 0) (NaN propagates). Gradient at exactly 0 is 0 (PyTorch's convention).</summary>
public sealed class Relu : Operator
{
    public override bool BackwardReadsInput(int index) => false;

    public override string OpType => "Relu";

    public override bool Recomputable => true;
    public override bool RecomputesInPlace => true;
    public override bool BackwardInPlace(int index) => true;

    public override void Recompute(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) => Forward(ctx, inputs, outputs);

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs) => [inputs[0]];

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        Kernels.Activation.Relu(inputs[0].Span, outputs[0].Span);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        if (ReferenceEquals(dx, outputGrads[0])) Kernels.Activation.ReluBackwardInPlace(outputs[0].Span, dx.Span);
        else Kernels.Activation.ReluBackward(outputs[0].Span, outputGrads[0].Span, dx.Span);
    }
}

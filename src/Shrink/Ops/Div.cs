using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// y = a / b with NumPy broadcasting (IEEE: x/0 is ±Inf or NaN); da = Σ dy/b, db = −Σ dy·y/b over the stretched dimensions.
/// </summary>
public sealed class Div : BinaryElementwise
{
    public override string OpType => "Div";

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        Map<Kernel>(inputs[0], inputs[1], outputs[0]);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        var (b, y, dy) = (inputs[1], outputs[0], outputGrads[0]);
        if (inputGrads[0] is { } da)
        {
            using var t = Scratch(dy.Shape);
            Map<Kernel>(dy, b, t);
            Broadcast.ReduceInto(t, da);
        }
        if (inputGrads[1] is { } db)
        {
            using var t = Scratch(dy.Shape);
            Map<Kernel>(y, b, t);
            TensorPrimitives.Multiply(t.Span, dy.Span, t.Span);
            Broadcast.ReduceInto(t, db, -1f);
        }
    }

    internal readonly struct Kernel : IBinaryKernel
    {
        public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
        public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
        public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
    }
}

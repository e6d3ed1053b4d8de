using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = a·b with NumPy broadcasting; da = Σ dy·b, db = Σ dy·a over the stretched dimensions.</summary>
public sealed class Mul : BinaryElementwise
{
    public override string OpType => "Mul";

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        Map<Kernel>(inputs[0], inputs[1], outputs[0]);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        var dy = outputGrads[0];
        for (int i = 0; i < 2; i++)
        {
            if (inputGrads[i] is not { } dx) continue;
            using var t = Scratch(dy.Shape);
            Map<Kernel>(dy, inputs[1 - i], t); // dy times the other operand
            Broadcast.ReduceInto(t, dx);
        }
    }

    internal readonly struct Kernel : IBinaryKernel
    {
        public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(a, b, y);
        public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Multiply(a, b, y);
        public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(b, a, y);
    }
}

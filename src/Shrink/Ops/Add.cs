using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = a + b with NumPy broadcasting; each gradient is dy summed over the dimensions its input was stretched along.</summary>
public sealed class Add : BinaryElementwise
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput(int index) => false;

    public override string OpType => "Add";

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        Map<Kernel>(inputs[0], inputs[1], outputs[0]);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is { } da) Broadcast.ReduceInto(outputGrads[0], da);
        if (inputGrads[1] is { } db) Broadcast.ReduceInto(outputGrads[0], db);
    }

    internal readonly struct Kernel : IBinaryKernel
    {
        public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(a, b, y);
        public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Add(a, b, y);
        public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(b, a, y);
    }
}

using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>y = a + b with NumPy broadcasting; each gradient is dy summed over the dimensions its input was stretched along.</summary>
public sealed class Add : BinaryElementwise
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput(int index) => false;

    public override string OpType => "Add";

    /// <summary>The Jacobian is the identity for an input of the output's shape: its gradient can be the output's.</summary>
    public override bool BackwardInPlace(int index) => true;

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        Map<Kernel>(inputs[0], inputs[1], outputs[0]);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        // An input gradient that is the output gradient itself (BackwardInPlace) already holds its value.
        if (inputGrads[0] is { } da && !ReferenceEquals(da, outputGrads[0])) Broadcast.ReduceInto(outputGrads[0], da);
        if (inputGrads[1] is { } db && !ReferenceEquals(db, outputGrads[0])) Broadcast.ReduceInto(outputGrads[0], db);
    }

    /// <summary>Operands of the output's shape (no broadcasting): clamp(a + b) in one pass (<see cref="Kernels.Activation.AddClamp"/>).</summary>
    public override bool RecomputeClamped(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs, float lo, float hi)
    {
        Tensor a = inputs[0], b = inputs[1], y = outputs[0];
        if (a.Length != y.Length || b.Length != y.Length) return false;
        Kernels.Activation.AddClamp(a.Span, b.Span, lo, hi, y.Span);
        return true;
    }

    internal readonly struct Kernel : IBinaryKernel
    {
        public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(a, b, y);
        public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y) => TensorPrimitives.Add(a, b, y);
        public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(b, a, y);
    }
}

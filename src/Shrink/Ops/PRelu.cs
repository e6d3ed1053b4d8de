using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// y = x for x &gt; 0, slope·x otherwise, with slope broadcast (unidirectionally) to x: per-channel slopes are
/// [C,1,1] for NCHW, [C] for [N,C]. dx = dy·(x &gt; 0 ? 1 : slope); dslope = Σ dy·x over x ≤ 0, summed over the
/// stretched dimensions. Runs through <see cref="BinaryElementwise.Map{TKernel}"/>'s broadcasting rows.
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

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        BinaryElementwise.Map<Kernel>(inputs[0], inputs[1], outputs[0]);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        var (x, dy) = (inputs[0], outputGrads[0]);
        using var t = Tensor.Rent(x.Shape, clear: false);
        if (inputGrads[0] is { } dx)
        {
            BinaryElementwise.Map<SlopeKernel>(x, inputs[1], t); // dy/dx
            TensorPrimitives.MultiplyAdd(t.Span, dy.Span, dx.Span, dx.Span);
        }
        if (inputGrads[1] is { } dslope)
        {
            ReadOnlySpan<float> xs = x.Span, dys = dy.Span;
            var ts = t.Span;
            for (int i = 0; i < ts.Length; i++) ts[i] = xs[i] > 0 ? 0 : dys[i] * xs[i];
            Broadcast.ReduceInto(t, dslope);
        }
    }

    /// <summary>y = a &gt; 0 ? a : b·a (a = x, b = slope).</summary>
    internal readonly struct Kernel : IBinaryKernel
    {
        public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
        {
            for (int i = 0; i < y.Length; i++) y[i] = a[i] > 0 ? a[i] : b[i] * a[i];
        }

        public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y)
        {
            for (int i = 0; i < y.Length; i++) y[i] = a[i] > 0 ? a[i] : b * a[i];
        }

        public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y)
        {
            for (int i = 0; i < y.Length; i++) y[i] = a > 0 ? a : b[i] * a;
        }
    }

    /// <summary>y = a &gt; 0 ? 1 : b: the derivative with respect to x.</summary>
    private readonly struct SlopeKernel : IBinaryKernel
    {
        public static void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
        {
            for (int i = 0; i < y.Length; i++) y[i] = a[i] > 0 ? 1 : b[i];
        }

        public static void Invoke(ReadOnlySpan<float> a, float b, Span<float> y)
        {
            for (int i = 0; i < y.Length; i++) y[i] = a[i] > 0 ? 1 : b;
        }

        public static void Invoke(float a, ReadOnlySpan<float> b, Span<float> y)
        {
            if (a > 0) y.Fill(1);
            else b.CopyTo(y);
        }
    }
}

using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX GlobalMaxPool: the max over all spatial positions, X[N, C, ...] → Y[N, C, 1, ...]. Backward sends the
/// gradient to the first position holding the max.
/// </summary>
public sealed class GlobalMaxPool : Operator
{
    public override string OpType => "GlobalMaxPool";

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs) => [PooledShape("GlobalMaxPool", inputs[0])];

    /// <summary>[N, C, 1, ...] for X of rank ≥ 3.</summary>
    internal static Shape PooledShape(string op, Shape x)
    {
        if (x.Rank < 3) throw new ShapeMismatchException($"{op} input X must have rank ≥ 3 (N, C, spatial...), got {x}.");
        var dims = x.ToArray();
        for (int i = 2; i < dims.Length; i++)
        {
            if (dims[i] == 0) throw new ShapeMismatchException($"{op} input X {x} has an empty spatial dimension.");
            dims[i] = 1;
        }
        return new Shape(dims);
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        Tensor x = inputs[0], y = outputs[0];
        int planes = y.Length, s = planes == 0 ? 0 : x.Length / planes;
        var xs = x.Span;
        var ys = y.Span;
        for (int p = 0; p < planes; p++) ys[p] = TensorPrimitives.Max<float>(xs.Slice(p * s, s));
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        int planes = outputGrads[0].Length, s = planes == 0 ? 0 : dx.Length / planes;
        var xs = inputs[0].Span;
        var dys = outputGrads[0].Span;
        var dxs = dx.Span;
        for (int p = 0; p < planes; p++)
            dxs[p * s + TensorPrimitives.IndexOfMax<float>(xs.Slice(p * s, s))] += dys[p];
    }

    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) => Math.Max(0, inputs[0].Length);
}

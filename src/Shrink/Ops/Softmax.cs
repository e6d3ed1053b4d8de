using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// y = exp(x − max) / Σ exp(x − max) along <see cref="Axis"/> (negative counts from the end): numerically stable.
/// Backward: dx = y·(dy − Σ dy·y) along the axis.
/// </summary>
public sealed class Softmax : Operator
{
    public int Axis { get; init; } = -1;

    public override string OpType => "Softmax";
    public override string Attributes => $"axis={Axis}";

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        ResolveAxis(inputs[0]);
        return [inputs[0]];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        var (outer, n, inner) = Layout(inputs[0].Shape);
        var x = inputs[0].Span;
        var y = outputs[0].Span;
        if (n == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var xr = x.Slice(o * n, n);
                var yr = y.Slice(o * n, n);
                TensorPrimitives.Subtract(xr, TensorPrimitives.Max(xr), yr);
                TensorPrimitives.Exp(yr, yr);
                TensorPrimitives.Divide(yr, TensorPrimitives.Sum(yr), yr);
            }
            return;
        }
        // Strided axis: work on whole inner rows at a time so every step is a contiguous span operation.
        var scratch = new float[inner * 2];
        var max = scratch.AsSpan(0, inner);
        var sum = scratch.AsSpan(inner, inner);
        for (int o = 0; o < outer; o++)
        {
            var xs = x.Slice(o * n * inner, n * inner);
            var ys = y.Slice(o * n * inner, n * inner);
            xs[..inner].CopyTo(max);
            for (int j = 1; j < n; j++) TensorPrimitives.Max(max, xs.Slice(j * inner, inner), max);
            sum.Clear();
            for (int j = 0; j < n; j++)
            {
                var yr = ys.Slice(j * inner, inner);
                TensorPrimitives.Subtract(xs.Slice(j * inner, inner), max, yr);
                TensorPrimitives.Exp(yr, yr);
                TensorPrimitives.Add(sum, yr, sum);
            }
            for (int j = 0; j < n; j++) TensorPrimitives.Divide(ys.Slice(j * inner, inner), sum, ys.Slice(j * inner, inner));
        }
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dxt) return;
        var (outer, n, inner) = Layout(inputs[0].Shape);
        var y = outputs[0].Span;
        var dy = outputGrads[0].Span;
        var dx = dxt.Span;
        var scratch = new float[inner * 2];
        var dot = scratch.AsSpan(0, inner);
        var t = scratch.AsSpan(inner, inner);
        for (int o = 0; o < outer; o++)
        {
            int start = o * n * inner;
            dot.Clear();
            for (int j = 0; j < n; j++)
                TensorPrimitives.MultiplyAdd(y.Slice(start + j * inner, inner), dy.Slice(start + j * inner, inner), dot, dot);
            for (int j = 0; j < n; j++)
            {
                int at = start + j * inner;
                TensorPrimitives.Subtract(dy.Slice(at, inner), dot, t);
                TensorPrimitives.MultiplyAdd(t, y.Slice(at, inner), dx.Slice(at, inner), dx.Slice(at, inner));
            }
        }
    }

    private int ResolveAxis(Shape x)
    {
        int axis = Axis < 0 ? Axis + x.Rank : Axis;
        if (axis < 0 || axis >= x.Rank) throw new ShapeMismatchException($"axis {Axis} is out of range for X {x} (rank {x.Rank}).");
        return axis;
    }

    private (int Outer, int N, int Inner) Layout(Shape x)
    {
        int axis = ResolveAxis(x);
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= x[i];
        for (int i = axis + 1; i < x.Rank; i++) inner *= x[i];
        return (outer, x[axis], inner);
    }
}

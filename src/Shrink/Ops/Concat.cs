using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>Joins any number of inputs along <see cref="Axis"/> (negative counts from the end); other dimensions must agree.</summary>
public sealed class Concat : Operator
{
    public int Axis { get; init; }

    public override string OpType => "Concat";
    public override (int Min, int Max) InputArity => (1, int.MaxValue);
    public override string Attributes => $"axis={Axis}";
    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) => 0;

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        var first = inputs[0];
        int axis = ResolveAxis(first.Rank);
        var dims = first.ToArray();
        for (int i = 1; i < inputs.Length; i++)
        {
            var s = inputs[i];
            if (s.Rank != first.Rank)
                throw new ShapeMismatchException($"input {i} {s} has rank {s.Rank}, input 0 {first} has rank {first.Rank}.");
            for (int d = 0; d < s.Rank; d++)
            {
                if (d == axis)
                {
                    dims[d] = dims[d] == Shape.Dynamic || s[d] == Shape.Dynamic ? Shape.Dynamic : dims[d] + s[d];
                    continue;
                }
                if (s[d] != dims[d] && s[d] != Shape.Dynamic && dims[d] != Shape.Dynamic)
                    throw new ShapeMismatchException(
                        $"input {i} {s} does not match input 0 {first} in dimension {d} ({s[d]} vs {dims[d]}); only axis {axis} may differ.");
                if (dims[d] == Shape.Dynamic) dims[d] = s[d];
            }
        }
        return [new Shape(dims)];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        var y = outputs[0];
        var (outer, rowY) = Layout(y.Shape);
        var dst = y.Span;
        int offset = 0;
        foreach (var x in inputs)
        {
            int row = rowY == 0 ? 0 : x.Length / Math.Max(1, outer);
            var src = x.Span;
            for (int o = 0; o < outer; o++) src.Slice(o * row, row).CopyTo(dst.Slice(o * rowY + offset, row));
            offset += row;
        }
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        var (outer, rowY) = Layout(outputs[0].Shape);
        var dy = outputGrads[0].Span;
        int offset = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            int row = rowY == 0 ? 0 : inputs[i].Length / Math.Max(1, outer);
            if (inputGrads[i] is { } dxt)
            {
                var dx = dxt.Span;
                for (int o = 0; o < outer; o++)
                    TensorPrimitives.Add(dx.Slice(o * row, row), dy.Slice(o * rowY + offset, row), dx.Slice(o * row, row));
            }
            offset += row;
        }
    }

    /// <summary>Number of slabs before the axis and the output's elements per slab (axis dim × inner).</summary>
    private (int Outer, int Row) Layout(Shape y)
    {
        int axis = ResolveAxis(y.Rank);
        int outer = 1;
        for (int d = 0; d < axis; d++) outer *= y[d];
        int row = 1;
        for (int d = axis; d < y.Rank; d++) row *= y[d];
        return (outer, row);
    }

    private int ResolveAxis(int rank)
    {
        int axis = Axis < 0 ? Axis + rank : Axis;
        if (axis < 0 || axis >= rank) throw new ShapeMismatchException($"axis {Axis} is out of range for inputs of rank {rank}.");
        return axis;
    }
}

using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>Permutes dimensions: output dimension i is input dimension Perm[i] (default: reversed).</summary>
public sealed class Transpose : Operator
{
    public int[]? Perm { get; init; }

    public override string OpType => "Transpose";
    public override string Attributes => Perm is null ? "" : $"perm=[{string.Join(',', Perm)}]";
    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) => 0;

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        var x = inputs[0];
        var perm = PermFor(x);
        var dims = new int[x.Rank];
        for (int i = 0; i < dims.Length; i++) dims[i] = x[perm[i]];
        return [new Shape(dims)];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        var (x, y) = (inputs[0], outputs[0]);
        var src = x.Span;
        var dst = y.Span;
        var (rowLength, rowStride, it) = Walk(x.Shape, y.Shape);
        if (rowStride == 1)
            for (int o = 0; o < dst.Length; o += rowLength, it.Next()) src.Slice(it.Offset, rowLength).CopyTo(dst.Slice(o, rowLength));
        else
            for (int o = 0; o < dst.Length; o += rowLength, it.Next())
                for (int j = 0, s = it.Offset; j < rowLength; j++, s += rowStride) dst[o + j] = src[s];
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dxt) return;
        var dx = dxt.Span;
        var dy = outputGrads[0].Span;
        var (rowLength, rowStride, it) = Walk(inputs[0].Shape, outputs[0].Shape);
        for (int o = 0; o < dy.Length; o += rowLength, it.Next())
            for (int j = 0, s = it.Offset; j < rowLength; j++, s += rowStride) dx[s] += dy[o + j];
    }

    /// <summary>
    /// The output walked row by row (its last dimension): each row reads the input from an offset with a fixed stride;
    /// the odometer over the output's other dimensions yields the offsets.
    /// </summary>
    private (int RowLength, int RowStride, Broadcast.Odometer Rows) Walk(Shape x, Shape y)
    {
        var perm = PermFor(x);
        var inStrides = new int[x.Rank];
        for (int i = x.Rank - 1, s = 1; i >= 0; s *= x[i], i--) inStrides[i] = s;
        if (y.Rank == 0) return (1, 1, new Broadcast.Odometer(y, []));
        var outer = new int[y.Rank - 1];
        for (int i = 0; i < outer.Length; i++) outer[i] = inStrides[perm[i]];
        return (Math.Max(1, y[-1]), inStrides[perm[^1]], new Broadcast.Odometer(new Shape(y.Dims[..^1]), outer));
    }

    private int[] PermFor(Shape x)
    {
        if (Perm is null) return Enumerable.Range(0, x.Rank).Reverse().ToArray();
        if (Perm.Length != x.Rank || Perm.Order().Where((p, i) => p != i).Any())
            throw new ShapeMismatchException($"perm [{string.Join(',', Perm)}] is not a permutation of the {x.Rank} dimensions of X {x}.");
        return Perm;
    }
}

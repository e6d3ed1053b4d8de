using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX Split: cuts X along <see cref="Axis"/> into consecutive parts of the sizes in <see cref="Sizes"/> (ONNX's
/// "split" input, constant here), or into <see cref="NumOutputs"/> equal parts when <see cref="Sizes"/> is null
/// (opset 18's num_outputs; the last part takes the remainder when the axis does not divide). One output per part.
/// </summary>
public sealed class Split : Operator
{
    public int Axis { get; init; }

    /// <summary>Part sizes along the axis (must sum to the axis length); null splits evenly into <see cref="NumOutputs"/>.</summary>
    public int[]? Sizes { get; init; }

    public int NumOutputs { get; init; } = 2;

    public override string OpType => "Split";

    public override string Attributes => Sizes is null ? $"axis={Axis} outputs={NumOutputs}" : $"axis={Axis} split=[{string.Join(",", Sizes)}]";

    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) => 0;

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        var x = inputs[0];
        int axis = ResolveAxis(x.Rank);
        int length = x[axis];
        if (length == Shape.Dynamic) throw new ShapeMismatchException($"Split needs a known size along axis {Axis}, got {x}.");
        int[] sizes = PartSizes(length);
        return sizes.Select(s => x.WithDim(axis, s)).ToArray();
    }

    /// <summary>The size of each part for an axis of <paramref name="length"/>.</summary>
    public int[] PartSizes(int length)
    {
        if (Sizes is not null)
        {
            if (Sizes.Length == 0 || Sizes.Any(s => s < 0) || Sizes.Sum() != length)
                throw new ShapeMismatchException($"Split sizes [{string.Join(", ", Sizes)}] must be non-negative and sum to the axis length {length}.");
            return Sizes;
        }
        if (NumOutputs < 1 || NumOutputs > length)
            throw new ShapeMismatchException($"Split into {NumOutputs} parts needs 1 to {length} parts along an axis of length {length}.");
        int part = (length + NumOutputs - 1) / NumOutputs;
        var sizes = new int[NumOutputs];
        for (int i = 0; i < sizes.Length; i++) sizes[i] = Math.Max(0, Math.Min(part, length - i * part));
        return sizes;
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        var (outer, rowX, inner) = Layout(inputs[0].Shape);
        var src = inputs[0].Span;
        int offset = 0;
        foreach (var y in outputs)
        {
            int row = y.Shape[ResolveAxis(y.Rank)] * inner;
            var dst = y.Span;
            for (int o = 0; o < outer; o++) src.Slice(o * rowX + offset, row).CopyTo(dst.Slice(o * row, row));
            offset += row;
        }
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dxt) return;
        var (outer, rowX, inner) = Layout(inputs[0].Shape);
        var dx = dxt.Span;
        int offset = 0;
        for (int i = 0; i < outputs.Length; i++)
        {
            int row = outputs[i].Shape[ResolveAxis(outputs[i].Rank)] * inner;
            var dy = outputGrads[i].Span;
            for (int o = 0; o < outer; o++)
            {
                var target = dx.Slice(o * rowX + offset, row);
                TensorPrimitives.Add(target, dy.Slice(o * row, row), target);
            }
            offset += row;
        }
    }

    /// <summary>Slabs before the axis, input elements per slab (axis × inner) and elements per axis step.</summary>
    private (int Outer, int RowX, int Inner) Layout(Shape x)
    {
        int axis = ResolveAxis(x.Rank);
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= x[d];
        for (int d = axis + 1; d < x.Rank; d++) inner *= x[d];
        return (outer, x[axis] * inner, inner);
    }

    private int ResolveAxis(int rank)
    {
        int axis = Axis < 0 ? Axis + rank : Axis;
        if (axis < 0 || axis >= rank) throw new ShapeMismatchException($"Split axis {Axis} is out of range for input of rank {rank}.");
        return axis;
    }
}

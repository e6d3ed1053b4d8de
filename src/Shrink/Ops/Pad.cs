using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX Pad, constant mode, any rank: Pads = [begin_0 … begin_{r−1}, end_0 … end_{r−1}], new cells hold
/// <see cref="Value"/>. Negative pads (cropping) are rejected. Backward copies the interior of dY into dX.
/// </summary>
public sealed class Pad : Operator
{
    public int[] Pads { get; init; } = [];
    public float Value { get; init; }

    public override string OpType => "Pad";

    public override string Attributes => $"pads=[{string.Join(",", Pads)}]" + (Value != 0 ? $" value={Value:G6}" : "");

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        Shape x = inputs[0];
        if (Pads.Length != 2 * x.Rank)
            throw new ShapeMismatchException($"Pad attribute Pads [{string.Join(",", Pads)}] needs {2 * x.Rank} values (begins, then ends) for input {x}.");
        if (Pads.Any(p => p < 0))
            throw new ShapeMismatchException($"Pad attribute Pads [{string.Join(",", Pads)}] has negative entries (cropping is not supported) for input {x}.");
        var dims = x.ToArray();
        for (int i = 0; i < dims.Length; i++)
            if (dims[i] != Shape.Dynamic) dims[i] += Pads[i] + Pads[i + x.Rank];
        return [new Shape(dims)];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        outputs[0].Span.Fill(Value);
        Copy(inputs[0], outputs[0], toOutput: true);
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is { } dx) Copy(dx, outputGrads[0], toOutput: false);
    }

    /// <summary>Walks the rows (last axis) of the small tensor: copies them into the big one, or adds the big one's back.</summary>
    private void Copy(Tensor small, Tensor big, bool toOutput)
    {
        int rank = small.Rank;
        if (small.Length == 0) return;
        if (rank == 0)
        {
            if (toOutput) big.Span[0] = small.Span[0];
            else small.Span[0] += big.Span[0];
            return;
        }
        int row = small.Shape[rank - 1];
        int rows = small.Length / row;
        Span<int> index = stackalloc int[rank];
        Span<long> bigStrides = stackalloc long[rank];
        long stride = 1;
        for (int a = rank - 1; a >= 0; a--)
        {
            bigStrides[a] = stride;
            stride *= big.Shape[a];
        }
        var s = small.Span;
        var b = big.Span;
        for (int r = 0; r < rows; r++)
        {
            long off = 0;
            for (int a = 0; a < rank; a++) off += (index[a] + Pads[a]) * bigStrides[a];
            var src = s.Slice(r * row, row);
            var dst = b.Slice((int)off, row);
            if (toOutput) src.CopyTo(dst);
            else TensorPrimitives.Add(src, dst, small.Span.Slice(r * row, row));
            for (int a = rank - 2; a >= 0; a--)
            {
                if (++index[a] < small.Shape[a]) break;
                index[a] = 0;
            }
        }
    }
}

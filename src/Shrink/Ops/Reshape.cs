using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX Reshape with a constant target: 0 copies the input's dimension at that index, −1 is inferred from the element
/// count. With a dynamic batch the dynamic factor is carried along: [N,16,5,5] to [−1,400] or [0,−1] gives [N,400].
/// </summary>
public sealed class Reshape : Operator
{
    public int[] Shape { get; init; } = [];

    public override string OpType => "Reshape";
    public override string Attributes => $"shape=[{string.Join(',', Shape)}]";
    public override long ElementOps(ReadOnlySpan<Tensors.Shape> inputs, ReadOnlySpan<Tensors.Shape> outputs) => 0;

    public override Tensors.Shape[] InferShapes(ReadOnlySpan<Tensors.Shape> inputs)
    {
        var x = inputs[0];
        var dims = new int[Shape.Length];
        int inferred = -1;
        long known = 1;               // product of the output's static dimensions
        var copied = new bool[x.Rank]; // input dimensions carried over by a 0
        for (int i = 0; i < Shape.Length; i++)
        {
            int s = Shape[i];
            if (s == 0)
            {
                if (i >= x.Rank) throw new ShapeMismatchException($"X {x} cannot be reshaped to {Target}: a 0 copies input dimension {i}, but X has rank {x.Rank}.");
                dims[i] = x[i];
                copied[i] = true;
                if (x[i] != Tensors.Shape.Dynamic) known *= x[i];
            }
            else if (s == -1)
            {
                if (inferred >= 0) throw new ShapeMismatchException($"X {x} cannot be reshaped to {Target}: more than one −1.");
                inferred = i;
            }
            else if (s < 0) throw new ShapeMismatchException($"X {x} cannot be reshaped to {Target}: negative dimension {s}.");
            else
            {
                dims[i] = s;
                known *= s;
            }
        }

        long total = 1;            // product of the input's static dimensions
        bool uncancelledDynamic = false; // a dynamic input dimension not carried over by a 0
        for (int i = 0; i < x.Rank; i++)
        {
            if (x[i] != Tensors.Shape.Dynamic) total *= x[i];
            else if (!copied[i]) uncancelledDynamic = true;
        }

        if (uncancelledDynamic)
        {
            // The element count is a multiple of the unknown batch: the −1 takes it and stays dynamic. Whether the
            // counts fit depends on the batch, so it is checked when the graph runs with concrete shapes.
            if (inferred >= 0) dims[inferred] = Tensors.Shape.Dynamic;
            return [new Tensors.Shape(dims)];
        }
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0) throw Mismatch(x);
            dims[inferred] = (int)(total / known);
        }
        else if (known != total) throw Mismatch(x);
        return [new Tensors.Shape(dims)];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        inputs[0].Span.CopyTo(outputs[0].Span);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is { } dx) TensorPrimitives.Add(dx.Span, outputGrads[0].Span, dx.Span);
    }

    private string Target => $"[{string.Join(',', Shape)}]";

    private ShapeMismatchException Mismatch(Tensors.Shape x) =>
        new($"X {x} ({(x.IsConcrete ? x.Length.ToString() : "N·" + StaticLength(x))} elements) cannot be reshaped to {Target}.");

    private static long StaticLength(Tensors.Shape x)
    {
        long n = 1;
        foreach (int d in x) if (d != Tensors.Shape.Dynamic) n *= d;
        return n;
    }
}

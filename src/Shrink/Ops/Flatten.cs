using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX Flatten: [d0..d(axis−1)] and [d(axis)..] each collapse into one dimension, giving rank 2
/// (axis 0 gives [1, all]; negative axes count from the end). A dynamic dimension makes its side dynamic.
/// </summary>
public sealed class Flatten : Operator
{
    public int Axis { get; init; } = 1;

    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput(int index) => false;

    public override string OpType => "Flatten";
    public override string Attributes => $"axis={Axis}";
    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) => 0;

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        var x = inputs[0];
        int axis = Axis < 0 ? Axis + x.Rank : Axis;
        if (axis < 0 || axis > x.Rank) throw new ShapeMismatchException($"axis {Axis} is out of range for X {x} (rank {x.Rank}).");
        return [new Shape(Product(x, 0, axis), Product(x, axis, x.Rank))];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        inputs[0].Span.CopyTo(outputs[0].Span);

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is { } dx) TensorPrimitives.Add(dx.Span, outputGrads[0].Span, dx.Span);
    }

    private static int Product(Shape s, int from, int to)
    {
        int p = 1;
        for (int i = from; i < to; i++)
        {
            if (s[i] == Shape.Dynamic) return Shape.Dynamic;
            p *= s[i];
        }
        return p;
    }
}

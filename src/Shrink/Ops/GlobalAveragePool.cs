using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>ONNX GlobalAveragePool: the mean over all spatial positions, X[N, C, ...] → Y[N, C, 1, ...].</summary>
public sealed class GlobalAveragePool : Operator
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput(int index) => false;

    public override string OpType => "GlobalAveragePool";

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs) => [GlobalMaxPool.PooledShape("GlobalAveragePool", inputs[0])];

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        Tensor x = inputs[0], y = outputs[0];
        int planes = y.Length, s = planes == 0 ? 0 : x.Length / planes;
        var xs = x.Span;
        var ys = y.Span;
        for (int p = 0; p < planes; p++) ys[p] = TensorPrimitives.Sum<float>(xs.Slice(p * s, s)) / s;
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        int planes = outputGrads[0].Length, s = planes == 0 ? 0 : dx.Length / planes;
        var dys = outputGrads[0].Span;
        var dxs = dx.Span;
        for (int p = 0; p < planes; p++)
        {
            var d = dxs.Slice(p * s, s);
            TensorPrimitives.Add(d, dys[p] / s, d);
        }
    }

    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) => Math.Max(0, inputs[0].Length);
}

using Shrink.Graph;
using Shrink.Kernels;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX Conv, 2-D NCHW: Y[n, o] = B[o] + Σ W[o, c, i, j]·X[n, g·Cin/G + c, oh·sh − pt + i·dh, ow·sw − pl + j·dw],
/// W[Cout, Cin/Group, kh, kw], B[Cout] optional. The work is done by <see cref="ConvGemm"/>: im2col + packed GEMM with
/// small images folded into the GEMM's N dimension (1x1 stride-1 unpadded convs skip im2col; depthwise convs, Group ==
/// Cin, use the direct <see cref="DepthwiseConv"/> kernel). Backward: data by GEMM + col2im, weights by GEMM over the
/// columns, bias by reduction; results do not depend on the thread count.
/// </summary>
public sealed class Conv : Operator
{
    public int[] Strides { get; init; } = [1, 1];

    /// <summary>top, left, bottom, right (ONNX: all begins, then all ends).</summary>
    public int[] Pads { get; init; } = [0, 0, 0, 0];

    public int[] Dilations { get; init; } = [1, 1];
    public int Group { get; init; } = 1;

    public override bool BackwardReadsOutput(int index) => false;

    public override string OpType => "Conv";
    public override (int Min, int Max) InputArity => (2, 3);

    public override string Attributes =>
        $"s={Pooling.Pair(Strides)} p={Pooling.Pads(Pads)}" +
        (Dilations[0] != 1 || Dilations[1] != 1 ? $" d={Pooling.Pair(Dilations)}" : "") + (Group != 1 ? $" g={Group}" : "");

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        Pooling.RequireInts(Strides, 2, 1, "Conv", nameof(Strides));
        Pooling.RequireInts(Pads, 4, 0, "Conv", nameof(Pads));
        Pooling.RequireInts(Dilations, 2, 1, "Conv", nameof(Dilations));
        if (Group < 1) throw new ShapeMismatchException($"Conv attribute Group must be ≥ 1, got {Group}.");
        Shape x = inputs[0], w = inputs[1];
        RequireRank(x, 4, $"Conv input X {x}");
        RequireRank(w, 4, $"Conv weight W {w}");
        if (w[0] % Group != 0)
            throw new ShapeMismatchException($"weight {w} has {w[0]} output channels, which group {Group} does not divide.");
        if (x[1] != Shape.Dynamic && x[1] != w[1] * Group)
            throw new ShapeMismatchException($"input {x} has {x[1]} channels but weight {w} expects {w[1] * Group} (group {Group}).");
        if (inputs.Length == 3 && (inputs[2].Rank != 1 || inputs[2][0] != w[0]))
            throw new ShapeMismatchException($"bias {inputs[2]} does not match weight {w}: expected [{w[0]}].");
        return [Pooling.Output2d("Conv", x, w[0], w[2], w[3], Strides, Pads, Dilations, ceilMode: false)];
    }

    public override long Macs(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) =>
        outputs[0].Length * ((long)inputs[1][1] * inputs[1][2] * inputs[1][3]);

    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) =>
        inputs.Length == 3 ? outputs[0].Length : 0;

    /// <summary>Sizes of one run, derived from the tensors.</summary>
    internal ConvDims Measure(Shape x, Shape w, Shape y) =>
        new(x[0], x[1], x[2], x[3], w[0], Group,
            new Window2d(w[2], w[3], Strides[0], Strides[1], Pads[0], Pads[1], Dilations[0], Dilations[1], y[2], y[3]));

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        Tensor x = inputs[0], w = inputs[1], y = outputs[0];
        var d = Measure(x.Shape, w.Shape, y.Shape);
        ConvGemm.Forward(d, x.Span, w.Span, inputs.Length == 3 ? inputs[2].Span : default, y.Span);
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        Tensor x = inputs[0], w = inputs[1], dy = outputGrads[0];
        var d = Measure(x.Shape, w.Shape, outputs[0].Shape);
        var timer = Profiling.OpTimer.Active;
        long t0 = timer is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
        if (inputGrads[0] is { } dx) ConvGemm.BackwardData(d, dy.Span, w.Span, dx.Span);
        timer?.AddPart(OpType, "data gradient", t0);
        t0 = timer is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
        Tensor? db = inputGrads.Length == 3 ? inputGrads[2] : null;
        if (inputGrads[1] is { } dw) ConvGemm.BackwardWeight(d, x.Span, dy.Span, dw.Span, db is null ? default : db.Span);
        else if (db is not null)
        {
            var dbs = db.Span;
            for (int o = 0; o < d.Cout; o++)
            {
                float sum = 0;
                for (int n = 0; n < d.N; n++) sum += TensorPrimitives.Sum<float>(dy.Span.Slice(n * d.OutImage + o * d.P, d.P));
                dbs[o] += sum;
            }
        }
        timer?.AddPart(OpType, "weight gradient", t0);
    }
}

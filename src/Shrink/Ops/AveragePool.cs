using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX AveragePool, 2-D NCHW: the mean under each window. The divisor follows PyTorch: with
/// <see cref="CountIncludePad"/> it is the window's extent clipped to the padded input (a ceil-mode window running
/// past the bottom/right padding counts only up to it), otherwise the number of real input elements covered.
/// </summary>
public sealed class AveragePool : Operator
{
    public int[] KernelShape { get; init; } = [];
    public int[] Strides { get; init; } = [1, 1];

    /// <summary>top, left, bottom, right.</summary>
    public int[] Pads { get; init; } = [0, 0, 0, 0];

    public bool CeilMode { get; init; }
    public bool CountIncludePad { get; init; }

    public override string OpType => "AveragePool";

    public override string Attributes =>
        $"k={Pooling.Pair(KernelShape)} s={Pooling.Pair(Strides)} p={Pooling.Pads(Pads)}" +
        (CeilMode ? " ceil" : "") + (CountIncludePad ? " count_include_pad" : "");

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        Pooling.RequireInts(KernelShape, 2, 1, "AveragePool", nameof(KernelShape));
        Pooling.RequireInts(Strides, 2, 1, "AveragePool", nameof(Strides));
        Pooling.RequireInts(Pads, 4, 0, "AveragePool", nameof(Pads));
        RequireRank(inputs[0], 4, $"AveragePool input X {inputs[0]}");
        return [Pooling.Output2d("AveragePool", inputs[0], inputs[0][1], KernelShape[0], KernelShape[1], Strides, Pads, [1, 1], CeilMode)];
    }

    /// <summary>Window of output (r, c) clipped to the input, and its divisor.</summary>
    private (int H0, int H1, int W0, int W1, float Divisor) Window(int h, int w, int r, int c)
    {
        int hs = r * Strides[0] - Pads[0], ws = c * Strides[1] - Pads[1];
        int he = Math.Min(hs + KernelShape[0], h + Pads[2]), we = Math.Min(ws + KernelShape[1], w + Pads[3]);
        int padded = (he - hs) * (we - ws);
        hs = Math.Max(hs, 0);
        ws = Math.Max(ws, 0);
        he = Math.Min(he, h);
        we = Math.Min(we, w);
        int real = Math.Max(0, he - hs) * Math.Max(0, we - ws);
        return (hs, he, ws, we, CountIncludePad ? padded : real);
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        Tensor x = inputs[0], y = outputs[0];
        int h = x.Shape[2], w = x.Shape[3], oh = y.Shape[2], ow = y.Shape[3];
        int planes = x.Shape[0] * x.Shape[1];
        var xs = x.Span;
        var ys = y.Span;
        for (int p = 0; p < planes; p++)
        {
            var plane = xs.Slice(p * h * w, h * w);
            var outPlane = ys.Slice(p * oh * ow, oh * ow);
            for (int r = 0; r < oh; r++)
                for (int c = 0; c < ow; c++)
                {
                    var (h0, h1, w0, w1, div) = Window(h, w, r, c);
                    float sum = 0;
                    for (int i = h0; i < h1; i++)
                        for (int j = w0; j < w1; j++) sum += plane[i * w + j];
                    outPlane[r * ow + c] = div > 0 ? sum / div : 0f;
                }
        }
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        Tensor dy = outputGrads[0];
        int h = dx.Shape[2], w = dx.Shape[3], oh = dy.Shape[2], ow = dy.Shape[3];
        int planes = dx.Shape[0] * dx.Shape[1];
        var dys = dy.Span;
        var dxs = dx.Span;
        for (int p = 0; p < planes; p++)
        {
            var gPlane = dys.Slice(p * oh * ow, oh * ow);
            var dPlane = dxs.Slice(p * h * w, h * w);
            for (int r = 0; r < oh; r++)
                for (int c = 0; c < ow; c++)
                {
                    var (h0, h1, w0, w1, div) = Window(h, w, r, c);
                    if (div <= 0) continue;
                    float g = gPlane[r * ow + c] / div;
                    for (int i = h0; i < h1; i++)
                        for (int j = w0; j < w1; j++) dPlane[i * w + j] += g;
                }
        }
    }
}

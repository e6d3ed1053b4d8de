using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX MaxPool, 2-D NCHW: the largest input under each (dilated) window; padding never wins the max. Ceil mode
/// keeps a last partial window when it starts inside the input or the left/top padding. Ties go to the first
/// element in row-major window order; NaN wins (propagates), as in PyTorch. Backward sends each output gradient to
/// its window's argmax (recomputed, so forward keeps no state).
/// </summary>
public sealed class MaxPool : Operator
{
    public int[] KernelShape { get; init; } = [];
    public int[] Strides { get; init; } = [1, 1];

    /// <summary>top, left, bottom, right.</summary>
    public int[] Pads { get; init; } = [0, 0, 0, 0];

    public int[] Dilations { get; init; } = [1, 1];
    public bool CeilMode { get; init; }

    public override bool BackwardReadsOutput(int index) => false;

    public override string OpType => "MaxPool";

    public override string Attributes =>
        $"k={Pooling.Pair(KernelShape)} s={Pooling.Pair(Strides)} p={Pooling.Pads(Pads)}" +
        (Dilations[0] != 1 || Dilations[1] != 1 ? $" d={Pooling.Pair(Dilations)}" : "") + (CeilMode ? " ceil" : "");

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        Pooling.RequireInts(KernelShape, 2, 1, "MaxPool", nameof(KernelShape));
        Pooling.RequireInts(Strides, 2, 1, "MaxPool", nameof(Strides));
        Pooling.RequireInts(Pads, 4, 0, "MaxPool", nameof(Pads));
        Pooling.RequireInts(Dilations, 2, 1, "MaxPool", nameof(Dilations));
        RequireRank(inputs[0], 4, $"MaxPool input X {inputs[0]}");
        return [Pooling.Output2d("MaxPool", inputs[0], inputs[0][1], KernelShape[0], KernelShape[1], Strides, Pads, Dilations, CeilMode)];
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
                    int idx = ArgMax(plane, h, w, r, c);
                    outPlane[r * ow + c] = idx < 0 ? float.NegativeInfinity : plane[idx];
                }
        }
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        Tensor x = inputs[0], dy = outputGrads[0];
        int h = x.Shape[2], w = x.Shape[3], oh = dy.Shape[2], ow = dy.Shape[3];
        int planes = x.Shape[0] * x.Shape[1];
        var xs = x.Span;
        var dys = dy.Span;
        var dxs = dx.Span;
        for (int p = 0; p < planes; p++)
        {
            var plane = xs.Slice(p * h * w, h * w);
            var gPlane = dys.Slice(p * oh * ow, oh * ow);
            var dPlane = dxs.Slice(p * h * w, h * w);
            for (int r = 0; r < oh; r++)
                for (int c = 0; c < ow; c++)
                {
                    int idx = ArgMax(plane, h, w, r, c);
                    if (idx >= 0) dPlane[idx] += gPlane[r * ow + c];
                }
        }
    }

    /// <summary>Flat index in the plane of the max under output (r, c)'s window; −1 when the window is all padding.</summary>
    private int ArgMax(ReadOnlySpan<float> plane, int h, int w, int r, int c)
    {
        int kh = KernelShape[0], kw = KernelShape[1], dh = Dilations[0], dw = Dilations[1];
        int hs = r * Strides[0] - Pads[0], ws = c * Strides[1] - Pads[1];
        // Taps j whose column ws + j·dw lies in [0, w): computed once for all rows of the window.
        int j0 = ws >= 0 ? 0 : (-ws + dw - 1) / dw;
        int j1 = Math.Min(kw, w - 1 - ws < 0 ? 0 : (w - 1 - ws) / dw + 1);
        int best = -1;
        float max = float.NegativeInfinity;
        for (int i = 0; i < kh; i++)
        {
            int ih = hs + i * dh;
            if ((uint)ih >= (uint)h) continue;
            int rowStart = ih * w + ws;
            for (int j = j0; j < j1; j++)
            {
                int idx = rowStart + j * dw;
                float v = plane[idx];
                if (best < 0 || v > max || (float.IsNaN(v) && !float.IsNaN(max)))
                {
                    max = v;
                    best = idx;
                }
            }
        }
        return best;
    }
}

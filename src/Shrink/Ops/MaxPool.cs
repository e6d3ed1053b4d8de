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
        float[] xa = x.Array, ya = y.Array;
        // Planes are independent: split them over threads (a few slices per thread).
        ForPlanes(planes, (long)planes * oh * ow * KernelShape[0] * KernelShape[1], (p0, p1) =>
        {
            var xs = xa.AsSpan();
            var ys = ya.AsSpan();
            for (int p = p0; p < p1; p++)
            {
                var plane = xs.Slice(p * h * w, h * w);
                var outPlane = ys.Slice(p * oh * ow, oh * ow);
                if (IsPlain2x2(h, w, oh, ow))
                {
                    Kernels.MaxPool2x2.Forward(plane, w, outPlane, oh, ow);
                    continue;
                }
                for (int r = 0; r < oh; r++)
                    for (int c = 0; c < ow; c++)
                    {
                        int idx = ArgMax(plane, h, w, r, c);
                        outPlane[r * ow + c] = idx < 0 ? float.NegativeInfinity : plane[idx];
                    }
            }
        });
    }

    /// <summary>2×2 windows, stride 2, no padding or dilation, every window inside the plane (the common pool): the
    /// vectorised <see cref="Kernels.MaxPool2x2"/> row kernel.</summary>
    private bool IsPlain2x2(int h, int w, int oh, int ow) =>
        KernelShape[0] == 2 && KernelShape[1] == 2 && Strides[0] == 2 && Strides[1] == 2 && Dilations[0] == 1 && Dilations[1] == 1
        && Pads[0] == 0 && Pads[1] == 0 && 2 * oh <= h && 2 * ow <= w;

    private static void ForPlanes(int planes, long work, Action<int, int> body)
    {
        int slices = work < (1 << 16) ? 1 : Math.Min(planes, 8 * Kernels.KernelParallel.MaxThreads);
        if (slices <= 1) { body(0, planes); return; }
        Kernels.KernelParallel.For(slices, s => body((int)((long)planes * s / slices), (int)((long)planes * (s + 1) / slices)));
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        if (inputGrads[0] is not { } dx) return;
        Tensor x = inputs[0], dy = outputGrads[0];
        int h = x.Shape[2], w = x.Shape[3], oh = dy.Shape[2], ow = dy.Shape[3];
        int planes = x.Shape[0] * x.Shape[1];
        float[] xa = x.Array, dya = dy.Array, dxa = dx.Array;
        ForPlanes(planes, (long)planes * oh * ow * KernelShape[0] * KernelShape[1], (p0, p1) =>
        {
            var xs = xa.AsSpan();
            var dys = dya.AsSpan();
            var dxs = dxa.AsSpan();
            for (int p = p0; p < p1; p++)
            {
                var plane = xs.Slice(p * h * w, h * w);
                var gPlane = dys.Slice(p * oh * ow, oh * ow);
                var dPlane = dxs.Slice(p * h * w, h * w);
                if (IsPlain2x2(h, w, oh, ow))
                {
                    Kernels.MaxPool2x2.Backward(plane, w, gPlane, dPlane, oh, ow);
                    continue;
                }
                for (int r = 0; r < oh; r++)
                    for (int c = 0; c < ow; c++)
                    {
                        int idx = ArgMax(plane, h, w, r, c);
                        if (idx >= 0) dPlane[idx] += gPlane[r * ow + c];
                    }
            }
        });
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

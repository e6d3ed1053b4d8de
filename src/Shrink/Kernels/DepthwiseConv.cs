namespace Shrink.Kernels;

/// <summary>
/// Direct depthwise 2-D convolution for one image: input x[C, H, W], weight w[C·M, 1, kh, kw] (M = channel
/// multiplier), output y[C·M, OutH, OutW]; output channel o reads input channel o / M. Covers the kh×1 and 1×kw
/// separable convs of CP decomposition. Rows of contiguous output positions (stride 1 along W) go through vector
/// axpy/dot loops; stride &gt; 1 along W uses a scalar gather. Spans must not alias; NaNs propagate.
/// </summary>
public static class DepthwiseConv
{
    /// <summary>y = depthwise(x, w) + bias (bias may be empty). Overwrites y.</summary>
    public static void Forward(ReadOnlySpan<float> x, int channels, int height, int width, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, int multiplier, in Window2d g, Span<float> y)
    {
        int outC = channels * multiplier, outHw = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        Check(x, channels, height, width, w, outC, taps, y.Length, outHw);
        for (int o = 0; o < outC; o++)
        {
            var plane = x.Slice(o / multiplier * height * width, height * width);
            var yp = y.Slice(o * outHw, outHw);
            yp.Fill(bias.IsEmpty ? 0f : bias[o]);
            var wk = w.Slice(o * taps, taps);
            for (int i = 0; i < g.KernelH; i++)
            {
                int tapH = i * g.DilationH;
                var (ohStart, ohEnd) = Window2d.ValidRange(height, g.OutH, g.StrideH, g.PadTop, tapH);
                for (int j = 0; j < g.KernelW; j++)
                {
                    float wv = wk[i * g.KernelW + j];
                    int tapW = j * g.DilationW;
                    var (owStart, owEnd) = Window2d.ValidRange(width, g.OutW, g.StrideW, g.PadLeft, tapW);
                    int n = owEnd - owStart;
                    if (n <= 0) continue;
                    int iw0 = owStart * g.StrideW - g.PadLeft + tapW;
                    for (int oh = ohStart; oh < ohEnd; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + tapH;
                        var src = plane.Slice(ih * width);
                        var dst = yp.Slice(oh * g.OutW + owStart, n);
                        if (g.StrideW == 1) SpatialVector.Axpy(wv, src.Slice(iw0, n), dst);
                        else
                            for (int k = 0, iw = iw0; k < n; k++, iw += g.StrideW) dst[k] += wv * src[iw];
                    }
                }
            }
        }
    }

    /// <summary>dx += depthwiseᵀ(dy, w): the gradient with respect to the input. Accumulates into dx.</summary>
    public static void BackwardData(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, int channels, int height, int width,
        int multiplier, in Window2d g, Span<float> dx)
    {
        int outC = channels * multiplier, outHw = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        Check(dx, channels, height, width, w, outC, taps, dy.Length, outHw);
        for (int o = 0; o < outC; o++)
        {
            var plane = dx.Slice(o / multiplier * height * width, height * width);
            var gp = dy.Slice(o * outHw, outHw);
            var wk = w.Slice(o * taps, taps);
            for (int i = 0; i < g.KernelH; i++)
            {
                int tapH = i * g.DilationH;
                var (ohStart, ohEnd) = Window2d.ValidRange(height, g.OutH, g.StrideH, g.PadTop, tapH);
                for (int j = 0; j < g.KernelW; j++)
                {
                    float wv = wk[i * g.KernelW + j];
                    int tapW = j * g.DilationW;
                    var (owStart, owEnd) = Window2d.ValidRange(width, g.OutW, g.StrideW, g.PadLeft, tapW);
                    int n = owEnd - owStart;
                    if (n <= 0) continue;
                    int iw0 = owStart * g.StrideW - g.PadLeft + tapW;
                    for (int oh = ohStart; oh < ohEnd; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + tapH;
                        var dst = plane.Slice(ih * width);
                        var src = gp.Slice(oh * g.OutW + owStart, n);
                        if (g.StrideW == 1) SpatialVector.Axpy(wv, src, dst.Slice(iw0, n));
                        else
                            for (int k = 0, iw = iw0; k < n; k++, iw += g.StrideW) dst[iw] += wv * src[k];
                    }
                }
            }
        }
    }

    /// <summary>dw += ∂/∂w of Σ dy·depthwise(x, w). Accumulates into dw ([C·M, 1, kh, kw]).</summary>
    public static void BackwardWeight(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int channels, int height, int width,
        int multiplier, in Window2d g, Span<float> dw)
    {
        int outC = channels * multiplier, outHw = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        Check(x, channels, height, width, dw, outC, taps, dy.Length, outHw);
        for (int o = 0; o < outC; o++)
        {
            var plane = x.Slice(o / multiplier * height * width, height * width);
            var gp = dy.Slice(o * outHw, outHw);
            var wk = dw.Slice(o * taps, taps);
            for (int i = 0; i < g.KernelH; i++)
            {
                int tapH = i * g.DilationH;
                var (ohStart, ohEnd) = Window2d.ValidRange(height, g.OutH, g.StrideH, g.PadTop, tapH);
                for (int j = 0; j < g.KernelW; j++)
                {
                    int tapW = j * g.DilationW;
                    var (owStart, owEnd) = Window2d.ValidRange(width, g.OutW, g.StrideW, g.PadLeft, tapW);
                    int n = owEnd - owStart;
                    if (n <= 0) continue;
                    int iw0 = owStart * g.StrideW - g.PadLeft + tapW;
                    float sum = 0;
                    for (int oh = ohStart; oh < ohEnd; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + tapH;
                        var src = plane.Slice(ih * width);
                        var gr = gp.Slice(oh * g.OutW + owStart, n);
                        if (g.StrideW == 1) sum += SpatialVector.Dot(gr, src.Slice(iw0, n));
                        else
                            for (int k = 0, iw = iw0; k < n; k++, iw += g.StrideW) sum += gr[k] * src[iw];
                    }
                    wk[i * g.KernelW + j] += sum;
                }
            }
        }
    }

    private static void Check(ReadOnlySpan<float> x, int channels, int height, int width, ReadOnlySpan<float> w,
        int outC, int taps, int yLength, int outHw)
    {
        if (x.Length < channels * height * width || w.Length < outC * taps || yLength < outC * outHw)
            throw new ArgumentException($"Depthwise conv: buffers too small for {channels}x{height}x{width} -> {outC}x{outHw} with {taps} taps.");
    }
}

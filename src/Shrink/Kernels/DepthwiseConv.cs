using System.Buffers;

namespace Shrink.Kernels;

/// <summary>
/// Direct depthwise 2-D convolution for one image: input x[C, H, W], weight w[C·M, 1, kh, kw] (M = channel
/// multiplier), output y[C·M, OutH, OutW]; output channel o reads input channel o / M. Covers the kh×1 and 1×kw
/// separable convs of CP decomposition. Rows of contiguous output positions (stride 1 along W) go through vector
/// axpy/dot loops; for stride s &gt; 1 along W each input plane is first split into s column phases (x[ih, q + k·s]
/// at phase q, position k), so that every tap again reads a contiguous run. Spans must not alias; NaNs propagate.
/// </summary>
public static class DepthwiseConv
{
    /// <summary>y = depthwise(x, w) + bias (bias may be empty). Overwrites y.</summary>
    public static void Forward(ReadOnlySpan<float> x, int channels, int height, int width, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, int multiplier, in Window2d g, Span<float> y)
    {
        if (FlatPlane.Usable(g)) FlatPlane.Forward(x, channels, height, width, w, bias, multiplier, g, y);
        else ForwardRows(x, channels, height, width, w, bias, multiplier, g, y);
    }

    /// <summary>The row-by-row kernel (used when the flat-plane kernel's scratch would be unreasonably large).</summary>
    internal static void ForwardRows(ReadOnlySpan<float> x, int channels, int height, int width, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, int multiplier, in Window2d g, Span<float> y)
    {
        int outC = channels * multiplier, outHw = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        Check(x, channels, height, width, w, outC, taps, y.Length, outHw);
        int sw = g.StrideW, pw = (width + sw - 1) / sw;
        float[]? phases = sw > 1 ? ArrayPool<float>.Shared.Rent(sw * height * pw) : null;
        try
        {
            for (int o = 0; o < outC; o++)
            {
                var plane = x.Slice(o / multiplier * height * width, height * width);
                if (phases is not null && o % multiplier == 0) Split(plane, height, width, sw, phases);
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
                            if (phases is null) SpatialVector.Axpy(wv, src.Slice(iw0, n), dst);
                            else SpatialVector.Axpy(wv, phases.AsSpan(Phase(ih, iw0, height, sw, pw), n), dst);
                        }
                    }
                }
            }
        }
        finally
        {
            if (phases is not null) ArrayPool<float>.Shared.Return(phases);
        }
    }

    /// <summary>Offset in the phase buffer of x[ih, iw]: phase iw mod s, row ih, position iw div s.</summary>
    private static int Phase(int ih, int iw, int height, int stride, int phaseWidth) =>
        ((iw % stride) * height + ih) * phaseWidth + iw / stride;

    /// <summary>phases[(q·H + ih)·pw + k] = plane[ih, q + k·s] (entries past the row end are left alone).</summary>
    private static void Split(ReadOnlySpan<float> plane, int height, int width, int stride, Span<float> phases)
    {
        int pw = (width + stride - 1) / stride;
        for (int ih = 0; ih < height; ih++)
        {
            var row = plane.Slice(ih * width, width);
            for (int q = 0; q < stride && q < width; q++)
            {
                var dst = phases.Slice((q * height + ih) * pw, pw);
                for (int k = 0, iw = q; iw < width; k++, iw += stride) dst[k] = row[iw];
            }
        }
    }

    /// <summary>The inverse scatter, accumulating: plane[ih, q + k·s] += phases[(q·H + ih)·pw + k].</summary>
    private static void Merge(ReadOnlySpan<float> phases, int height, int width, int stride, Span<float> plane)
    {
        int pw = (width + stride - 1) / stride;
        for (int ih = 0; ih < height; ih++)
        {
            var row = plane.Slice(ih * width, width);
            for (int q = 0; q < stride && q < width; q++)
            {
                var src = phases.Slice((q * height + ih) * pw, pw);
                for (int k = 0, iw = q; iw < width; k++, iw += stride) row[iw] += src[k];
            }
        }
    }

    /// <summary>dx += depthwiseᵀ(dy, w): the gradient with respect to the input. Accumulates into dx.</summary>
    public static void BackwardData(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, int channels, int height, int width,
        int multiplier, in Window2d g, Span<float> dx)
    {
        if (FlatPlane.Usable(g)) FlatPlane.BackwardData(dy, w, channels, height, width, multiplier, g, dx);
        else BackwardDataRows(dy, w, channels, height, width, multiplier, g, dx);
    }

    /// <summary>The row-by-row data gradient (when the flat-plane kernel's scratch would be unreasonably large).</summary>
    internal static void BackwardDataRows(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, int channels, int height, int width,
        int multiplier, in Window2d g, Span<float> dx)
    {
        int outC = channels * multiplier, outHw = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        Check(dx, channels, height, width, w, outC, taps, dy.Length, outHw);
        int sw = g.StrideW, pw = (width + sw - 1) / sw;
        float[]? phases = sw > 1 ? ArrayPool<float>.Shared.Rent(sw * height * pw) : null;
        try
        {
            for (int o = 0; o < outC; o++)
            {
                var plane = dx.Slice(o / multiplier * height * width, height * width);
                if (phases is not null && o % multiplier == 0) phases.AsSpan(0, sw * height * pw).Clear();
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
                            if (phases is null) SpatialVector.Axpy(wv, src, dst.Slice(iw0, n));
                            else SpatialVector.Axpy(wv, src, phases.AsSpan(Phase(ih, iw0, height, sw, pw), n));
                        }
                    }
                }
                if (phases is not null && (o + 1) % multiplier == 0) Merge(phases, height, width, sw, plane);
            }
        }
        finally
        {
            if (phases is not null) ArrayPool<float>.Shared.Return(phases);
        }
    }

    /// <summary>dw += ∂/∂w of Σ dy·depthwise(x, w). Accumulates into dw ([C·M, 1, kh, kw]).</summary>
    public static void BackwardWeight(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int channels, int height, int width,
        int multiplier, in Window2d g, Span<float> dw)
    {
        if (FlatPlane.Usable(g)) FlatPlane.BackwardWeight(x, dy, channels, height, width, multiplier, g, dw);
        else BackwardWeightRows(x, dy, channels, height, width, multiplier, g, dw);
    }

    /// <summary>The row-by-row weight gradient.</summary>
    internal static void BackwardWeightRows(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int channels, int height, int width,
        int multiplier, in Window2d g, Span<float> dw)
    {
        int outC = channels * multiplier, outHw = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        Check(x, channels, height, width, dw, outC, taps, dy.Length, outHw);
        int sw = g.StrideW, pw = (width + sw - 1) / sw;
        float[]? phases = sw > 1 ? ArrayPool<float>.Shared.Rent(sw * height * pw) : null;
        try
        {
            for (int o = 0; o < outC; o++)
            {
                var plane = x.Slice(o / multiplier * height * width, height * width);
                if (phases is not null && o % multiplier == 0) Split(plane, height, width, sw, phases);
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
                            sum += phases is null ? SpatialVector.Dot(gr, src.Slice(iw0, n))
                                : SpatialVector.Dot(gr, phases.AsSpan(Phase(ih, iw0, height, sw, pw), n));
                        }
                        wk[i * g.KernelW + j] += sum;
                    }
                }
            }
        }
        finally
        {
            if (phases is not null) ArrayPool<float>.Shared.Return(phases);
        }
    }

    internal static void Check(ReadOnlySpan<float> x, int channels, int height, int width, ReadOnlySpan<float> w,
        int outC, int taps, int yLength, int outHw)
    {
        if (x.Length < channels * height * width || w.Length < outC * taps || yLength < outC * outHw)
            throw new ArgumentException($"Depthwise conv: buffers too small for {channels}x{height}x{width} -> {outC}x{outHw} with {taps} taps.");
    }
}

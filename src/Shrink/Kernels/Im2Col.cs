namespace Shrink.Kernels;

/// <summary>
/// The geometry of one 2-D sliding window (convolution or pooling) over a C×H×W image: kernel, stride, padding
/// (top, left; bottom and right only matter for the output size, which the caller gives), dilation, output size.
/// </summary>
public readonly record struct Window2d(int KernelH, int KernelW, int StrideH, int StrideW, int PadTop, int PadLeft,
    int DilationH, int DilationW, int OutH, int OutW)
{
    /// <summary>
    /// The output positions [start, end) along one axis whose tap at kernel offset <paramref name="tap"/>
    /// (already multiplied by the dilation) lands inside [0, <paramref name="size"/>).
    /// </summary>
    public static (int Start, int End) ValidRange(int size, int outSize, int stride, int pad, int tap)
    {
        // o·stride − pad + tap ∈ [0, size) ⇔ o ∈ [ceil((pad − tap)/stride), floor((size − 1 + pad − tap)/stride)].
        int lo = pad - tap;
        int start = lo <= 0 ? 0 : (lo + stride - 1) / stride;
        int hi = size - 1 + pad - tap;
        int end = hi < 0 ? 0 : Math.Min(outSize, hi / stride + 1);
        return (Math.Min(start, end), end);
    }
}

/// <summary>
/// im2col and col2im for convolution as GEMM. The column matrix is row-major [C·kh·kw, OutH·OutW]: row
/// (c·kh + i)·kw + j holds, for every output position, the input pixel under kernel tap (i, j) of channel c
/// (zero where the tap falls in the padding). NaNs are copied through; spans must not alias.
/// </summary>
public static class Im2Col
{
    /// <summary>Stride-2 rows at least this long use the vectorised even/odd gather (<see cref="Interleave"/>); shorter
    /// ones (7×7 and 4×4 outputs) are faster as a plain loop than as a call.</summary>
    private const int MinVectorRow = 8;

    /// <summary>col[(c,i,j), (oh,ow)] = x[c, oh·sh − pt + i·dh, ow·sw − pl + j·dw] (0 outside). Overwrites col.</summary>
    public static void Forward(ReadOnlySpan<float> x, int channels, int height, int width, in Window2d w, Span<float> col) =>
        Forward(x, channels, height, width, w, col, w.OutH * w.OutW);

    /// <summary>As <see cref="Forward(ReadOnlySpan{float}, int, int, int, in Window2d, Span{float})"/> with rows
    /// <paramref name="ldcol"/> apart (≥ OutH·OutW): several images' columns side by side in one matrix.</summary>
    public static void Forward(ReadOnlySpan<float> x, int channels, int height, int width, in Window2d w, Span<float> col, int ldcol)
    {
        int outHw = w.OutH * w.OutW;
        int rows = channels * w.KernelH * w.KernelW;
        if (ldcol < outHw || x.Length < channels * height * width || col.Length < (rows - 1) * ldcol + outHw)
            throw new ArgumentException($"im2col: buffers too small for {channels}x{height}x{width} -> {rows}x{outHw}.");
        int row = 0;
        for (int c = 0; c < channels; c++)
        {
            var plane = x.Slice(c * height * width, height * width);
            for (int i = 0; i < w.KernelH; i++)
            {
                int tapH = i * w.DilationH;
                var (ohStart, ohEnd) = Window2d.ValidRange(height, w.OutH, w.StrideH, w.PadTop, tapH);
                for (int j = 0; j < w.KernelW; j++, row++)
                {
                    var dst = col.Slice(row * ldcol, outHw);
                    int tapW = j * w.DilationW;
                    var (owStart, owEnd) = Window2d.ValidRange(width, w.OutW, w.StrideW, w.PadLeft, tapW);
                    if (ohStart > 0) dst[..(ohStart * w.OutW)].Clear();
                    if (ohEnd < w.OutH) dst[(ohEnd * w.OutW)..].Clear();
                    if (w.StrideH == 1 && w.StrideW == 1 && w.OutW == width && ohEnd > ohStart)
                    {
                        // Same-width stride-1 rows: the tap is one flat shift of the plane, so copy the valid rows in one
                        // block and zero the few columns that fall into the left/right padding (and wrapped around).
                        int shift = (tapH - w.PadTop) * width + (tapW - w.PadLeft);
                        int t0 = ohStart * width, t1 = ohEnd * width;
                        int s0 = Math.Max(t0 + shift, 0), s1 = Math.Min(t1 + shift, plane.Length);
                        if (s1 > s0) plane[s0..s1].CopyTo(dst[(s0 - shift)..]);
                        for (int oh = ohStart; oh < ohEnd; oh++)
                        {
                            var d = dst.Slice(oh * width, width);
                            for (int q = 0; q < owStart; q++) d[q] = 0;
                            for (int q = Math.Max(owEnd, owStart); q < width; q++) d[q] = 0;
                        }
                        continue;
                    }
                    for (int oh = ohStart; oh < ohEnd; oh++)
                    {
                        var d = dst.Slice(oh * w.OutW, w.OutW);
                        if (owStart > 0) d[..owStart].Clear();
                        if (owEnd < w.OutW) d[owEnd..].Clear();
                        if (owEnd <= owStart) continue;
                        int ih = oh * w.StrideH - w.PadTop + tapH;
                        int iw0 = owStart * w.StrideW - w.PadLeft + tapW;
                        var src = plane.Slice(ih * width);
                        if (w.StrideW == 1) src.Slice(iw0, owEnd - owStart).CopyTo(d[owStart..owEnd]);
                        else if (w.StrideW == 2 && owEnd - owStart >= MinVectorRow) Interleave.GatherEven(src[iw0..], d[owStart..owEnd]);
                        else for (int ow = owStart, iw = iw0; ow < owEnd; ow++, iw += w.StrideW) d[ow] = src[iw];
                    }
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Forward"/>: x[c, ih, iw] += Σ col entries that read it. Accumulates into x.</summary>
    public static void Backward(ReadOnlySpan<float> col, int channels, int height, int width, in Window2d w, Span<float> x) =>
        Backward(col, channels, height, width, w, x, w.OutH * w.OutW);

    /// <summary>The adjoint of the strided <see cref="Forward(ReadOnlySpan{float}, int, int, int, in Window2d, Span{float}, int)"/>.</summary>
    public static void Backward(ReadOnlySpan<float> col, int channels, int height, int width, in Window2d w, Span<float> x, int ldcol) =>
        Backward(col, default, channels, height, width, w, x, ldcol);

    /// <summary>As <see cref="Backward(ReadOnlySpan{float}, int, int, int, in Window2d, Span{float}, int)"/>, but may
    /// overwrite <paramref name="scratchCol"/> (the same matrix): same-width stride-1 taps then zero their padding
    /// columns in place and add each tap as one contiguous block.</summary>
    public static void BackwardOverwriting(Span<float> scratchCol, int channels, int height, int width, in Window2d w, Span<float> x, int ldcol) =>
        Backward(scratchCol, scratchCol, channels, height, width, w, x, ldcol);

    private static void Backward(ReadOnlySpan<float> col, Span<float> scratch, int channels, int height, int width, in Window2d w, Span<float> x, int ldcol)
    {
        bool flat = !scratch.IsEmpty && w.StrideH == 1 && w.StrideW == 1 && w.OutW == width;
        int outHw = w.OutH * w.OutW;
        int rows = channels * w.KernelH * w.KernelW;
        if (ldcol < outHw || x.Length < channels * height * width || col.Length < (rows - 1) * ldcol + outHw)
            throw new ArgumentException($"col2im: buffers too small for {channels}x{height}x{width} <- {rows}x{outHw}.");
        int row = 0;
        for (int c = 0; c < channels; c++)
        {
            var plane = x.Slice(c * height * width, height * width);
            for (int i = 0; i < w.KernelH; i++)
            {
                int tapH = i * w.DilationH;
                var (ohStart, ohEnd) = Window2d.ValidRange(height, w.OutH, w.StrideH, w.PadTop, tapH);
                for (int j = 0; j < w.KernelW; j++, row++)
                {
                    var srcRow = col.Slice(row * ldcol, outHw);
                    int tapW = j * w.DilationW;
                    var (owStart, owEnd) = Window2d.ValidRange(width, w.OutW, w.StrideW, w.PadLeft, tapW);
                    if (owEnd <= owStart) continue;
                    if (flat && ohEnd > ohStart)
                    {
                        var rowScratch = scratch.Slice(row * ldcol, outHw);
                        for (int oh = ohStart; oh < ohEnd; oh++)
                        {
                            var d = rowScratch.Slice(oh * width, width);
                            for (int q = 0; q < owStart; q++) d[q] = 0;
                            for (int q = owEnd; q < width; q++) d[q] = 0;
                        }
                        int shift = (tapH - w.PadTop) * width + (tapW - w.PadLeft);
                        int s0 = Math.Max(ohStart * width + shift, 0), s1 = Math.Min(ohEnd * width + shift, plane.Length);
                        if (s1 > s0)
                        {
                            var dd = plane[s0..s1];
                            TensorPrimitives.Add(dd, srcRow.Slice(s0 - shift, s1 - s0), dd);
                        }
                        continue;
                    }
                    for (int oh = ohStart; oh < ohEnd; oh++)
                    {
                        int ih = oh * w.StrideH - w.PadTop + tapH;
                        int iw0 = owStart * w.StrideW - w.PadLeft + tapW;
                        var s = srcRow.Slice(oh * w.OutW + owStart, owEnd - owStart);
                        var d = plane.Slice(ih * width);
                        if (w.StrideW == 1)
                        {
                            var dd = d.Slice(iw0, s.Length);
                            TensorPrimitives.Add(dd, s, dd);
                        }
                        else if (w.StrideW == 2 && s.Length >= MinVectorRow) Interleave.AddEven(s, d[iw0..]);
                        else for (int k = 0, iw = iw0; k < s.Length; k++, iw += w.StrideW) d[iw] += s[k];
                    }
                }
            }
        }
    }
}

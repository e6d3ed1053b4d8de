using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Shrink.Kernels;

/// <summary>
/// The flat-plane depthwise kernel behind <see cref="DepthwiseConv"/>. Each input plane is copied once into a
/// zero-padded buffer split into StrideH×StrideW phases (phase (p, q) holds padded rows p, p + sh, … and columns
/// q, q + sw, …), all with the same row pitch Wq ≥ OutW. Output position (oh, ow) then reads tap (i, j) at flat offset
/// oh·Wq + ow + const(i, j) of one phase, so the whole plane is one contiguous correlation: for each vector of
/// outputs, Σ over taps of w·load(base + tap offset), in tap order (the Wq − OutW extra columns per row are computed
/// and dropped). Short rows (7×7, 4×4 maps) no longer cost a vector call per tap and row. The data gradient of a
/// stride-1 conv is the same correlation over the padded output gradient with the flipped taps; the weight gradient
/// is one dot product per tap between the padded-pitch output gradient (zeros in the extra columns) and the phase
/// buffer. Results do not depend on threads (one plane at a time, fixed order).
/// </summary>
internal static unsafe class FlatPlane
{
    /// <summary>Extra floats after every scratch buffer, so vector loops may run past the last output.</summary>
    private const int Slack = 16;

    private const long MaxScratch = 1 << 22;

    private readonly record struct Layout(int Sh, int Sw, int Hq, int Wq, int L)
    {
        public int PlaneQ => Hq * Wq;
        public int Total => Sh * Sw * Hq * Wq + Slack;
    }

    private static Layout Of(in Window2d g)
    {
        int sh = g.StrideH, sw = g.StrideW;
        int maxA = (g.KernelH - 1) * g.DilationH, maxB = (g.KernelW - 1) * g.DilationW;
        int hq = g.OutH + maxA / sh, wq = g.OutW + maxB / sw;
        return new Layout(sh, sw, hq, wq, (g.OutH - 1) * wq + g.OutW);
    }

    /// <summary>Whether the geometry suits the kernel (positive sizes, scratch of a sane size).</summary>
    public static bool Usable(in Window2d g)
    {
        if (g.OutH <= 0 || g.OutW <= 0 || g.StrideH < 1 || g.StrideW < 1 || g.KernelH < 1 || g.KernelW < 1) return false;
        long hq = g.OutH + (long)(g.KernelH - 1) * g.DilationH / g.StrideH, wq = g.OutW + (long)(g.KernelW - 1) * g.DilationW / g.StrideW;
        return (long)g.StrideH * g.StrideW * hq * wq <= MaxScratch && g.PadTop >= 0 && g.PadLeft >= 0;
    }

    /// <summary>Copies plane x[H, W] into the zeroed phase buffer of layout <paramref name="l"/>.</summary>
    private static void Split(float* x, int height, int width, in Window2d g, in Layout l, float* ph)
    {
        new Span<float>(ph, l.Total).Clear();
        for (int ih = 0; ih < height; ih++)
        {
            int rr = ih + g.PadTop, p = rr % l.Sh, r = rr / l.Sh;
            if (r >= l.Hq) continue;
            float* row = x + (nint)ih * width;
            if (l.Sw == 1)
            {
                int n = Math.Min(width, l.Wq - g.PadLeft);
                if (n > 0) new ReadOnlySpan<float>(row, n).CopyTo(new Span<float>(ph + ((nint)p * l.Hq + r) * l.Wq + g.PadLeft, n));
                continue;
            }
            for (int q = 0; q < l.Sw; q++)
            {
                int iw = ((q - g.PadLeft) % l.Sw + l.Sw) % l.Sw, k = (iw + g.PadLeft) / l.Sw;
                float* dst = ph + (((nint)p * l.Sw + q) * l.Hq + r) * l.Wq;
                if (l.Sw == 2)
                {
                    int count = Math.Min((width - iw + 1) / 2, l.Wq - k); // every other element, vectorised
                    if (count > 0) Interleave.GatherEven(new ReadOnlySpan<float>(row + iw, 2 * count - 1), new Span<float>(dst + k, count));
                    continue;
                }
                for (; iw < width && k < l.Wq; iw += l.Sw, k++) dst[k] = row[iw];
            }
        }
    }

    /// <summary>Flat offset of tap (i, j) in the phase buffer.</summary>
    private static int TapOffset(int i, int j, in Window2d g, in Layout l)
    {
        int a = i * g.DilationH, b = j * g.DilationW;
        return ((a % l.Sh) * l.Sw + b % l.Sw) * l.PlaneQ + (a / l.Sh) * l.Wq + b / l.Sw;
    }

    /// <summary>dst[t] = init + Σ_k w[k]·src[off[k] + t] for t &lt; n (taps in order; may write up to n rounded up to 16,
    /// reading up to that far past each offset).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Correlate(float* src, int* off, float* w, int taps, float init, float* dst, int n)
    {
        int t = 0;
        if (!SpatialVector.ForceScalar)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                for (; t < n; t += 16)
                {
                    var acc = Vector512.Create(init);
                    float* s = src + t;
                    for (int k = 0; k < taps; k++) acc += Vector512.Create(w[k]) * Vector512.Load(s + off[k]);
                    Vector512.Store(acc, dst + t);
                }
                return;
            }
            if (Vector256.IsHardwareAccelerated)
            {
                // Four vectors of outputs per pass: four independent add chains instead of one (the chain's add latency,
                // not the loads, bounded the one-vector loop). Per output the same products and sums in tap order.
                if (Blocked256)
                    for (; t + 32 <= n; t += 32)
                    {
                        Vector256<float> a0 = Vector256.Create(init), a1 = a0, a2 = a0, a3 = a0;
                        float* s = src + t;
                        for (int k = 0; k < taps; k++)
                        {
                            var wk = Vector256.Create(w[k]);
                            float* sk = s + off[k];
                            a0 += wk * Vector256.Load(sk);
                            a1 += wk * Vector256.Load(sk + 8);
                            a2 += wk * Vector256.Load(sk + 16);
                            a3 += wk * Vector256.Load(sk + 24);
                        }
                        Vector256.Store(a0, dst + t);
                        Vector256.Store(a1, dst + t + 8);
                        Vector256.Store(a2, dst + t + 16);
                        Vector256.Store(a3, dst + t + 24);
                    }
                for (; t < n; t += 8)
                {
                    var acc = Vector256.Create(init);
                    float* s = src + t;
                    for (int k = 0; k < taps; k++) acc += Vector256.Create(w[k]) * Vector256.Load(s + off[k]);
                    Vector256.Store(acc, dst + t);
                }
                return;
            }
        }
        for (; t < n; t++)
        {
            float acc = init;
            for (int k = 0; k < taps; k++) acc += w[k] * src[off[k] + t];
            dst[t] = acc;
        }
    }

    /// <summary>For in-process A/B timing: false restores the one-vector Vector256 correlation and the per-tap Vector256
    /// dot products of the weight gradient (SHRINK_NO_DW256=1).</summary>
    internal static bool Blocked256 = Environment.GetEnvironmentVariable("SHRINK_NO_DW256") != "1";

    /// <summary>w[k] += Σ_{t &lt; n} d[t]·s[off[k] + t] for 9 taps in one pass (d read once; lanes summed at the end;
    /// d must be zero from n up to n rounded up to the lane count, and s readable that far past each offset).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot9<T>(float* d, float* s, int* off, int n, float* w) where T : struct, ILanes<T>
    {
        T a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default;
        float* s0 = s + off[0], s1 = s + off[1], s2 = s + off[2], s3 = s + off[3], s4 = s + off[4], s5 = s + off[5], s6 = s + off[6], s7 = s + off[7], s8 = s + off[8];
        for (int t = 0; t < n; t += T.Count)
        {
            var v = T.Load(d + t);
            a0 += v * T.Load(s0 + t); a1 += v * T.Load(s1 + t); a2 += v * T.Load(s2 + t);
            a3 += v * T.Load(s3 + t); a4 += v * T.Load(s4 + t); a5 += v * T.Load(s5 + t);
            a6 += v * T.Load(s6 + t); a7 += v * T.Load(s7 + t); a8 += v * T.Load(s8 + t);
        }
        w[0] += a0.Sum(); w[1] += a1.Sum(); w[2] += a2.Sum();
        w[3] += a3.Sum(); w[4] += a4.Sum(); w[5] += a5.Sum();
        w[6] += a6.Sum(); w[7] += a7.Sum(); w[8] += a8.Sum();
    }

    public static void Forward(ReadOnlySpan<float> x, int channels, int height, int width, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, int multiplier, in Window2d g, Span<float> y)
    {
        int outC = channels * multiplier, outHw = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        DepthwiseConv.Check(x, channels, height, width, w, outC, taps, y.Length, outHw);
        var l = Of(g);
        float[] ph = ArrayPool<float>.Shared.Rent(l.Total), tmp = ArrayPool<float>.Shared.Rent(l.L + Slack);
        int* off = stackalloc int[taps];
        for (int i = 0, k = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++, k++) off[k] = TapOffset(i, j, g, l);
        try
        {
            fixed (float* px = x, pw = w, py = y, pph = ph, ptmp = tmp)
                for (int o = 0; o < outC; o++)
                {
                    if (o % multiplier == 0) Split(px + (nint)(o / multiplier) * height * width, height, width, g, l, pph);
                    Correlate(pph, off, pw + (nint)o * taps, taps, bias.IsEmpty ? 0f : bias[o], ptmp, l.L);
                    float* yo = py + (nint)o * outHw;
                    for (int oh = 0; oh < g.OutH; oh++)
                        new ReadOnlySpan<float>(ptmp + (nint)oh * l.Wq, g.OutW).CopyTo(new Span<float>(yo + (nint)oh * g.OutW, g.OutW));
                }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(ph);
            ArrayPool<float>.Shared.Return(tmp);
        }
    }

    /// <summary>Data gradient: dx[ih, iw] += Σ w[i, j]·dy[oh, ow] over the taps with ih = oh·sh − pt + i·dh and
    /// iw = ow·sw − pl + j·dw, as one flat correlation over dy placed in a zero buffer of pitch W + (kw − 1)·dw — for
    /// stride s &gt; 1 at every s-th row and column (zeros between), so the correlation also multiplies those zeros: s²
    /// times the useful work, but contiguous vector work instead of short rows.</summary>
    public static void BackwardData(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, int channels, int height, int width,
        int multiplier, in Window2d g, Span<float> dx)
    {
        int outC = channels * multiplier, outHw = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        DepthwiseConv.Check(dx, channels, height, width, w, outC, taps, dy.Length, outHw);
        int maxA = (g.KernelH - 1) * g.DilationH, maxB = (g.KernelW - 1) * g.DilationW;
        int hq = height + maxA, wq = width + maxB, shiftT = maxA - g.PadTop, shiftL = maxB - g.PadLeft;
        int total = hq * wq + Slack, n = (height - 1) * wq + width;
        int sh = g.StrideH, sw = g.StrideW;
        int c0 = Math.Max(0, (-shiftL + sw - 1) / sw), c1 = Math.Min(g.OutW, (wq - shiftL + sw - 1) / sw); // dy columns inside the buffer
        float[] buf = ArrayPool<float>.Shared.Rent(total), tmp = ArrayPool<float>.Shared.Rent(n + Slack);
        int* off = stackalloc int[taps];
        for (int i = 0, k = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++, k++) off[k] = (maxA - i * g.DilationH) * wq + (maxB - j * g.DilationW);
        try
        {
            fixed (float* pdy = dy, pw = w, pdx = dx, pb = buf, ptmp = tmp)
            {
                new Span<float>(pb, total).Clear();
                for (int o = 0; o < outC; o++)
                {
                    float* go = pdy + (nint)o * outHw;
                    for (int oh = 0; oh < g.OutH; oh++)
                    {
                        int r = oh * sh + shiftT;
                        if (r < 0 || r >= hq || c1 <= c0) continue;
                        if (sw == 1)
                            new ReadOnlySpan<float>(go + (nint)oh * g.OutW + c0, c1 - c0).CopyTo(new Span<float>(pb + (nint)r * wq + shiftL + c0, c1 - c0));
                        else
                        {
                            float* src = go + (nint)oh * g.OutW, dst = pb + (nint)r * wq + shiftL;
                            for (int ow = c0; ow < c1; ow++) dst[ow * sw] = src[ow];
                        }
                    }
                    Correlate(pb, off, pw + (nint)o * taps, taps, 0f, ptmp, n);
                    float* xo = pdx + (nint)(o / multiplier) * height * width;
                    for (int ih = 0; ih < height; ih++)
                    {
                        var row = new Span<float>(xo + (nint)ih * width, width);
                        TensorPrimitives.Add(row, new ReadOnlySpan<float>(ptmp + (nint)ih * wq, width), row);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buf);
            ArrayPool<float>.Shared.Return(tmp);
        }
    }

    /// <summary>dw[o, i, j] += Σ_t dyq[t]·phases[off(i, j) + t], dyq = dy at the phase pitch with zeros in the extra columns.</summary>
    public static void BackwardWeight(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int channels, int height, int width,
        int multiplier, in Window2d g, Span<float> dw)
    {
        int outC = channels * multiplier, outHw = g.OutH * g.OutW, taps = g.KernelH * g.KernelW;
        DepthwiseConv.Check(x, channels, height, width, dw, outC, taps, dy.Length, outHw);
        var l = Of(g);
        float[] ph = ArrayPool<float>.Shared.Rent(l.Total), dq = ArrayPool<float>.Shared.Rent(l.L + Slack);
        int* off = stackalloc int[taps];
        for (int i = 0, k = 0; i < g.KernelH; i++)
            for (int j = 0; j < g.KernelW; j++, k++) off[k] = TapOffset(i, j, g, l);
        try
        {
            fixed (float* px = x, pdy = dy, pdw = dw, pph = ph, pdq = dq)
            {
                new Span<float>(pdq, l.L + Slack).Clear();
                for (int o = 0; o < outC; o++)
                {
                    if (o % multiplier == 0) Split(px + (nint)(o / multiplier) * height * width, height, width, g, l, pph);
                    float* go = pdy + (nint)o * outHw;
                    for (int oh = 0; oh < g.OutH; oh++)
                        new ReadOnlySpan<float>(go + (nint)oh * g.OutW, g.OutW).CopyTo(new Span<float>(pdq + (nint)oh * l.Wq, g.OutW));
                    var dqs = new ReadOnlySpan<float>(pdq, l.L);
                    float* wo = pdw + (nint)o * taps;
                    if (taps == 9 && Vector512.IsHardwareAccelerated && !SpatialVector.ForceScalar) Dot9<Lanes512>(pdq, pph, off, l.L, wo);
                    else if (taps == 9 && Vector256.IsHardwareAccelerated && !SpatialVector.ForceScalar && Blocked256) Dot9<Lanes256>(pdq, pph, off, l.L, wo);
                    else for (int k = 0; k < taps; k++) wo[k] += SpatialVector.Dot(dqs, new ReadOnlySpan<float>(pph + off[k], l.L));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(ph);
            ArrayPool<float>.Shared.Return(dq);
        }
    }
}

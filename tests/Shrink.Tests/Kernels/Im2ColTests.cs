using Shrink.Kernels;
using Shrink.Tests.Ops;

namespace Shrink.Tests.Kernels;

public class Im2ColTests
{
    /// <summary>The definition of im2col: calls <paramref name="tap"/>(column index, x index) for every element
    /// col[(c,i,j), (oh,ow)] in order; the x index is that of x[c, oh·sh − pt + i·dh, ow·sw − pl + j·dw], or −1 in the padding.</summary>
    private static void ForEachTap(int c, int h, int w, Window2d g, Action<int, int> tap)
    {
        int idx = 0;
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < g.KernelH; i++)
                for (int j = 0; j < g.KernelW; j++)
                    for (int oh = 0; oh < g.OutH; oh++)
                        for (int ow = 0; ow < g.OutW; ow++, idx++)
                        {
                            int ih = oh * g.StrideH - g.PadTop + i * g.DilationH, iw = ow * g.StrideW - g.PadLeft + j * g.DilationW;
                            tap(idx, ih < 0 || ih >= h || iw < 0 || iw >= w ? -1 : (ch * h + ih) * w + iw);
                        }
    }

    /// <summary>Straight from the definition: col[(c,i,j), (oh,ow)] = x[c, oh·sh − pt + i·dh, ow·sw − pl + j·dw] or 0.</summary>
    private static float[] Naive(float[] x, int c, int h, int w, Window2d g)
    {
        var col = new float[c * g.KernelH * g.KernelW * g.OutH * g.OutW];
        ForEachTap(c, h, w, g, (idx, src) => col[idx] = src < 0 ? 0 : x[src]);
        return col;
    }

    public static IEnumerable<object[]> Cases()
    {
        foreach (int c in new[] { 1, 3, 5, 17 })
            foreach (int hw in new[] { 1, 7, 13 })
                foreach (var (k, s, p, d) in new[] { (1, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (3, 2, 2, 2), (2, 3, 0, 1), (5, 1, 3, 1) })
                    yield return [c, hw, hw + (c % 3), k, s, p, d];
    }

    private static Window2d Geometry(int h, int w, int k, int s, int p, int d, out bool fits)
    {
        int oh = (h + 2 * p - d * (k - 1) - 1) / s + 1, ow = (w + p - d * (k - 1) - 1) / s + 1;
        fits = h + 2 * p - d * (k - 1) - 1 >= 0 && w + p - d * (k - 1) - 1 >= 0;
        // Asymmetric on purpose: pad left p, right 0.
        return new Window2d(k, k, s, s, p, p, d, d, oh, ow);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Im2col_matches_definition_and_col2im_is_its_adjoint(int c, int h, int w, int k, int s, int p, int d)
    {
        var g = Geometry(h, w, k, s, p, d, out bool fits);
        if (!fits) return;
        var x = GradientCheck.Random(new(c, h, w), c * 100 + h).ToArray();
        var col = new float[c * k * k * g.OutH * g.OutW];
        col.AsSpan().Fill(float.NaN); // every entry must be overwritten
        Im2Col.Forward(x, c, h, w, g, col);
        Assert.Equal(Naive(x, c, h, w, g), col);

        // <col2im(r), x> == <r, im2col(x)> for a random r, and col2im accumulates.
        var r = GradientCheck.Random(new(col.Length), 7).ToArray();
        var back = new float[x.Length];
        back.AsSpan().Fill(1f);
        Im2Col.Backward(r, c, h, w, g, back);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < x.Length; i++) lhs += (back[i] - 1.0) * x[i];
        for (int i = 0; i < col.Length; i++) rhs += (double)r[i] * col[i];
        Assert.True(Math.Abs(lhs - rhs) <= 1e-4 * (1 + Math.Abs(rhs)), $"adjoint: {lhs} vs {rhs}");
    }

    /// <summary>Straight from the definition, in the kernel's tap order: x[c, ih, iw] += col[(c,i,j), (oh,ow)].</summary>
    private static float[] NaiveBackward(float[] col, float[] x, int c, int h, int w, Window2d g)
    {
        var result = (float[])x.Clone();
        ForEachTap(c, h, w, g, (idx, src) => { if (src >= 0) result[src] += col[idx]; });
        return result;
    }

    /// <summary>Stride 2 in W takes the vectorised even/odd path: rows wide enough for every vector width, odd widths,
    /// padding on one side, and the last row of the plane (whose vector reads must stop before the plane's end).</summary>
    [Theory]
    [InlineData(28, 3, 1)]
    [InlineData(29, 3, 1)]
    [InlineData(14, 3, 1)]
    [InlineData(7, 3, 1)]
    [InlineData(40, 3, 0)]
    [InlineData(67, 3, 2)]
    [InlineData(67, 1, 0)]
    [InlineData(35, 2, 1)]
    public void Stride_two_matches_definition_exactly(int width, int k, int p)
    {
        int c = 3, h = 9;
        var g = Geometry(h, width, k, 2, p, 1, out bool fits);
        Assert.True(fits);
        var x = GradientCheck.Random(new(c, h, width), width).ToArray();
        var col = new float[c * k * k * g.OutH * g.OutW];
        col.AsSpan().Fill(float.NaN);
        Im2Col.Forward(x, c, h, width, g, col);
        Assert.Equal(Naive(x, c, h, width, g), col);
        var r = GradientCheck.Random(new(col.Length), 5).ToArray();
        var back = GradientCheck.Random(new(x.Length), 6).ToArray();
        var expected = NaiveBackward(r, back, c, h, width, g);
        Im2Col.Backward(r, c, h, width, g, back);
        Assert.Equal(expected, back);
    }

    [Theory]
    [InlineData(5, 3, 2, 1, 2, 0)]
    [InlineData(5, 3, 1, 0, 0)]
    [InlineData(5, 3, 2, 3, 0, 2)]
    [InlineData(1, 3, 1, 1, 1, 1)]
    public void Valid_range_is_exact(int size, int outSize, int stride, int pad, int tap, int unused = 0)
    {
        _ = unused;
        var (start, end) = Window2d.ValidRange(size, outSize, stride, pad, tap);
        for (int o = 0; o < outSize; o++)
        {
            int i = o * stride - pad + tap;
            Assert.Equal(i >= 0 && i < size, o >= start && o < end);
        }
    }
}

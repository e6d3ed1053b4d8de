using Shrink.Kernels;
using Shrink.Tensors;
using Shrink.Tests.Ops;

namespace Shrink.Tests.Kernels;

public class DepthwiseConvTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (int c in new[] { 1, 3, 5, 17 })
            foreach (int hw in new[] { 1, 7, 13 })
                foreach (var (kh, kw, s, p, d, m) in new[] { (3, 3, 1, 1, 1, 1), (3, 3, 2, 1, 1, 1), (3, 1, 1, 1, 1, 1), (1, 3, 1, 1, 1, 2), (5, 5, 1, 2, 2, 1), (3, 3, 2, 0, 1, 2) })
                    foreach (int n in new[] { 1, 3 })
                        if (n == 1 || c == 5) yield return [n, c, hw, kh, kw, s, p, d, m];
        // MobileNet-sized planes for the flat-plane kernel: 28×30, 14×16, 4×6 maps, stride 1 and 2, pads 0–2.
        foreach (int hw in new[] { 4, 14, 28 })
            foreach (var (kh, kw, s, p, d, m) in new[] { (3, 3, 1, 1, 1, 1), (3, 3, 2, 1, 1, 1), (3, 3, 1, 0, 1, 1), (3, 3, 1, 2, 1, 3), (5, 5, 2, 2, 1, 1), (1, 7, 1, 3, 1, 1), (3, 3, 3, 1, 2, 1) })
                yield return [2, 6, hw, kh, kw, s, p, d, m];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_and_backward_match_the_naive_conv(int n, int c, int hw, int kh, int kw, int s, int p, int d, int m)
    {
        int h = hw, w = hw + 2;
        int padH = kh > 1 ? p : 0, padW = kw > 1 ? p : 0;
        int oh = (h + 2 * padH - d * (kh - 1) - 1) / s + 1, ow = (w + 2 * padW - d * (kw - 1) - 1) / s + 1;
        if (h + 2 * padH - d * (kh - 1) - 1 < 0 || w + 2 * padW - d * (kw - 1) - 1 < 0) return;
        var g = new Window2d(kh, kw, s, s, padH, padW, d, d, oh, ow);
        var x = GradientCheck.Random(new Shape(n, c, h, w), c + hw);
        var wt = GradientCheck.Random(new Shape(c * m, 1, kh, kw), 2);
        var b = GradientCheck.Random(new Shape(c * m), 3);
        var reference = SpatialReference.Conv(x, wt, b, [s, s], [padH, padW, padH, padW], [d, d], c, oh, ow);

        var y = new Tensor(reference.Shape);
        y.Fill(float.NaN);
        int inImage = c * h * w, outImage = c * m * oh * ow;
        for (int i = 0; i < n; i++)
            DepthwiseConv.Forward(x.Span.Slice(i * inImage, inImage), c, h, w, wt.Span, b.Span, m, g, y.Span.Slice(i * outImage, outImage));
        SpatialReference.AssertClose(reference, y, 1e-4, 1e-5, "forward");

        // Backward against the adjoint identities: <dx, r> = <dy, conv(r)> and <dw, v> = <dy, conv_v(x)> (no bias).
        var dy = GradientCheck.Random(y.Shape, 4);
        var dx = new Tensor(x.Shape);
        var dw = new Tensor(wt.Shape);
        for (int i = 0; i < n; i++)
        {
            DepthwiseConv.BackwardData(dy.Span.Slice(i * outImage, outImage), wt.Span, c, h, w, m, g, dx.Span.Slice(i * inImage, inImage));
            DepthwiseConv.BackwardWeight(x.Span.Slice(i * inImage, inImage), dy.Span.Slice(i * outImage, outImage), c, h, w, m, g, dw.Span);
        }
        var r = GradientCheck.Random(x.Shape, 5);
        var convR = SpatialReference.Conv(r, wt, null, [s, s], [padH, padW, padH, padW], [d, d], c, oh, ow);
        AssertDot(dx, r, dy, convR, "data");
        var v = GradientCheck.Random(wt.Shape, 6);
        var convV = SpatialReference.Conv(x, v, null, [s, s], [padH, padW, padH, padW], [d, d], c, oh, ow);
        AssertDot(dw, v, dy, convV, "weight");
    }

    /// <summary>Strided data gradients go through the flat kernel (dy spread at every s-th row and column of a zero
    /// buffer): element by element equal, within rounding, to the row kernel, which scatters tap by tap.</summary>
    [Theory]
    [InlineData(28, 3, 2, 1, 1, 1)]
    [InlineData(13, 3, 2, 0, 1, 2)]
    [InlineData(14, 3, 3, 2, 1, 1)]
    [InlineData(4, 3, 2, 1, 1, 1)]
    [InlineData(9, 5, 2, 2, 2, 1)]
    [InlineData(7, 3, 3, 1, 2, 3)]
    public void Strided_data_gradient_matches_the_row_kernel(int hw, int k, int s, int p, int d, int m)
    {
        int c = 5, h = hw, w = hw + 2;
        int oh = (h + 2 * p - d * (k - 1) - 1) / s + 1, ow = (w + 2 * p - d * (k - 1) - 1) / s + 1;
        var g = new Window2d(k, k, s, s, p, p, d, d, oh, ow);
        var wt = GradientCheck.Random(new Shape(c * m, 1, k, k), 7);
        var dy = GradientCheck.Random(new Shape(c * m, oh, ow), 8);
        var flat = GradientCheck.Random(new Shape(c, h, w), 9); // both accumulate onto the same values
        var rows = new Tensor(flat.Shape);
        flat.Span.CopyTo(rows.Span);
        DepthwiseConv.BackwardData(dy.Span, wt.Span, c, h, w, m, g, flat.Span);
        DepthwiseConv.BackwardDataRows(dy.Span, wt.Span, c, h, w, m, g, rows.Span);
        SpatialReference.AssertClose(rows, flat, 1e-5, 1e-6, "strided data gradient");
    }

    /// <summary>The four-vector Vector256 correlation computes every output with the same products and sums in tap order
    /// as the one-vector loop: forward and data gradient bitwise equal (and the nine-tap weight-gradient pass close to
    /// the per-tap dot products). Plane sizes around the 32-float block: 4×6, 7×9, 13×15, 28×30 maps.</summary>
    [Theory]
    [InlineData(4, 1)]
    [InlineData(7, 1)]
    [InlineData(13, 2)]
    [InlineData(28, 1)]
    [InlineData(28, 2)]
    public void Blocked_vector256_correlation_is_bitwise_the_one_vector_loop(int hw, int s)
    {
        int c = 3, h = hw, w = hw + 2, o = (h + 2 - 3) / s + 1, ow = (w + 2 - 3) / s + 1;
        var g = new Window2d(3, 3, s, s, 1, 1, 1, 1, o, ow);
        var x = GradientCheck.Random(new Shape(c, h, w), 11).ToArray();
        var wt = GradientCheck.Random(new Shape(c, 1, 3, 3), 12).ToArray();
        var b = GradientCheck.Random(new Shape(c), 13).ToArray();
        var dy = GradientCheck.Random(new Shape(c, o, ow), 14).ToArray();
        (float[] Y, float[] Dx, float[] Dw) Run(bool blocked)
        {
            bool saved = FlatPlane.Blocked256;
            FlatPlane.Blocked256 = blocked;
            try
            {
                var y = new float[c * o * ow];
                var dx = new float[x.Length];
                var dw = new float[wt.Length];
                DepthwiseConv.Forward(x, c, h, w, wt, b, 1, g, y);
                DepthwiseConv.BackwardData(dy, wt, c, h, w, 1, g, dx);
                DepthwiseConv.BackwardWeight(x, dy, c, h, w, 1, g, dw);
                return (y, dx, dw);
            }
            finally { FlatPlane.Blocked256 = saved; }
        }
        var (y0, dx0, dw0) = Run(false);
        var (y1, dx1, dw1) = Run(true);
        Assert.Equal(y0.Select(BitConverter.SingleToInt32Bits), y1.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(dx0.Select(BitConverter.SingleToInt32Bits), dx1.Select(BitConverter.SingleToInt32Bits));
        for (int i = 0; i < dw0.Length; i++) Assert.Equal(dw0[i], dw1[i], 1e-4f * (1 + Math.Abs(dw0[i])));
    }

    private static void AssertDot(Tensor a, Tensor b, Tensor c, Tensor d, string what)
    {
        double lhs = 0, rhs = 0;
        for (int i = 0; i < a.Length; i++) lhs += (double)a[i] * b[i];
        for (int i = 0; i < c.Length; i++) rhs += (double)c[i] * d[i];
        Assert.True(Math.Abs(lhs - rhs) <= 1e-4 * (1 + Math.Abs(rhs)), $"{what}: {lhs} vs {rhs}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(37)]
    [InlineData(257)]
    public void Vector_helpers_match_scalar(int length)
    {
        var x = GradientCheck.Random(new Shape(length), 1).ToArray();
        var y = GradientCheck.Random(new Shape(length), 2).ToArray();
        double dot = 0, sq = 0;
        for (int i = 0; i < length; i++)
        {
            dot += (double)x[i] * y[i];
            sq += (x[i] - 0.3) * (x[i] - 0.3);
        }
        Assert.Equal(dot, SpatialVector.Dot(x, y), 4);
        Assert.Equal(sq, SpatialVector.SumSquaredDeviation(x, 0.3f), 4);
        var z = (float[])y.Clone();
        SpatialVector.Axpy(0.5f, x, z);
        for (int i = 0; i < length; i++) Assert.Equal(y[i] + 0.5f * x[i], z[i], 6);
        SpatialVector.Affine(x, 2f, -1f, z);
        for (int i = 0; i < length; i++) Assert.Equal(2f * x[i] - 1f, z[i], 6);
    }
}

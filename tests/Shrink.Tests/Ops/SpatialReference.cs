using Shrink.Tensors;

namespace Shrink.Tests.Ops;

/// <summary>Naive scalar references (double accumulation) for the spatial ops, written straight from the definitions.</summary>
public static class SpatialReference
{
    /// <summary>The 7-loop convolution: y[n,o,oh,ow] = b[o] + Σ_c,i,j w[o,c,i,j]·x[n, g·cg + c, oh·s − p + i·d, ow·s − p + j·d].</summary>
    public static Tensor Conv(Tensor x, Tensor w, Tensor? b, int[] strides, int[] pads, int[] dil, int group, int outH, int outW)
    {
        int n = x.Shape[0], cin = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int cout = w.Shape[0], cg = w.Shape[1], kh = w.Shape[2], kw = w.Shape[3], og = cout / group;
        var y = new Tensor(new Shape(n, cout, outH, outW));
        for (int b0 = 0; b0 < n; b0++)
            for (int o = 0; o < cout; o++)
                for (int oh = 0; oh < outH; oh++)
                    for (int ow = 0; ow < outW; ow++)
                    {
                        double sum = b is null ? 0 : b[o];
                        int g = o / og;
                        for (int c = 0; c < cg; c++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++)
                                {
                                    int ih = oh * strides[0] - pads[0] + i * dil[0], iw = ow * strides[1] - pads[1] + j * dil[1];
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    sum += (double)w[o, c, i, j] * x[b0, g * cg + c, ih, iw];
                                }
                        y[b0, o, oh, ow] = (float)sum;
                    }
        _ = cin;
        return y;
    }

    /// <summary>Naive max pooling (padding never wins; first max in window order).</summary>
    public static Tensor MaxPool(Tensor x, int[] k, int[] s, int[] p, int[] d, int outH, int outW)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var y = new Tensor(new Shape(n, c, outH, outW));
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int oh = 0; oh < outH; oh++)
                    for (int ow = 0; ow < outW; ow++)
                    {
                        float m = float.NegativeInfinity;
                        for (int i = 0; i < k[0]; i++)
                            for (int j = 0; j < k[1]; j++)
                            {
                                int ih = oh * s[0] - p[0] + i * d[0], iw = ow * s[1] - p[1] + j * d[1];
                                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                                m = Math.Max(m, x[b, ch, ih, iw]);
                            }
                        y[b, ch, oh, ow] = m;
                    }
        return y;
    }

    /// <summary>Naive average pooling: the window is clipped to the padded input for the include-pad divisor, to the input otherwise.</summary>
    public static Tensor AvgPool(Tensor x, int[] k, int[] s, int[] p, bool includePad, int outH, int outW)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var y = new Tensor(new Shape(n, c, outH, outW));
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int oh = 0; oh < outH; oh++)
                    for (int ow = 0; ow < outW; ow++)
                    {
                        double sum = 0;
                        int real = 0, padded = 0;
                        for (int i = 0; i < k[0]; i++)
                            for (int j = 0; j < k[1]; j++)
                            {
                                int ih = oh * s[0] - p[0] + i, iw = ow * s[1] - p[1] + j;
                                if (ih >= h + p[2] || iw >= w + p[3]) continue;
                                padded++;
                                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                                real++;
                                sum += x[b, ch, ih, iw];
                            }
                        y[b, ch, oh, ow] = (float)(sum / (includePad ? padded : real));
                    }
        return y;
    }

    /// <summary>Asserts |a − e| ≤ atol + rtol·|e| elementwise.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double rtol = 1e-4, double atol = 1e-5, string what = "")
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: shape {actual.Shape}, expected {expected.Shape}");
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual[i]);
            if (!(diff <= atol + rtol * Math.Abs(expected[i])))
                Assert.Fail($"{what}: element {i} is {actual[i]:G8}, expected {expected[i]:G8}");
        }
    }
}

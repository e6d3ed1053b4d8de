using Shrink.Kernels;
using Conv = Shrink.Ops.Conv;
using Shrink.Tensors;
using Shrink.Tests.Ops;

namespace Shrink.Tests.Kernels;

/// <summary>
/// Winograd F(4×4, 3×3) against a direct convolution in double precision, forward (bias, clamp), data and weight gradients, over
/// awkward sizes; the dispatch from <see cref="ConvGemm"/> and the Conv op's gradient check through it.
/// <para>Tolerance: Winograd's transforms scale values by up to ~10² (Bᵀ·d·B sums up to 10×10 terms with weights up to
/// 5) and G·g·Gᵀ then Aᵀ·M·A rescale them, so float32 rounding gives an absolute error proportional to the sum of the
/// absolute products Σ|w·x| of an output: the worst seen over these shapes is 1–3e-6 of it (≈ 1e-5…1e-4 of a typical
/// output), vs ~1e-7 for im2col + GEMM. Each element is checked against 1e-5·Σ|w·x| + 1e-6: a margin of 3–10× over the
/// worst error observed (1e-6·Σ|w·x| fails), and any indexing or transform mistake misses by orders of magnitude.</para>
/// </summary>
public class WinogradTests
{
    private const double RelativeToAbsSum = 1e-5;

    // n, cin, h, w, cout, pad top, pad left, pad bottom, pad right
    public static IEnumerable<object[]> Shapes => new object[][]
    {
        [3, 5, 9, 7, 6, 1, 1, 1, 1],        // odd H/W, not multiples of the 4×4 tile
        [2, 3, 1, 1, 4, 1, 1, 1, 1],        // 1×1 map: one tile, all padding
        [5, 4, 2, 2, 3, 1, 1, 1, 1],        // 2×2 map
        [2, 4, 8, 10, 3, 0, 0, 0, 0],       // pad 0: 6×8 output
        [1, 3, 5, 5, 2, 2, 2, 2, 2],        // pad 2: 7×7 output
        [17, 17, 13, 11, 19, 1, 1, 1, 1],   // 17 images (a ragged lane group), 17 / 19 channels
        [20, 33, 4, 4, 18, 1, 1, 1, 1],     // 4×4 maps: one tile per image
        [9, 16, 14, 14, 32, 1, 1, 1, 1],    // ResNet-like 14×14
        [2, 3, 6, 7, 5, 0, 1, 2, 0],        // asymmetric padding
    };

    private static ConvDims Dims(int n, int cin, int h, int w, int cout, int pt, int pl, int pb, int pr) =>
        new(n, cin, h, w, cout, 1, new Window2d(3, 3, 1, 1, pt, pl, 1, 1, h + pt + pb - 2, w + pl + pr - 2));

    /// <summary>Direct convolution in double: y (without bias) and Σ|w·x| per output.</summary>
    private static (double[] Y, double[] AbsSum) Reference(ConvDims d, float[] x, float[] w)
    {
        var g = d.Geo;
        var y = new double[d.N * d.OutImage];
        var abs = new double[y.Length];
        for (int n = 0; n < d.N; n++)
            for (int o = 0; o < d.Cout; o++)
                for (int oh = 0; oh < g.OutH; oh++)
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        double s = 0, a = 0;
                        for (int c = 0; c < d.Cin; c++)
                            for (int i = 0; i < 3; i++)
                                for (int j = 0; j < 3; j++)
                                {
                                    int ih = oh - g.PadTop + i, iw = ow - g.PadLeft + j;
                                    if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                                    double p = (double)w[((o * d.Cin + c) * 3 + i) * 3 + j] * x[((n * d.Cin + c) * d.H + ih) * d.W + iw];
                                    s += p;
                                    a += Math.Abs(p);
                                }
                        int yi = ((n * d.Cout + o) * g.OutH + oh) * g.OutW + ow;
                        y[yi] = s;
                        abs[yi] = a;
                    }
        return (y, abs);
    }

    /// <summary>The data gradient in double: dx = Σ w·dy over the taps, and Σ|w·dy|.</summary>
    private static (double[] Dx, double[] AbsSum) ReferenceData(ConvDims d, float[] dy, float[] w)
    {
        var g = d.Geo;
        var dx = new double[d.N * d.InImage];
        var abs = new double[dx.Length];
        for (int n = 0; n < d.N; n++)
            for (int o = 0; o < d.Cout; o++)
                for (int oh = 0; oh < g.OutH; oh++)
                    for (int ow = 0; ow < g.OutW; ow++)
                        for (int c = 0; c < d.Cin; c++)
                            for (int i = 0; i < 3; i++)
                                for (int j = 0; j < 3; j++)
                                {
                                    int ih = oh - g.PadTop + i, iw = ow - g.PadLeft + j;
                                    if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                                    double p = (double)w[((o * d.Cin + c) * 3 + i) * 3 + j] * dy[((n * d.Cout + o) * g.OutH + oh) * g.OutW + ow];
                                    int xi = ((n * d.Cin + c) * d.H + ih) * d.W + iw;
                                    dx[xi] += p;
                                    abs[xi] += Math.Abs(p);
                                }
        return (dx, abs);
    }

    /// <summary>The weight gradient in double: dw[o, c, i, j] = Σ dy·x over images and positions, and Σ|dy·x|.</summary>
    private static (double[] Dw, double[] AbsSum) ReferenceWeight(ConvDims d, float[] x, float[] dy)
    {
        var g = d.Geo;
        var dw = new double[d.Cout * d.Cin * 9];
        var abs = new double[dw.Length];
        for (int n = 0; n < d.N; n++)
            for (int o = 0; o < d.Cout; o++)
                for (int oh = 0; oh < g.OutH; oh++)
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        double gy = dy[((n * d.Cout + o) * g.OutH + oh) * g.OutW + ow];
                        for (int c = 0; c < d.Cin; c++)
                            for (int i = 0; i < 3; i++)
                                for (int j = 0; j < 3; j++)
                                {
                                    int ih = oh - g.PadTop + i, iw = ow - g.PadLeft + j;
                                    if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                                    double p = gy * x[((n * d.Cin + c) * d.H + ih) * d.W + iw];
                                    int wi = ((o * d.Cin + c) * 3 + i) * 3 + j;
                                    dw[wi] += p;
                                    abs[wi] += Math.Abs(p);
                                }
                    }
        return (dw, abs);
    }

    private static float[] Rand(int n, int seed) => GradientCheck.Random(new Shape(n), seed).ToArray();

    private static void AssertClose(double[] expected, double[] absSum, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = RelativeToAbsSum * absSum[i] + 1e-6;
            if (!(Math.Abs(expected[i] - actual[i]) <= tol))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (tolerance {tol:G3}).");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_matches_direct_convolution(int n, int cin, int h, int w, int cout, int pt, int pl, int pb, int pr)
    {
        var d = Dims(n, cin, h, w, cout, pt, pl, pb, pr);
        var x = Rand(d.N * d.InImage, 1);
        var wt = Rand(d.Cout * d.Cin * 9, 2);
        var b = Rand(d.Cout, 3);
        var (yRef, abs) = Reference(d, x, wt);

        var y = new float[yRef.Length];
        Winograd.Forward(d, x, wt, default, y);
        AssertClose(yRef, abs, y, "no bias");

        var yBias = Enumerable.Repeat(float.NaN, yRef.Length).ToArray(); // overwritten, never read
        Winograd.Forward(d, x, wt, b, yBias);
        var withBias = yRef.Select((v, i) => v + b[i / d.P % d.Cout]).ToArray();
        AssertClose(withBias, abs, yBias, "bias");

        var yClamp = new float[yRef.Length];
        Winograd.Forward(d, x, wt, b, yClamp, 0f, 0.5f);
        AssertClose(withBias.Select(v => Math.Min(Math.Max(v, 0), 0.5)).ToArray(), abs, yClamp, "bias + clamp");
        Assert.Contains(yClamp, v => v == 0f);

        // Weights transformed once (the inference plan's path): bitwise the per-call transform.
        var u = Winograd.TransformWeights(wt, d.Cout, d.Cin);
        var yOnce = new float[yRef.Length];
        Winograd.Forward(d, x, u, b, yOnce, 0f, 0.5f);
        Assert.Equal(yClamp, yOnce);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Data_gradient_matches_direct_convolution(int n, int cin, int h, int w, int cout, int pt, int pl, int pb, int pr)
    {
        if (pt > 2 || pl > 2) return; // the flipped conv needs padding 2 − p ≥ 0 (every shape here has it)
        var d = Dims(n, cin, h, w, cout, pt, pl, pb, pr);
        var dy = Rand(d.N * d.OutImage, 4);
        var wt = Rand(d.Cout * d.Cin * 9, 5);
        var (dxRef, abs) = ReferenceData(d, dy, wt);

        var dx = Enumerable.Repeat(1f, dxRef.Length).ToArray(); // accumulates
        Winograd.BackwardData(d, dy, wt, dx);
        AssertClose(dxRef.Select(v => v + 1).ToArray(), abs, dx, "data gradient");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Weight_gradient_matches_direct_convolution(int n, int cin, int h, int w, int cout, int pt, int pl, int pb, int pr)
    {
        var d = Dims(n, cin, h, w, cout, pt, pl, pb, pr);
        var x = Rand(d.N * d.InImage, 18);
        var dy = Rand(d.N * d.OutImage, 19);
        var (dwRef, abs) = ReferenceWeight(d, x, dy);

        var dw = Enumerable.Repeat(1f, dwRef.Length).ToArray(); // accumulates
        Winograd.BackwardWeight(d, x, dy, dw);
        AssertClose(dwRef.Select(v => v + 1).ToArray(), abs, dw, "weight gradient");
    }

    [Fact]
    public void Weight_gradient_in_blocks_of_tiles_and_slices_of_output_channels_matches()
    {
        var d = Dims(19, 20, 10, 9, 45, 1, 1, 1, 1);
        var x = Rand(d.N * d.InImage, 20);
        var dy = Rand(d.N * d.OutImage, 21);
        var (dwRef, abs) = ReferenceWeight(d, x, dy);
        var whole = new float[dwRef.Length];
        Winograd.BackwardWeight(d, x, dy, whole);
        var dw = new float[dwRef.Length];
        long savedSlice = Winograd.SliceFloats;
        int savedBlock = Winograd.WeightBlockFloats;
        Winograd.SliceFloats = 36 * 24 * 16; // ≤ 16 output channels per slice (Cin 20 pads to 24 lanes at most): 45 → 3 slices
        Winograd.WeightBlockFloats = 1;     // the smallest blocks (128 tiles): 3 image groups × 9 tiles at 8 lanes → several blocks
        try
        {
            Winograd.BackwardWeight(d, x, dy, dw);
        }
        finally { Winograd.SliceFloats = savedSlice; Winograd.WeightBlockFloats = savedBlock; }
        AssertClose(dwRef, abs, whole, "one block");
        AssertClose(dwRef, abs, dw, "blocks and slices");
    }

    [Fact]
    public void Weight_gradient_does_not_depend_on_the_thread_count()
    {
        var d = Dims(37, 16, 10, 10, 24, 1, 1, 1, 1);
        var x = Rand(d.N * d.InImage, 22);
        var dy = Rand(d.N * d.OutImage, 23);
        var dw1 = new float[d.Cout * d.Cin * 9];
        var dw4 = new float[dw1.Length];
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 1;
            Winograd.BackwardWeight(d, x, dy, dw1);
            KernelParallel.MaxThreads = 4;
            Winograd.BackwardWeight(d, x, dy, dw4);
        }
        finally { KernelParallel.MaxThreads = saved; }
        Assert.Equal(dw1, dw4);
    }

    [Theory]
    [InlineData((int)GemmLevel.Vector256)]
    [InlineData((int)GemmLevel.Vector128)]
    [InlineData((int)GemmLevel.Scalar)]
    public void Narrower_tiers_match_direct_convolution(int tier)
    {
        var level = (GemmLevel)tier;
        var d = Dims(11, 9, 7, 9, 10, 1, 1, 1, 1);
        var x = Rand(d.N * d.InImage, 6);
        var wt = Rand(d.Cout * d.Cin * 9, 7);
        var dy = Rand(d.N * d.OutImage, 24);
        var (yRef, abs) = Reference(d, x, wt);
        var (dwRef, absDw) = ReferenceWeight(d, x, dy);
        var y = new float[yRef.Length];
        var dw = new float[dwRef.Length];
        Gemm.ForceLevel = level;
        try
        {
            Winograd.Forward(d, x, wt, default, y);
            Winograd.BackwardWeight(d, x, dy, dw);
        }
        finally { Gemm.ForceLevel = GemmLevel.Auto; }
        AssertClose(yRef, abs, y, level.ToString());
        AssertClose(dwRef, absDw, dw, $"{level} weight gradient");
    }

    [Fact]
    public void Weights_too_large_for_the_workspace_run_in_slices_of_output_channels()
    {
        var d = Dims(18, 20, 6, 5, 45, 1, 1, 1, 1);
        var x = Rand(d.N * d.InImage, 14);
        var wt = Rand(d.Cout * d.Cin * 9, 15);
        var b = Rand(d.Cout, 16);
        var dy = Rand(d.N * d.OutImage, 17);
        var (yRef, abs) = Reference(d, x, wt);
        var (dxRef, absDx) = ReferenceData(d, dy, wt);
        var whole = new float[yRef.Length];
        Winograd.Forward(d, x, wt, b, whole);
        var y = new float[yRef.Length];
        var dx = new float[dxRef.Length];
        long saved = Winograd.SliceFloats;
        Winograd.SliceFloats = 36 * 20 * 16; // ≤ 16 output channels per slice: 45 → 3 slices, 20 → 2
        try
        {
            Winograd.Forward(d, x, wt, b, y);
            Winograd.BackwardData(d, dy, wt, dx);
        }
        finally { Winograd.SliceFloats = saved; }
        Assert.Equal(whole, y); // each output channel is the same computation in a slice
        AssertClose(yRef.Select((v, i) => v + b[i / d.P % d.Cout]).ToArray(), abs, y, "sliced forward");
        AssertClose(dxRef, absDx, dx, "sliced data gradient");
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var d = Dims(37, 16, 10, 10, 24, 1, 1, 1, 1);
        var x = Rand(d.N * d.InImage, 8);
        var wt = Rand(d.Cout * d.Cin * 9, 9);
        var y1 = new float[d.N * d.OutImage];
        var y2 = new float[y1.Length];
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 1;
            Winograd.Forward(d, x, wt, default, y1);
            KernelParallel.MaxThreads = 4;
            Winograd.Forward(d, x, wt, default, y2);
        }
        finally { KernelParallel.MaxThreads = saved; }
        Assert.Equal(y1, y2);
    }

    [Fact]
    public void Rejects_convolutions_it_does_not_compute()
    {
        var strided = new ConvDims(2, 4, 8, 8, 4, 1, new Window2d(3, 3, 2, 2, 1, 1, 1, 1, 4, 4));
        var ex = Assert.Throws<ArgumentException>(() => Winograd.Forward(strided, new float[512], new float[144], default, new float[128]));
        Assert.Contains("stride-1", ex.Message);
        var wide = Dims(2, 4, 8, 8, 4, 3, 3, 3, 3);
        Assert.Throws<ArgumentException>(() => Winograd.BackwardData(wide, new float[2 * 4 * 12 * 12], new float[144], new float[512]));
        Assert.False(Winograd.Supports(strided));
    }

    [Fact]
    public void With_AVX2_the_forward_and_data_gradient_take_Winograd_from_32_channels_elsewhere_from_64()
    {
        var narrow = Dims(16, 32, 14, 14, 32, 1, 1, 1, 1);
        Gemm.ForceLevel = GemmLevel.Vector256;
        try
        {
            Assert.True(Winograd.Preferred(narrow));
            Assert.True(Winograd.PreferredForData(narrow));
            Assert.False(Winograd.Preferred(Dims(16, 16, 14, 14, 32, 1, 1, 1, 1))); // 16 channels stay on im2col
            Assert.False(Winograd.PreferredForData(Dims(16, 32, 14, 14, 64, 1, 1, 1, 1))); // its data gradient is 64→32
        }
        finally { Gemm.ForceLevel = GemmLevel.Auto; }
        Gemm.ForceLevel = GemmLevel.Vector128;
        try
        {
            Assert.False(Winograd.Preferred(narrow));
            Assert.True(Winograd.Preferred(Dims(16, 64, 14, 14, 64, 1, 1, 1, 1)));
        }
        finally { Gemm.ForceLevel = GemmLevel.Auto; }
    }

    [Fact]
    public void ConvGemm_dispatches_large_3x3_convs_and_the_switch_restores_im2col()
    {
        var d = Dims(16, 64, 6, 6, 64, 1, 1, 1, 1);
        Assert.True(Winograd.Preferred(d));
        Assert.True(Winograd.PreferredForData(d));
        Assert.True(Winograd.PreferredForWeight(d));
        Assert.False(Winograd.Preferred(Dims(1, 64, 6, 6, 64, 1, 1, 1, 1)));    // batch 1 stays on im2col
        Assert.False(Winograd.PreferredForWeight(Dims(16, 16, 6, 6, 64, 1, 1, 1, 1))); // too few channels for the weight gradient
        Assert.False(Winograd.Preferred(Dims(16, 3, 6, 6, 64, 1, 1, 1, 1)));    // too few input channels
        Assert.False(Winograd.Preferred(Dims(16, 128, 6, 6, 64, 1, 1, 1, 1)));  // fewer outputs than inputs, < 128
        Assert.False(Winograd.PreferredForData(Dims(16, 64, 6, 6, 128, 1, 1, 1, 1))); // its data gradient is that conv
        Assert.False(Winograd.Preferred(Dims(16, 64, 3, 3, 64, 1, 1, 1, 1)));   // 3×3 maps

        var x = Rand(d.N * d.InImage, 10);
        var wt = Rand(d.Cout * d.Cin * 9, 11);
        var viaConv = new float[d.N * d.OutImage];
        ConvGemm.Forward(d, x, wt, default, viaConv);
        var direct = new float[viaConv.Length];
        Winograd.Forward(d, x, wt, default, direct);
        Assert.Equal(direct, viaConv);

        var dy = Rand(d.N * d.OutImage, 25);
        var dwViaConv = new float[d.Cout * d.K];
        ConvGemm.BackwardWeight(d, x, dy, dwViaConv, default);
        var dwDirect = new float[dwViaConv.Length];
        Winograd.BackwardWeight(d, x, dy, dwDirect);
        Assert.Equal(dwDirect, dwViaConv);

        var im2col = new float[viaConv.Length];
        var dwIm2col = new float[dwViaConv.Length];
        Winograd.Enabled = false;
        try
        {
            Assert.False(Winograd.Preferred(d));
            Assert.False(Winograd.PreferredForWeight(d));
            ConvGemm.Forward(d, x, wt, default, im2col);
            ConvGemm.BackwardWeight(d, x, dy, dwIm2col, default);
        }
        finally { Winograd.Enabled = true; }
        Assert.NotEqual(direct, im2col); // a different rounding: the other path ran
        Assert.NotEqual(dwDirect, dwIm2col);
        var (yRef, abs) = Reference(d, x, wt);
        AssertClose(yRef, abs, im2col, "im2col");
        var (dwRef, absDw) = ReferenceWeight(d, x, dy);
        AssertClose(dwRef, absDw, dwIm2col, "im2col weight gradient");
    }

    [Fact]
    public void Conv_op_gradients_pass_through_winograd()
    {
        var op = new Conv { Strides = [1, 1], Pads = [1, 1, 1, 1] };
        var x = GradientCheck.Random(new Shape(16, 64, 4, 5), 12);
        var w = GradientCheck.Random(new Shape(64, 64, 3, 3), 13);
        var b = GradientCheck.Random(new Shape(64), 14);
        var d = op.Measure(x.Shape, w.Shape, new Shape(16, 64, 4, 5));
        Assert.True(Winograd.Preferred(d) && Winograd.PreferredForData(d) && Winograd.PreferredForWeight(d));
        GradientCheck.AssertOp(op, [x, w, b], maxElementsPerInput: 24);
    }
}

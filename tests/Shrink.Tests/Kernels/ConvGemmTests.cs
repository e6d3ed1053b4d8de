using Shrink.Kernels;
using Shrink.Ops;
using Shrink.Tensors;
using Shrink.Tests.Ops;

namespace Shrink.Tests.Kernels;

/// <summary>The batch-folded conv driver against plain loops: forward (with the fused epilogue), data and weight
/// gradients, over shapes that take every path (one image per chunk, several, a ragged last chunk, 1×1 folded,
/// groups, depthwise), and bitwise independence from the thread count.</summary>
public class ConvGemmTests
{
    // n, cin, hw, cout, k, stride, pad, group
    public static IEnumerable<object[]> Shapes => new object[][]
    {
        [3, 4, 9, 5, 3, 1, 1, 1],     // 81 positions: one image per chunk
        [23, 3, 7, 4, 3, 1, 1, 1],    // 49 positions: 10 images per chunk, ragged last chunk
        [45, 2, 7, 3, 3, 2, 1, 1],    // stride 2 → 16 positions; weight gradient in several chunks
        [70, 3, 4, 6, 1, 1, 0, 1],    // 1×1 folded: 32 images per chunk
        [40, 4, 5, 6, 1, 2, 0, 1],    // 1×1 stride 2
        [30, 4, 5, 6, 3, 1, 1, 2],    // groups
        [9, 6, 6, 6, 3, 1, 1, 6],     // depthwise, parallel over images
        [1, 6, 6, 12, 3, 2, 1, 6],    // depthwise multiplier 2, batch 1: parallel over channels
        [1, 16, 8, 32, 3, 1, 1, 1],   // batch 1
        [1, 64, 4, 72, 3, 1, 1, 1],   // batch 1, 4×4 map: narrow GEMM (16 columns)
        [1, 24, 7, 40, 3, 2, 1, 2],   // batch 1, strided, groups
        [2, 8, 28, 64, 3, 1, 1, 1],   // two images of 784 positions
        [4, 1, 28, 64, 3, 1, 1, 1],   // a stem conv: K = 9, weight gradient transposed (dWᵀ = col·dYᵀ)
        [2, 32, 5, 256, 3, 1, 1, 1],  // Cout = 256, K = 288: weight gradient not transposed
        [64, 16, 7, 40, 3, 2, 1, 1],  // strided, 4×4 output, several image chunks: weights packed once per call
        [3, 24, 12, 29, 1, 1, 0, 1],  // 1×1 on 144 positions: B read in place (Gemm.DirectB), 29 = 14 + 14 + 1 rows
        [2, 300, 16, 20, 1, 1, 0, 1], // 1×1, K = 300: two k blocks in the forward; data gradient m = 300
        [2, 20, 17, 270, 1, 1, 0, 1], // 1×1, 289 positions, Cout = 270: data gradient in two k blocks
        [3, 6, 12, 8, 1, 1, 0, 2],    // 1×1 grouped, 144 positions
        [2, 16, 13, 7, 1, 1, 0, 1],   // 169 positions: a masked 9-column strip
    };

    /// <summary>The pointwise shapes above that read B in place.</summary>
    public static IEnumerable<object[]> DirectShapes => Shapes.Where(s => (int)s[4] == 1 && (int)s[5] == 1 && (int)s[2] * (int)s[2] >= 128);

    private static ConvDims Dims(int n, int cin, int hw, int cout, int k, int s, int p, int g)
    {
        int o = (hw + 2 * p - k) / s + 1;
        return new ConvDims(n, cin, hw, hw, cout, g, new Window2d(k, k, s, s, p, p, 1, 1, o, o));
    }

    /// <summary>Calls <paramref name="body"/>(n, o, c, oh, ow, ih, iw, weight index) for every in-bounds tap.</summary>
    private static void ForEachTap(ConvDims d, Action<int, int, int, int, int, int, int, int> body)
    {
        var g = d.Geo;
        for (int n = 0; n < d.N; n++)
            for (int o = 0; o < d.Cout; o++)
                for (int c = 0; c < d.Cgin; c++)
                    for (int oh = 0; oh < g.OutH; oh++)
                        for (int ow = 0; ow < g.OutW; ow++)
                            for (int i = 0; i < g.KernelH; i++)
                                for (int j = 0; j < g.KernelW; j++)
                                {
                                    int ih = oh * g.StrideH - g.PadTop + i, iw = ow * g.StrideW - g.PadLeft + j;
                                    if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                                    int cin = o / d.Cgout * d.Cgin + c;
                                    body(n, o, cin, oh, ow, ih, iw, ((o * d.Cgin + c) * g.KernelH + i) * g.KernelW + j);
                                }
    }

    private static float[] Rand(int n, int seed) => GradientCheck.Random(new Shape(n), seed).ToArray();

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_and_gradients_match_plain_loops(int n, int cin, int hw, int cout, int k, int s, int p, int g)
    {
        var d = Dims(n, cin, hw, cout, k, s, p, g);
        var x = Rand(d.N * d.InImage, 1);
        var w = Rand(d.Cout * d.K, 2);
        var b = Rand(d.Cout, 3);
        var dy = Rand(d.N * d.OutImage, 4);
        int ohw = d.P;

        var yRef = new double[d.N * d.OutImage];
        var dxRef = new double[x.Length];
        var dwRef = new double[w.Length];
        ForEachTap(d, (nn, o, c, oh, ow, ih, iw, wi) =>
        {
            int yi = (nn * d.Cout + o) * ohw + oh * d.Geo.OutW + ow, xi = ((nn * d.Cin + c) * d.H + ih) * d.W + iw;
            yRef[yi] += (double)w[wi] * x[xi];
            dxRef[xi] += (double)w[wi] * dy[yi];
            dwRef[wi] += (double)x[xi] * dy[yi];
        });
        var dbRef = new double[d.Cout];
        for (int nn = 0; nn < d.N; nn++)
            for (int o = 0; o < d.Cout; o++)
                for (int q = 0; q < ohw; q++)
                {
                    yRef[(nn * d.Cout + o) * ohw + q] += b[o];
                    dbRef[o] += dy[(nn * d.Cout + o) * ohw + q];
                }

        var y = new float[yRef.Length];
        ConvGemm.Forward(d, x, w, b, y);
        AssertClose(yRef, y, "forward");

        if (!d.Depthwise)
        {
            // Weights packed once (the inference plan's path): bitwise the unpacked forward, for any thread count.
            var packed = ConvGemm.PackWeights(d.Cout, d.Groups, d.K, w);
            var yPacked = new float[yRef.Length];
            ConvGemm.Forward(d, x, w, b, yPacked, float.NegativeInfinity, float.PositiveInfinity, packed);
            Assert.Equal(y, yPacked);
        }

        var yRelu6 = new float[yRef.Length];
        ConvGemm.Forward(d, x, w, b, yRelu6, 0f, 0.5f);
        AssertClose(yRef.Select(v => Math.Min(Math.Max(v, 0), 0.5)).ToArray(), yRelu6, "forward + clip");

        var dx = Enumerable.Repeat(1f, x.Length).ToArray(); // accumulates
        ConvGemm.BackwardData(d, dy, w, dx);
        AssertClose(dxRef.Select(v => v + 1).ToArray(), dx, "data gradient");

        var dw = Enumerable.Repeat(0.5f, w.Length).ToArray();
        var db = new float[d.Cout];
        ConvGemm.BackwardWeight(d, x, dy, dw, db);
        AssertClose(dwRef.Select(v => v + 0.5).ToArray(), dw, "weight gradient");
        AssertClose(dbRef, db, "bias gradient");
    }

    [Theory]
    [InlineData(64, 576, true)]     // 4.6 tiles of 14 rows vs 2 panels of 32 columns
    [InlineData(64, 9, true)]       // the stem: K = 9
    [InlineData(128, 1152, true)]
    [InlineData(512, 4608, false)]  // padding is ≤ 1 % either way
    [InlineData(256, 2304, false)]
    public void Weight_gradient_is_transposed_when_it_saves_padding(int cout, int k, bool transposed) =>
        Assert.Equal(transposed, ConvGemm.TransposedWeightGradient(cout, k, (14, 32))); // the Vector512 tier's tiles

    [Theory]
    [InlineData(64, 16, 7, 40, 3, 2, 1, 1)]   // P = 16: 128 images per chunk
    [InlineData(45, 12, 7, 20, 3, 1, 1, 1)]   // P = 49: 41 images per chunk and a ragged last chunk of 4
    [InlineData(30, 4, 5, 6, 3, 1, 1, 2)]     // groups, P = 25
    [InlineData(9, 24, 9, 16, 5, 2, 2, 1)]    // 5×5 stride 2 (P = 25); fewer channels than slices on 1 thread
    [InlineData(3, 2, 4, 70, 3, 1, 0, 1)]     // 2 input channels: 2 slices, each gathering 35 of the 70 output-gradient rows; P = 4
    public void Weight_gradient_gathered_a_channel_slice_at_a_time_is_bitwise_equal_and_thread_count_independent(
        int n, int cin, int hw, int cout, int k, int s, int p, int g)
    {
        var d = Dims(n, cin, hw, cout, k, s, p, g);
        var x = Rand(d.N * d.InImage, 21);
        var dy = Rand(d.N * d.OutImage, 22);
        var dwRef = new double[d.Cout * d.K];
        ForEachTap(d, (nn, o, c, oh, ow, ih, iw, wi) =>
            dwRef[wi] += (double)x[((nn * d.Cin + c) * d.H + ih) * d.W + iw] * dy[(nn * d.Cout + o) * d.P + oh * d.Geo.OutW + ow]);
        float[] Run(bool rows, int threads)
        {
            bool saved = ConvGemm.WeightGradientV2;
            int savedThreads = KernelParallel.MaxThreads;
            ConvGemm.WeightGradientV2 = rows;
            KernelParallel.MaxThreads = threads;
            try
            {
                var dw = Enumerable.Repeat(0.25f, d.Cout * d.K).ToArray();
                ConvGemm.BackwardWeight(d, x, dy, dw, default);
                return dw;
            }
            finally { ConvGemm.WeightGradientV2 = saved; KernelParallel.MaxThreads = savedThreads; }
        }
        var byImage = Run(false, 2);
        AssertClose(dwRef.Select(v => v + 0.25).ToArray(), byImage, "weight gradient");
        Assert.Equal(byImage, Run(true, 2));
        Assert.Equal(byImage, Run(true, 1));
        Assert.Equal(byImage, Run(true, 3));
    }

    [Fact]
    public void Packing_the_weights_once_per_call_is_bitwise_equal_to_packing_per_chunk()
    {
        var d = Dims(64, 16, 7, 40, 3, 2, 1, 1); // P = 16: 32 images (512 columns) per chunk, 2 chunks
        var x = Rand(d.N * d.InImage, 11);
        var w = Rand(d.Cout * d.K, 12);
        var bias = Rand(d.Cout, 13);
        float[] Run(bool once)
        {
            bool saved = ConvGemm.PackOncePerCall;
            ConvGemm.PackOncePerCall = once;
            try
            {
                var y = new float[d.N * d.OutImage];
                ConvGemm.Forward(d, x, w, bias, y, 0f, 6f);
                return y;
            }
            finally { ConvGemm.PackOncePerCall = saved; }
        }
        Assert.Equal(Run(false), Run(true));
    }

    [Theory]
    [MemberData(nameof(DirectShapes))]
    public void Pointwise_convs_reading_B_in_place_are_bitwise_equal_to_the_packed_GEMM(int n, int cin, int hw, int cout, int k, int s, int p, int g)
    {
        var d = Dims(n, cin, hw, cout, k, s, p, g);
        var x = Rand(d.N * d.InImage, 21);
        var w = Rand(d.Cout * d.K, 22);
        var dy = Rand(d.N * d.OutImage, 23);
        (float[] Y, float[] Dx) Run(bool direct)
        {
            bool saved = Shrink.Kernels.Gemm.DirectBEnabled;
            Shrink.Kernels.Gemm.DirectBEnabled = direct;
            try
            {
                var y = new float[d.N * d.OutImage];
                var dx = Rand(x.Length, 24); // accumulates
                ConvGemm.Forward(d, x, w, default, y);
                ConvGemm.BackwardData(d, dy, w, dx);
                return (y, dx);
            }
            finally { Shrink.Kernels.Gemm.DirectBEnabled = saved; }
        }
        var (y0, dx0) = Run(false);
        var (y1, dx1) = Run(true);
        Assert.Equal(y0.Select(BitConverter.SingleToInt32Bits), y1.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(dx0.Select(BitConverter.SingleToInt32Bits), dx1.Select(BitConverter.SingleToInt32Bits));
    }

    /// <summary>The Vector256 tier's in-place pointwise multiply (forced on AVX-512 machines too): forward (with bias and
    /// clamp) and data gradient against plain loops, and bitwise the same for any thread count, fewer images than threads
    /// (images cut into column ranges) included; batch 1 stays on the GEMM (the weights' packing would dominate). Edge
    /// sizes: 9-, 4- and 1-column tails, rows not a multiple of 6, groups, K = 300; narrow 4×4 and 8×8 maps in image chunks.</summary>
    [Theory]
    [InlineData(1, 24, 12, 29, 1)]   // batch 1: the GEMM path
    [InlineData(2, 24, 12, 29, 1)]   // 2 images, 3 and 8 threads: column pieces; 144 positions
    [InlineData(3, 13, 13, 7, 1)]    // 169 positions: a masked 9-column strip; 7 = 6 + 1 rows
    [InlineData(2, 300, 14, 20, 1)]  // K = 300 (data gradient m = 300); 196 positions: a 4-column tail
    [InlineData(4, 6, 16, 8, 2)]     // grouped, 256 positions
    [InlineData(2, 16, 11, 96, 1)]   // 121 positions: below the threshold, the GEMM path
    [InlineData(5, 5, 27, 11, 1)]    // 729 positions: a 1-column tail
    [InlineData(37, 40, 4, 25, 1)]   // 4×4 maps: narrow, images in chunks, weights packed once; 25 = 4·6 + 1 rows
    [InlineData(3, 7, 8, 13, 1)]     // 8×8 maps: narrow, four strips an image
    [InlineData(9, 8, 4, 12, 2)]     // 4×4 maps, grouped
    [InlineData(4, 9, 7, 10, 1)]     // 7×7 maps: the folded GEMM
    public void Pointwise_direct_vector256_matches_plain_loops_for_any_thread_count(int n, int cin, int hw, int cout, int g)
    {
        var d = Dims(n, cin, hw, cout, 1, 1, 0, g);
        var x = Rand(d.N * d.InImage, 41);
        var w = Rand(d.Cout * d.K, 42);
        var bias = Rand(d.Cout, 43);
        var dy = Rand(d.N * d.OutImage, 44);
        var yRef = new double[d.N * d.OutImage];
        var dxRef = new double[x.Length];
        ForEachTap(d, (nn, o, c, oh, ow, ih, iw, wi) =>
        {
            int yi = (nn * d.Cout + o) * d.P + oh * d.Geo.OutW + ow, xi = ((nn * d.Cin + c) * d.H + ih) * d.W + iw;
            yRef[yi] += (double)w[wi] * x[xi];
            dxRef[xi] += (double)w[wi] * dy[yi];
        });
        for (int nn = 0; nn < d.N; nn++)
            for (int o = 0; o < d.Cout; o++)
                for (int q = 0; q < d.P; q++) yRef[(nn * d.Cout + o) * d.P + q] = Math.Min(Math.Max(yRef[(nn * d.Cout + o) * d.P + q] + bias[o], -0.5), 0.75);
        (float[] Y, float[] Dx) Run(int threads)
        {
            int saved = KernelParallel.MaxThreads;
            KernelParallel.MaxThreads = threads;
            Shrink.Kernels.Gemm.ForceLevel = GemmLevel.Vector256;
            try
            {
                bool tier = PointwiseDirect.Enabled && System.Runtime.Intrinsics.X86.Fma.IsSupported
                    && Environment.GetEnvironmentVariable("SHRINK_FORCE_SCALAR") != "1" && Environment.GetEnvironmentVariable("SHRINK_SCALAR") != "1";
                tier &= d.N >= PointwiseDirect.MinImages;
                Assert.Equal(tier && d.P >= PointwiseDirect.MinPositions, PointwiseDirect.Applies(d));
                Assert.Equal(tier && PointwiseDirect.EnabledNarrow && d.P < PointwiseDirect.MinPositions && d.P % 16 == 0, PointwiseDirect.AppliesNarrow(d));
                var y = new float[d.N * d.OutImage];
                ConvGemm.Forward(d, x, w, bias, y, -0.5f, 0.75f);
                var dx = Enumerable.Repeat(1f, x.Length).ToArray(); // accumulates
                ConvGemm.BackwardData(d, dy, w, dx);
                return (y, dx);
            }
            finally
            {
                KernelParallel.MaxThreads = saved;
                Shrink.Kernels.Gemm.ForceLevel = GemmLevel.Auto;
            }
        }
        var (y2, dx2) = Run(2);
        AssertClose(yRef, y2, "forward");
        AssertClose(dxRef.Select(v => v + 1).ToArray(), dx2, "data gradient");
        foreach (int threads in new[] { 1, 3, 8 })
        {
            var (yt, dxt) = Run(threads);
            Assert.Equal(y2.Select(BitConverter.SingleToInt32Bits), yt.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(dx2.Select(BitConverter.SingleToInt32Bits), dxt.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Theory]
    [InlineData(19, 5, 6, 10, 26)]  // 260 positions (masked tail of 4), 3 slices, ragged 4×4 blocks on both sides
    [InlineData(9, 24, 144, 28, 28)] // MobileNet v2's expand conv at 28×28, 2 slices
    [InlineData(1, 3, 2, 16, 17)]    // batch 1, blocks narrower than 4
    [InlineData(10, 7, 5, 1, 257)]   // 257 positions: a one-lane tail on both tiers; odd channel counts (ragged 4×2 and 4×4 blocks)
    [InlineData(3, 1, 9, 3, 100)]
    [InlineData(17, 13, 11, 14, 14)] // 196 positions (MobileNet's 14×14 maps): the Vector256 path, the GEMM on Vector512    // one input channel, 300 positions (tail of 4 lanes on Vector256, 12 on Vector512)
    public void Pointwise_weight_gradient_matches_plain_loops_for_any_thread_count(int n, int cin, int cout, int h, int w)
    {
        foreach (var level in new[] { GemmLevel.Auto, GemmLevel.Vector256 })
        {
            Shrink.Kernels.Gemm.ForceLevel = level; // the Vector256 blocks on an AVX-512 machine too
            try { PointwiseWeightGradientCase(n, cin, cout, h, w); }
            finally { Shrink.Kernels.Gemm.ForceLevel = GemmLevel.Auto; }
        }
    }

    private static void PointwiseWeightGradientCase(int n, int cin, int cout, int h, int w)
    {
        var d = new ConvDims(n, cin, h, w, cout, 1, new Window2d(1, 1, 1, 1, 0, 0, 1, 1, h, w));
        bool simd = Environment.GetEnvironmentVariable("SHRINK_FORCE_SCALAR") != "1" && Environment.GetEnvironmentVariable("SHRINK_SCALAR") != "1";
        bool avx2 = System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
        bool wide = Shrink.Kernels.Gemm.ActiveLevel == GemmLevel.Vector512; // 256 positions on the Vector512 tier, 128 on Vector256
        if (d.P >= (wide ? 256 : PointwiseWeightGradient.MinPositions256) && (wide || PointwiseWeightGradient.Enabled256))
            Assert.True(!PointwiseWeightGradient.Enabled || !simd || !avx2 || PointwiseWeightGradient.Applies(d));
        var x = Rand(d.N * d.InImage, 31);
        var dy = Rand(d.N * d.OutImage, 32);
        var reference = new double[cout * cin];
        for (int nn = 0; nn < n; nn++)
            for (int o = 0; o < cout; o++)
                for (int c = 0; c < cin; c++)
                    for (int q = 0; q < d.P; q++)
                        reference[o * cin + c] += (double)dy[(nn * cout + o) * d.P + q] * x[(nn * cin + c) * d.P + q];
        float[] Run(int threads)
        {
            int saved = KernelParallel.MaxThreads;
            KernelParallel.MaxThreads = threads;
            try
            {
                var dw = Enumerable.Repeat(0.25f, cout * cin).ToArray(); // accumulates
                ConvGemm.BackwardWeight(d, x, dy, dw, default);
                return dw;
            }
            finally { KernelParallel.MaxThreads = saved; }
        }
        var two = Run(2);
        AssertClose(reference.Select(v => v + 0.25).ToArray(), two, "pointwise weight gradient");
        Assert.Equal(Run(1).Select(BitConverter.SingleToInt32Bits), two.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(Run(3).Select(BitConverter.SingleToInt32Bits), two.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Pointwise_weight_gradient_rejects_what_it_does_not_handle()
    {
        var strided = new ConvDims(2, 4, 16, 16, 4, 1, new Window2d(1, 1, 2, 2, 0, 0, 1, 1, 8, 8));
        var ex = Assert.Throws<ArgumentException>(() => PointwiseWeightGradient.Accumulate(strided, new float[2 * 4 * 256], new float[2 * 4 * 64], new float[16]));
        Assert.Contains("does not apply", ex.Message);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var d = Dims(37, 8, 6, 16, 3, 1, 1, 1);
        var x = Rand(d.N * d.InImage, 5);
        var w = Rand(d.Cout * d.K, 6);
        var dy = Rand(d.N * d.OutImage, 7);
        (float[], float[], float[]) Run()
        {
            var y = new float[d.N * d.OutImage];
            var dx = new float[x.Length];
            var dw = new float[w.Length];
            ConvGemm.Forward(d, x, w, default, y);
            ConvGemm.BackwardData(d, dy, w, dx);
            ConvGemm.BackwardWeight(d, x, dy, dw, default);
            return (y, dx, dw);
        }
        var two = Run();
        int saved = KernelParallel.MaxThreads;
        KernelParallel.MaxThreads = 1;
        try
        {
            var one = Run();
            Assert.Equal(one.Item1, two.Item1);
            Assert.Equal(one.Item2, two.Item2);
            Assert.Equal(one.Item3, two.Item3);
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = 1e-4 * Math.Abs(expected[i]) + 1e-4;
            if (Math.Abs(expected[i] - actual[i]) > tol)
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]}.");
        }
    }
}

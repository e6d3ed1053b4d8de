using Shrink.Kernels;

namespace Shrink.Tests.Kernels;

/// <summary>
/// The kernels write only inside the spans they are given: each output sits at the start of a longer array whose tail
/// holds a sentinel, and the tail must come back untouched. (A write past the end of an exact-size tensor corrupts
/// whatever object follows it on the heap and crashes the process later, somewhere else, now and then.)
/// </summary>
public class KernelBoundsTests
{
    private const int Tail = 64;
    private static readonly float Sentinel = BitConverter.Int32BitsToSingle(0x7FC0BEEF);

    /// <summary>An output of <paramref name="length"/> floats followed by the sentinel tail.</summary>
    private static float[] Guarded(int length, float fill = 0f)
    {
        var a = new float[length + Tail];
        a.AsSpan(0, length).Fill(fill);
        a.AsSpan(length).Fill(Sentinel);
        return a;
    }

    private static void AssertTailIntact(float[] a, int length, string what)
    {
        for (int i = length; i < a.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(a[i]) == 0x7FC0BEEF, $"{what}: wrote element {i} of a {length}-float output.");
    }

    private static float[] Random(int length, int seed) => Shrink.Tests.Ops.GradientCheck.Random(new Shrink.Tensors.Shape(length), seed).ToArray();

    // n, cin, hw, cout, k, stride, pad, group: odd batches and sizes that leave ragged tiles and chunks everywhere.
    public static IEnumerable<object[]> ConvShapes => new object[][]
    {
        [7, 6, 14, 16, 5, 1, 0, 1],   // LeNet-5's second conv at batch 7 (10×10 output)
        [7, 1, 28, 6, 5, 1, 2, 1],    // LeNet-5's first conv
        [1, 6, 14, 16, 5, 1, 0, 1],
        [3, 4, 9, 5, 3, 1, 1, 1],
        [23, 3, 7, 4, 3, 1, 1, 1],
        [45, 2, 7, 3, 3, 2, 1, 1],
        [70, 3, 4, 6, 1, 1, 0, 1],
        [30, 4, 5, 6, 3, 1, 1, 2],
        [9, 6, 6, 6, 3, 1, 1, 6],
        [5, 6, 7, 12, 3, 2, 1, 6],
        [1, 64, 4, 72, 3, 1, 1, 1],
        [3, 24, 12, 29, 1, 1, 0, 1],
        [2, 16, 13, 7, 1, 1, 0, 1],
        [5, 32, 9, 40, 3, 1, 1, 1],   // Winograd-sized: 3×3 stride 1, 9×9 (ragged 4×4 tiles)
        [17, 48, 6, 33, 3, 1, 1, 1],
        [19, 32, 7, 32, 3, 1, 1, 1],  // the Winograd weight gradient (N ≥ 16, ≥ 32 channels)
        [3, 7, 11, 5, 3, 2, 0, 1],
    };

    private static ConvDims Dims(int n, int cin, int hw, int cout, int k, int s, int p, int g)
    {
        int o = (hw + 2 * p - k) / s + 1;
        return new ConvDims(n, cin, hw, hw, cout, g, new Window2d(k, k, s, s, p, p, 1, 1, o, o));
    }

    [Theory]
    [MemberData(nameof(ConvShapes))]
    public void Conv_forward_and_gradients_stay_inside_their_outputs(int n, int cin, int hw, int cout, int k, int s, int p, int g)
    {
        var d = Dims(n, cin, hw, cout, k, s, p, g);
        int xLen = n * d.InImage, yLen = n * d.OutImage, wLen = d.Cout * d.K;
        var x = Random(xLen, 1);
        var w = Random(wLen, 2);
        var bias = Random(cout, 3);
        var dy = Random(yLen, 4);

        var y = Guarded(yLen);
        ConvGemm.Forward(d, x, w, bias, y.AsSpan(0, yLen), 0f, 6f);
        AssertTailIntact(y, yLen, "forward");

        var packed = ConvGemm.PackWeights(cout, g, d.K, w);
        if (packed != null)
        {
            var yp = Guarded(yLen);
            ConvGemm.Forward(d, x, w, bias, yp.AsSpan(0, yLen), 0f, 6f, packed);
            AssertTailIntact(yp, yLen, "forward with pre-packed weights");
        }

        if (Winograd.Supports(d))
        {
            var yw = Guarded(yLen);
            Winograd.Forward(d, x, w, bias, yw.AsSpan(0, yLen), 0f, 6f);
            AssertTailIntact(yw, yLen, "Winograd forward");
            using var u = Winograd.TransformWeights(w, cout, cin);
            var yu = Guarded(yLen);
            Winograd.Forward(d, x, u, bias, yu.AsSpan(0, yLen), 0f, 6f);
            AssertTailIntact(yu, yLen, "Winograd forward with transformed weights");
            var dww = Guarded(wLen);
            Winograd.BackwardWeight(d, x, dy, dww.AsSpan(0, wLen));
            AssertTailIntact(dww, wLen, "Winograd weight gradient");
            var dxw = Guarded(xLen);
            Winograd.BackwardData(d, dy, w, dxw.AsSpan(0, xLen));
            AssertTailIntact(dxw, xLen, "Winograd data gradient");
        }

        var dx = Guarded(xLen);
        ConvGemm.BackwardData(d, dy, w, dx.AsSpan(0, xLen));
        AssertTailIntact(dx, xLen, "data gradient");

        var dw = Guarded(wLen);
        var db = Guarded(cout);
        ConvGemm.BackwardWeight(d, x, dy, dw.AsSpan(0, wLen), db.AsSpan(0, cout));
        AssertTailIntact(dw, wLen, "weight gradient");
        AssertTailIntact(db, cout, "bias gradient");
    }

    [Fact]
    public void The_SHRINK_GUARD_sentinel_reports_the_first_element_written_past_the_end()
    {
        var array = new float[10 + Shrink.Tensors.Tensor.GuardFloats];
        Shrink.Tensors.Tensor.SetGuard(array, 10);
        array[9] = 1f; // inside: fine
        Assert.Equal(-1, Shrink.Tensors.Tensor.GuardBreach(array, 10));
        array[12] = 0f;
        array[11] = float.NaN; // even a NaN: only the sentinel's own bits count as untouched
        Assert.Equal(11, Shrink.Tensors.Tensor.GuardBreach(array, 10));
    }

    [Fact]
    public void The_suite_runs_with_the_guard_on()
    {
        Assert.True(Shrink.Tensors.Tensor.Guarded);
        using var t = Shrink.Tensors.Tensor.Rent(new Shrink.Tensors.Shape(3, 5));
        Assert.Equal(-1, Shrink.Tensors.Tensor.GuardBreach(t.Array, 15));
        t.Array[15] = 0f; // what a kernel overrunning its output would do
        Assert.Equal(15, Shrink.Tensors.Tensor.GuardBreach(t.Array, 15));
        Shrink.Tensors.Tensor.SetGuard(t.Array, 15); // mend it, or Dispose would stop the test run
    }

    // channels, hw, multiplier, k, stride, pad
    public static IEnumerable<object[]> DepthwiseShapes => new object[][]
    {
        [5, 7, 1, 3, 1, 1], [5, 7, 1, 3, 2, 1], [3, 28, 1, 3, 2, 1], [4, 14, 2, 3, 1, 1], [7, 9, 1, 5, 2, 2], [3, 4, 1, 3, 2, 1],
        [33, 15, 1, 3, 1, 1], [17, 30, 1, 3, 2, 0],
    };

    [Theory]
    [MemberData(nameof(DepthwiseShapes))]
    public void Depthwise_kernels_stay_inside_their_outputs(int channels, int hw, int multiplier, int k, int stride, int pad)
    {
        int o = (hw + 2 * pad - k) / stride + 1;
        var g = new Window2d(k, k, stride, stride, pad, pad, 1, 1, o, o);
        int xLen = channels * hw * hw, yLen = channels * multiplier * o * o, wLen = channels * multiplier * k * k;
        var x = Random(xLen, 5);
        var w = Random(wLen, 6);
        var bias = Random(channels * multiplier, 7);
        var dy = Random(yLen, 8);
        foreach (bool flat in new[] { true, false })
        {
            var y = Guarded(yLen);
            if (flat) DepthwiseConv.Forward(x, channels, hw, hw, w, bias, multiplier, g, y.AsSpan(0, yLen));
            else DepthwiseConv.ForwardRows(x, channels, hw, hw, w, bias, multiplier, g, y.AsSpan(0, yLen));
            AssertTailIntact(y, yLen, $"depthwise forward (flat {flat})");
            var dx = Guarded(xLen);
            if (flat) DepthwiseConv.BackwardData(dy, w, channels, hw, hw, multiplier, g, dx.AsSpan(0, xLen));
            else DepthwiseConv.BackwardDataRows(dy, w, channels, hw, hw, multiplier, g, dx.AsSpan(0, xLen));
            AssertTailIntact(dx, xLen, $"depthwise data gradient (flat {flat})");
            var dw = Guarded(wLen);
            if (flat) DepthwiseConv.BackwardWeight(x, dy, channels, hw, hw, multiplier, g, dw.AsSpan(0, wLen));
            else DepthwiseConv.BackwardWeightRows(x, dy, channels, hw, hw, multiplier, g, dw.AsSpan(0, wLen));
            AssertTailIntact(dw, wLen, $"depthwise weight gradient (flat {flat})");
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(13, 17, 9)]
    [InlineData(15, 33, 31)]
    [InlineData(29, 70, 300)]
    [InlineData(64, 3, 128)]
    [InlineData(1, 100, 50)]
    [InlineData(100, 1, 50)]
    public void Gemm_stays_inside_C(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                var a = Random(m * k, 9);
                var b = Random(k * n, 10);
                var c = Guarded(m * n, 0.5f);
                Gemm.Sgemm(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 1f, c.AsSpan(0, m * n), n);
                AssertTailIntact(c, m * n, $"Sgemm {m}×{n}×{k} ta {ta} tb {tb}");
            }
        var packed = Gemm.PackA(false, m, k, Random(m * k, 11), 0, k);
        var cp = Guarded(m * n);
        Gemm.Sgemm(packed, false, n, 1f, Random(k * n, 12), n, 0f, cp.AsSpan(0, m * n), n);
        AssertTailIntact(cp, m * n, $"pre-packed Sgemm {m}×{n}×{k}");
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(3, 7)]
    [InlineData(13, 29)]
    [InlineData(14, 16)]
    [InlineData(5, 65)]
    public void Pooling_interleave_and_elementwise_kernels_stay_inside_their_outputs(int outH, int outW)
    {
        int width = 2 * outW + 1, xLen = 2 * outH * width, yLen = outH * outW;
        var x = Random(xLen, 13);
        var y = Guarded(yLen);
        MaxPool2x2.Forward(x, width, y.AsSpan(0, yLen), outH, outW);
        AssertTailIntact(y, yLen, "max pool");
        var dx = Guarded(xLen);
        MaxPool2x2.Backward(x, width, Random(yLen, 14), dx.AsSpan(0, xLen), outH, outW);
        AssertTailIntact(dx, xLen, "max pool gradient");

        int n = yLen;
        var even = Guarded(n);
        Interleave.GatherEven(Random(2 * n - 1, 15), even.AsSpan(0, n));
        AssertTailIntact(even, n, "GatherEven");
        var sum = Guarded(2 * n - 1);
        Interleave.AddEven(Random(n, 16), sum.AsSpan(0, 2 * n - 1));
        AssertTailIntact(sum, 2 * n - 1, "AddEven");

        var src = Random(n, 17);
        foreach (var (name, run) in new (string, Action<Span<float>>)[]
        {
            ("Relu", d => Activation.Relu(src, d)),
            ("ReluBackward", d => Activation.ReluBackward(src, src, d)),
            ("ClipBackward", d => Activation.ClipBackward(src, src, 0f, 0.5f, d)),
            ("AddClamp", d => Activation.AddClamp(src, src, 0f, 6f, d)),
            ("Clamp", d => Activation.Clamp(src, d, 0.1f, 0f, 6f)),
            ("Affine", d => SpatialVector.Affine(src, 2f, 1f, d)),
            ("AffineClamp", d => SpatialVector.AffineClamp(src, 2f, 1f, 0f, 6f, d)),
            ("Axpy", d => SpatialVector.Axpy(2f, src, d)),
        })
        {
            var d = Guarded(n);
            run(d.AsSpan(0, n));
            AssertTailIntact(d, n, name);
        }
    }

    [Fact]
    public unsafe void Scratch_is_aligned_grows_and_keeps_its_sentinel_clear_of_the_floats_it_hands_out()
    {
        float[]? array = null;
        foreach (int n in new[] { 1, 100, 37, 5000, 4999 })
        {
            float* p = Scratch.Grow(ref array, n);
            Assert.Equal(0, (long)p % 64);
            Assert.True(array!.Length >= n);
            new Span<float>(p, n).Fill(1f); // all of it, as a kernel may
            Assert.Equal(-1, Shrink.Tensors.Tensor.GuardBreach(array, array.Length - Shrink.Tensors.Tensor.GuardFloats));
        }
        var grown = array;
        Scratch.Grow(ref array, 4000);
        Assert.Same(grown, array); // never shrunk
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(4096)]
    public unsafe void Pinned_packed_storage_is_aligned_and_its_sentinel_sits_past_every_float_handed_out(int n)
    {
        var array = Scratch.Pinned(n, out float* p, "test storage");
        Assert.Equal(0, (long)p % 64);
        new Span<float>(p, n).Fill(1f);
        int guardAt = array.Length - Shrink.Tensors.Tensor.GuardFloats;
        Assert.Equal(-1, Shrink.Tensors.Tensor.GuardBreach(array, guardAt));
        array[guardAt] = 0f; // past the array's own floats: what the check must catch
        Assert.Equal(guardAt, Shrink.Tensors.Tensor.GuardBreach(array, guardAt));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    public unsafe void Native_packed_storage_is_aligned_and_guarded_right_after_its_floats(int n)
    {
        float* p = Scratch.AllocNative(n);
        try
        {
            Assert.Equal(0, (long)p % 64);
            new Span<float>(p, n).Fill(1f);
            var tail = new Span<float>(p + n, Shrink.Tensors.Tensor.GuardFloats);
            Assert.Equal(-1, Shrink.Tensors.Tensor.GuardBreach(tail));
            p[n + 3] = 0f;
            Assert.Equal(3, Shrink.Tensors.Tensor.GuardBreach(tail));
            Shrink.Tensors.Tensor.SetGuard(tail); // mend it, or FreeNative would stop the test run
        }
        finally { Scratch.FreeNative(p, n, "test storage"); }
    }
}

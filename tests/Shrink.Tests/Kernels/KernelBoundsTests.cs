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

    private static float[] Random(int length, int seed)
    {
        var r = new System.Random(seed);
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(r.NextDouble() * 2 - 1);
        return a;
    }

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
}

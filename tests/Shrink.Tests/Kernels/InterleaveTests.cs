using Shrink.Kernels;

namespace Shrink.Tests.Kernels;

/// <summary>The stride-2 gathers and 2×2 max pooling against plain loops, bit for bit (run also with
/// SHRINK_FORCE_SCALAR=1 and DOTNET_EnableHWIntrinsic=0 for the scalar paths).</summary>
public class InterleaveTests
{
    /// <summary>Lengths that exercise every vector width, the tails and the "last vector must stop early" bounds.</summary>
    public static IEnumerable<object[]> Lengths() => Enumerable.Range(0, 70).Select(n => new object[] { n });

    private static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void GatherEven_takes_every_other_element(int n)
    {
        var src = Random(Math.Max(0, 2 * n - 1), n);
        var dst = Enumerable.Repeat(float.NaN, n + 3).ToArray();
        Interleave.GatherEven(src, dst.AsSpan(0, n));
        for (int t = 0; t < n; t++) Assert.Equal(src[2 * t], dst[t]);
        Assert.All(dst[n..], v => Assert.True(float.IsNaN(v)));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AddEven_adds_into_even_elements_and_leaves_odd_ones_bit_exact(int n)
    {
        var src = Random(n, n + 100);
        var dst = Random(2 * n + 3, n + 200);
        for (int i = 1; i < dst.Length; i += 4) dst[i] = -0f; // odd elements must keep their sign bit
        var expected = (float[])dst.Clone();
        for (int t = 0; t < n; t++) expected[2 * t] += src[t];
        Interleave.AddEven(src, dst.AsSpan(0, Math.Max(0, 2 * n - 1)));
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), dst.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Short_spans_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Interleave.GatherEven(new float[4], new float[3]));
        Assert.Throws<ArgumentException>(() => Interleave.AddEven(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => MaxPool2x2.Forward(new float[16], 4, new float[4], 2, 3));
    }

    /// <summary>Values with many ties, signed zeros and NaNs, so the window-order rules matter.</summary>
    private static float[] Awkward(int length, int seed)
    {
        float[] pool = [-1f, 0f, -0f, 1f, 2f, float.NaN, float.NegativeInfinity, 0.5f];
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => pool[rng.Next(pool.Length)]).ToArray();
    }

    /// <summary>Window t's winner as flat index into top (0) or bottom (1): the first maximum in window order, NaN wins.</summary>
    private static (int Row, int Col) Winner(float[] top, float[] bottom, int t)
    {
        (int, int)[] order = [(0, 2 * t), (0, 2 * t + 1), (1, 2 * t), (1, 2 * t + 1)];
        var best = order[0];
        float max = top[2 * t];
        foreach (var (row, col) in order.Skip(1))
        {
            float v = row == 0 ? top[col] : bottom[col];
            if (v > max || (float.IsNaN(v) && !float.IsNaN(max))) { max = v; best = (row, col); }
        }
        return best;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void MaxPool2x2_rows_match_the_window_order_rules(int n)
    {
        // One window row of a plane whose rows are one column wider than the windows need.
        int width = 2 * n + 1;
        float[] top = Awkward(width, n), bottom = Awkward(width, n + 50), dy = Random(n, n + 7);
        var y = new float[n];
        MaxPool2x2.Forward([.. top, .. bottom], width, y, 1, n);
        float[] dTop = Random(width, n + 8), dBottom = Random(width, n + 9);
        float[] eTop = (float[])dTop.Clone(), eBottom = (float[])dBottom.Clone();
        for (int t = 0; t < n; t++)
        {
            var (row, col) = Winner(top, bottom, t);
            float expected = row == 0 ? top[col] : bottom[col];
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(y[t]));
            (row == 0 ? eTop : eBottom)[col] += dy[t];
        }
        float[] dx = [.. dTop, .. dBottom];
        MaxPool2x2.Backward([.. top, .. bottom], width, dy, dx, 1, n);
        Assert.Equal(eTop.Concat(eBottom).Select(BitConverter.SingleToInt32Bits), dx.Select(BitConverter.SingleToInt32Bits));
    }
}

using Shrink.Kernels;

namespace Shrink.Tests.Kernels;

/// <summary>The one-pass per-channel reductions of <see cref="BatchNorm"/> against plain double loops, over awkward
/// spans (0..257 around the vector widths, the 4×4 / 7×7 / 14×14 / 28×28 maps), batch 1 and channel counts 1 and primes
/// (run also with SHRINK_FORCE_SCALAR=1 and DOTNET_EnableHWIntrinsic=0 for the scalar paths). Tolerance: float lanes
/// over at most ~1K values, relative 1e-5 of the sum of magnitudes.</summary>
public class BatchNormReductionTests
{
    public static IEnumerable<object[]> Sizes()
    {
        foreach (int s in new[] { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 49, 63, 64, 65, 196, 257, 784 })
            foreach (var (n, c) in new[] { (1, 1), (3, 2), (2, 5), (130, 3) })
                if ((long)n * c * s < 400_000) yield return [n, c, s];
    }

    private static float[] Random(int length, int seed, float offset)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => offset + rng.NextSingle() * 2 - 1).ToArray();
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Moments_match_a_two_pass_double_reference(int n, int c, int s)
    {
        // An offset of 20 (|mean| ≫ σ) checks the shifted one-pass sum against cancellation.
        var x = Random(n * c * s, n * 1000 + c * 10 + s, offset: 20f);
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) sum += x[(i * c + ch) * s + j];
            double mean = sum / (n * s), sq = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) sq += Math.Pow(x[(i * c + ch) * s + j] - mean, 2);
            var (m, q) = BatchNorm.Moments(x, n, c, s, ch);
            Assert.Equal(mean, m, 20 * 1e-6);
            Assert.True(Math.Abs(q - sq) <= 1e-4 * Math.Max(sq, 1e-3) + 1e-5 * n * s, $"ch {ch}: {q} vs {sq}");
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void GradientSums_match_a_double_reference(int n, int c, int s)
    {
        var x = Random(n * c * s, s + 7 * n, offset: 0.5f);
        var dy = Random(n * c * s, s + 11 * c, offset: 0f);
        for (int ch = 0; ch < c; ch++)
        {
            float mean = 0.25f + ch;
            double sum = 0, dot = 0, mag = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++)
                {
                    int k = (i * c + ch) * s + j;
                    sum += dy[k];
                    dot += dy[k] * ((double)x[k] - mean);
                    mag += Math.Abs(dy[k]) * (1 + Math.Abs(x[k] - mean));
                }
            var (gs, gd) = BatchNorm.GradientSums(dy, x, n, c, s, ch, mean);
            Assert.True(Math.Abs(gs - sum) <= 1e-5 * mag + 1e-6, $"Σdy ch {ch}: {gs} vs {sum}");
            Assert.True(Math.Abs(gd - dot) <= 1e-5 * mag + 1e-6, $"Σdy·xc ch {ch}: {gd} vs {dot}");
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Element_passes_are_bitwise_the_per_span_loops(int n, int c, int s)
    {
        var x = Random(n * c * s, s + 3, offset: 0.3f);
        var dy = Random(n * c * s, s + 5, offset: 0f);
        var dx0 = Random(n * c * s, s + 9, offset: 0f);
        int ch = c / 2;
        float a = 1.7f, b = -0.37f, mean = 0.21f, shift = 0.05f;
        var yRef = (float[])dx0.Clone();
        var gRef = (float[])dx0.Clone();
        var oRef = (float[])dx0.Clone();
        for (int i = 0; i < n; i++)
        {
            int off = (i * c + ch) * s;
            SpatialVector.Affine(x.AsSpan(off, s), a, b, yRef.AsSpan(off, s));
            for (int j = off; j < off + s; j++) gRef[j] += a * dy[j] + b * (x[j] - mean) + shift; // the per-span kernel's lanes, element by element
            for (int j = off; j < off + s; j++) oRef[j] = a * dy[j] + b * (x[j] - mean) + shift;
        }
        var y = (float[])dx0.Clone();
        BatchNorm.Normalize(x, y, n, c, s, ch, a, b);
        var g = (float[])dx0.Clone();
        BatchNorm.Gradient(dy, x, n, c, s, ch, a, b, mean, shift, g, overwrite: false);
        var inPlace = (float[])dy.Clone(); // overwrite, with dx = dy
        BatchNorm.Gradient(inPlace, x, n, c, s, ch, a, b, mean, shift, inPlace, overwrite: true);
        for (int i = 0; i < inPlace.Length; i++)
            if ((i / s) % c != ch)
            {
                Assert.Equal(dy[i], inPlace[i]); // other channels untouched
                inPlace[i] = dx0[i];
            }
        Assert.Equal(yRef.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(gRef.Select(BitConverter.SingleToInt32Bits), g.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(oRef.Select(BitConverter.SingleToInt32Bits), inPlace.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Constant_channel_has_zero_variance_and_NaN_propagates()
    {
        var x = Enumerable.Repeat(3.3f, 4 * 2 * 49).ToArray();
        var (m, q) = BatchNorm.Moments(x, 4, 2, 49, 1);
        Assert.Equal(3.3f, m);
        Assert.Equal(0, q);
        x[2 * 49 + 17] = float.NaN; // image 1, channel 0
        Assert.True(float.IsNaN(BatchNorm.Moments(x, 4, 2, 49, 0).Mean));
        Assert.True(double.IsNaN(BatchNorm.GradientSums(x, x, 4, 2, 49, 0, 0f).SumDy));
        Assert.False(float.IsNaN(BatchNorm.Moments(x, 4, 2, 49, 1).Mean));
    }

    [Fact]
    public void Short_spans_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => BatchNorm.Moments(new float[15], 2, 2, 4, 1));
        Assert.Throws<ArgumentException>(() => BatchNorm.GradientSums(new float[16], new float[15], 2, 2, 4, 1, 0f));
    }
}

using Shrink.Kernels;

namespace Shrink.Tests.Kernels;

public class ActivationTests
{
    /// <summary>Lengths around every vector width, and one long enough for the parallel chunks (3·2^15 + 5).</summary>
    public static TheoryData<int> Lengths => [0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 64, 127, 257, 3 * (1 << 15) + 5];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Relu_backward_in_place_masks_the_gradient_by_the_output(int n)
    {
        var rng = new Random(n + 1);
        var y = new float[n];
        var g = new float[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = (i % 5) switch { 0 => 0f, 1 => float.NaN, _ => rng.NextSingle() * 2 - 1 }; // zeros and NaN pass nothing
            g[i] = rng.NextSingle() * 2 - 1;
        }
        var accumulated = new float[n];
        Activation.ReluBackward(y, g, accumulated);
        var inPlace = (float[])g.Clone();
        Activation.ReluBackwardInPlace(y, inPlace);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(y[i] > 0 ? g[i] : 0f, inPlace[i]);
            Assert.Equal(accumulated[i], inPlace[i]); // what the accumulating kernel adds to zeros
        }
    }

    [Fact]
    public void Relu_backward_in_place_rejects_a_short_gradient()
    {
        var ex = Assert.Throws<ArgumentException>(() => Activation.ReluBackwardInPlace(new float[4], new float[3]));
        Assert.Contains("ReluBackwardInPlace", ex.Message);
    }
}

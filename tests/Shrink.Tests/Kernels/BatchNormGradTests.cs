using Shrink.Kernels;

namespace Shrink.Tests.Kernels;

public class BatchNormGradTests
{
    public static TheoryData<int> Lengths => [0, 1, 7, 8, 9, 15, 16, 17, 33, 257, 784];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void In_place_gradient_is_what_the_accumulating_kernel_adds_to_zeros(int n)
    {
        var rng = new Random(n + 11);
        var x = new float[n];
        var g = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = rng.NextSingle() * 4 - 2;
            g[i] = rng.NextSingle() * 2 - 1;
        }
        const float a = 0.75f, b = -0.3f, mean = 0.1f, c = 0.05f;
        var accumulated = new float[n];
        SpatialVector.BatchNormGrad(a, g, b, x, mean, c, accumulated);
        var inPlace = (float[])g.Clone();
        SpatialVector.BatchNormGradInPlace(a, inPlace, b, x, mean, c);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(accumulated[i], inPlace[i]); // bit for bit: the same expression, without the + 0
            double exact = a * (double)g[i] + b * ((double)x[i] - mean) + c;
            Assert.True(Math.Abs(exact - inPlace[i]) <= 1e-6 * (1 + Math.Abs(exact)), $"element {i}: {inPlace[i]} vs {exact}"); // float rounding
        }
    }

    [Fact]
    public void In_place_gradient_rejects_a_short_gradient()
    {
        var ex = Assert.Throws<ArgumentException>(() => SpatialVector.BatchNormGradInPlace(1, new float[3], 0, new float[4], 0, 0));
        Assert.Contains("BatchNormGradInPlace", ex.Message);
    }
}

using Shrink.Kernels;

namespace Shrink.Tests.Kernels;

public class AffineClampTests
{
    public static TheoryData<int> Lengths => [0, 1, 7, 8, 9, 15, 16, 17, 33, 257, 784];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Affine_clamp_is_affine_then_the_clamp_bit_for_bit(int n)
    {
        float[] special = [float.NaN, -0f, 0f, -1.5f, 2.25f, 1e-30f, -3f];
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = special[i % special.Length] * (1 + i / 100f);
        foreach (var (a, b, lo, hi) in new[] { (0.5f, 0f, 0f, float.PositiveInfinity), (-2f, 0.25f, 0f, 6f), (0f, -0f, -1f, 1f) })
        {
            var separate = new float[n];
            SpatialVector.Affine(x, a, b, separate);
            for (int i = 0; i < n; i++) separate[i] = MathF.Min(MathF.Max(separate[i], lo), hi);
            var fused = new float[n];
            SpatialVector.AffineClamp(x, a, b, lo, hi, fused);
            for (int i = 0; i < n; i++)
                Assert.True(BitConverter.SingleToInt32Bits(separate[i]) == BitConverter.SingleToInt32Bits(fused[i]) || (float.IsNaN(separate[i]) && float.IsNaN(fused[i])),
                    $"element {i}: {fused[i]} vs {separate[i]}");
        }
        Assert.Throws<ArgumentException>(() => SpatialVector.AffineClamp(new float[4], 1, 0, 0, 1, new float[3]));
    }
}

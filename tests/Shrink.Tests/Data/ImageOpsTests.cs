using Shrink.Data;

namespace Shrink.Tests.Data;

public class ImageOpsTests
{
    private static float[] Ramp(int n) => Enumerable.Range(0, n).Select(i => i * 0.5f + 1).ToArray();

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 4, 5)]
    [InlineData(2, 7, 8)]
    public void Flip_twice_is_identity(int c, int h, int w)
    {
        var x = Ramp(c * h * w);
        var once = new float[x.Length];
        var twice = new float[x.Length];
        ImageOps.FlipHorizontal(x, once, c, h, w);
        ImageOps.FlipHorizontal(once, twice, c, h, w);
        Assert.Equal(x, twice);
        Assert.Equal(x[w - 1], once[0]);
    }

    [Fact]
    public void Shift_moves_content_and_zero_fills()
    {
        const int c = 2, h = 4, w = 5;
        var x = Ramp(c * h * w);
        var y = new float[x.Length];
        ImageOps.Shift(x, y, c, h, w, dy: 1, dx: -2);
        for (int ch = 0; ch < c; ch++)
            for (int r = 0; r < h; r++)
                for (int col = 0; col < w; col++)
                {
                    int sr = r + 1, sc = col - 2;
                    float expected = sr < h && sc >= 0 ? x[(ch * h + sr) * w + sc] : 0f;
                    Assert.Equal(expected, y[(ch * h + r) * w + col]);
                }
        ImageOps.Shift(x, y, c, h, w, 0, 0);
        Assert.Equal(x, y);
        ImageOps.Shift(x, y, c, h, w, 0, 9);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Resized_crop_of_the_whole_image_is_identity_and_of_a_constant_stays_constant()
    {
        const int c = 3, h = 9, w = 7;
        var x = Ramp(c * h * w);
        var y = new float[x.Length];
        ImageOps.ResizedCrop(x, y, c, h, w, 0, 0, h, w);
        Assert.Equal(x, y);

        var k = Enumerable.Repeat(0.7f, x.Length).ToArray();
        ImageOps.ResizedCrop(k, y, c, h, w, 2, 1, 5, 4);
        Assert.All(y, v => Assert.Equal(0.7f, v, 6));

        // A horizontal ramp stays monotone and within the crop's range.
        var ramp = new float[h * w];
        for (int r = 0; r < h; r++) for (int col = 0; col < w; col++) ramp[r * w + col] = col;
        var out1 = new float[h * w];
        ImageOps.ResizedCrop(ramp, out1, 1, h, w, 1, 2, 6, 4);
        for (int r = 0; r < h; r++)
            for (int col = 1; col < w; col++) Assert.True(out1[r * w + col] >= out1[r * w + col - 1]);
        Assert.All(out1, v => Assert.InRange(v, 2f, 5f));
        Assert.Throws<ArgumentException>(() => ImageOps.ResizedCrop(x, y, c, h, w, 5, 0, 5, 7));
    }
}

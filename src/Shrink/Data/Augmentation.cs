namespace Shrink.Data;

/// <summary>
/// Per-sample training augmentation, applied to each image in its float form before normalisation, in this
/// order: random-resized crop, random crop with zero padding, horizontal flip. Each step is optional. The random
/// choices for a sample depend only on (loader seed, epoch, position in the epoch), so a seed reproduces them.
/// </summary>
public sealed record Augmentation
{
    /// <summary>Pad each side with this many zero pixels, then crop back to H×W at a random offset (0: off).</summary>
    public int CropPadding { get; init; }

    /// <summary>Crop a random region of <see cref="MinCropArea"/>–100% of the area (aspect 3/4–4/3), resize it back bilinearly.</summary>
    public bool RandomResizedCrop { get; init; }

    /// <summary>Smallest area fraction of a random-resized crop (default 0.8).</summary>
    public double MinCropArea { get; init; } = 0.8;

    /// <summary>Mirror left–right with probability ½.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>The usual CIFAR recipe: 4-pixel padded crop and horizontal flip.</summary>
    public static Augmentation Cifar { get; } = new() { CropPadding = 4, HorizontalFlip = true };

    public bool IsEnabled => CropPadding > 0 || RandomResizedCrop || HorizontalFlip;

    internal void Validate()
    {
        if (CropPadding < 0) throw new ArgumentOutOfRangeException(nameof(CropPadding), CropPadding, "Crop padding must be ≥ 0.");
        if (!(MinCropArea > 0 && MinCropArea <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinCropArea), MinCropArea, "The minimum crop area must lie in (0, 1].");
    }

    /// <summary>Augments <paramref name="image"/> (CHW) in place; <paramref name="scratch"/> is at least as long.</summary>
    internal void Apply(Span<float> image, Span<float> scratch, int c, int h, int w, ref SeededRandom rng)
    {
        var tmp = scratch[..image.Length];
        if (RandomResizedCrop)
        {
            double area = h * w * (MinCropArea + (1 - MinCropArea) * rng.NextDouble());
            double logRatio = Math.Log(3.0 / 4) + (Math.Log(4.0 / 3) - Math.Log(3.0 / 4)) * rng.NextDouble();
            double ratio = Math.Exp(logRatio);
            int cw = Math.Clamp((int)Math.Round(Math.Sqrt(area * ratio)), 1, w);
            int ch = Math.Clamp((int)Math.Round(Math.Sqrt(area / ratio)), 1, h);
            int top = rng.Next(h - ch + 1), left = rng.Next(w - cw + 1);
            ImageOps.ResizedCrop(image, tmp, c, h, w, top, left, ch, cw);
            tmp.CopyTo(image);
        }
        if (CropPadding > 0)
        {
            int dy = rng.NextInclusive(-CropPadding, CropPadding), dx = rng.NextInclusive(-CropPadding, CropPadding);
            ImageOps.Shift(image, tmp, c, h, w, dy, dx);
            tmp.CopyTo(image);
        }
        if (HorizontalFlip && rng.NextBool())
        {
            ImageOps.FlipHorizontal(image, tmp, c, h, w);
            tmp.CopyTo(image);
        }
    }
}

/// <summary>Geometric image kernels over CHW float images (source and destination must not overlap).</summary>
public static class ImageOps
{
    /// <summary>dst(y, x) = src(y, w−1−x) in every channel.</summary>
    public static void FlipHorizontal(ReadOnlySpan<float> src, Span<float> dst, int c, int h, int w)
    {
        for (int row = 0; row < c * h; row++)
        {
            var s = src.Slice(row * w, w);
            var d = dst.Slice(row * w, w);
            for (int x = 0; x < w; x++) d[x] = s[w - 1 - x];
        }
    }

    /// <summary>
    /// dst(y, x) = src(y+dy, x+dx), 0 where that falls outside: a crop of the zero-padded image at offset
    /// (padding+dy, padding+dx).
    /// </summary>
    public static void Shift(ReadOnlySpan<float> src, Span<float> dst, int c, int h, int w, int dy, int dx)
    {
        dst[..(c * h * w)].Clear();
        int x0 = Math.Max(0, -dx), x1 = Math.Min(w, w - dx);
        if (x1 <= x0) return;
        for (int ch = 0; ch < c; ch++)
            for (int y = Math.Max(0, -dy); y < Math.Min(h, h - dy); y++)
                src.Slice((ch * h + y + dy) * w + x0 + dx, x1 - x0).CopyTo(dst.Slice((ch * h + y) * w + x0, x1 - x0));
    }

    /// <summary>
    /// Crops the cropH×cropW region at (top, left) and resizes it to h×w bilinearly (half-pixel centres,
    /// edges clamped — PyTorch's align_corners=False without antialiasing).
    /// </summary>
    public static void ResizedCrop(ReadOnlySpan<float> src, Span<float> dst, int c, int h, int w, int top, int left, int cropH, int cropW)
    {
        if (top < 0 || left < 0 || cropH < 1 || cropW < 1 || top + cropH > h || left + cropW > w)
            throw new ArgumentException($"Crop {cropH}x{cropW} at ({top},{left}) does not fit a {h}x{w} image.");
        Span<int> xa = w <= 1024 ? stackalloc int[w] : new int[w];
        Span<int> xb = w <= 1024 ? stackalloc int[w] : new int[w];
        Span<float> xf = w <= 1024 ? stackalloc float[w] : new float[w];
        Coordinates(w, cropW, left, xa, xb, xf);
        Span<int> ya = h <= 1024 ? stackalloc int[h] : new int[h];
        Span<int> yb = h <= 1024 ? stackalloc int[h] : new int[h];
        Span<float> yf = h <= 1024 ? stackalloc float[h] : new float[h];
        Coordinates(h, cropH, top, ya, yb, yf);
        for (int ch = 0; ch < c; ch++)
        {
            var plane = src.Slice(ch * h * w, h * w);
            var outPlane = dst.Slice(ch * h * w, h * w);
            for (int y = 0; y < h; y++)
            {
                var r0 = plane.Slice(ya[y] * w, w);
                var r1 = plane.Slice(yb[y] * w, w);
                float fy = yf[y];
                var o = outPlane.Slice(y * w, w);
                for (int x = 0; x < w; x++)
                {
                    float top0 = r0[xa[x]] + (r0[xb[x]] - r0[xa[x]]) * xf[x];
                    float bot0 = r1[xa[x]] + (r1[xb[x]] - r1[xa[x]]) * xf[x];
                    o[x] = top0 + (bot0 - top0) * fy;
                }
            }
        }
    }

    private static void Coordinates(int outSize, int cropSize, int offset, Span<int> a, Span<int> b, Span<float> f)
    {
        double scale = (double)cropSize / outSize;
        for (int i = 0; i < outSize; i++)
        {
            double s = Math.Max(0, (i + 0.5) * scale - 0.5);
            int i0 = Math.Min((int)s, cropSize - 1);
            int i1 = Math.Min(i0 + 1, cropSize - 1);
            a[i] = offset + i0;
            b[i] = offset + i1;
            f[i] = (float)(s - i0);
        }
    }
}

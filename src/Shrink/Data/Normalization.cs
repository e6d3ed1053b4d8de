using System.Globalization;
using Shrink.Graph;

namespace Shrink.Data;

/// <summary>
/// Per-channel z-normalisation, <c>x' = (x - Mean[c]) / Std[c]</c>, applied to images in the float form a
/// <see cref="Dataset"/> yields (uint8 pixels already divided by 255). Computed from the training split only
/// (<see cref="Compute"/>) and carried with a model so that inference normalises the same way.
/// </summary>
public sealed record Normalization
{
    public Normalization(float[] mean, float[] std)
    {
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalization needs one mean and one std per channel (got {mean.Length} and {std.Length}).");
        for (int c = 0; c < std.Length; c++)
        {
            if (!float.IsFinite(mean[c]) || !float.IsFinite(std[c]) || std[c] <= 0)
                throw new ArgumentException($"Normalization channel {c}: mean {mean[c]} and std {std[c]} must be finite with std > 0.");
        }
        Mean = (float[])mean.Clone();
        Std = (float[])std.Clone();
    }

    public float[] Mean { get; }
    public float[] Std { get; }
    public int Channels => Mean.Length;

    /// <summary>No change: mean 0, std 1 for every channel.</summary>
    public static Normalization Identity(int channels) =>
        new(new float[channels], Enumerable.Repeat(1f, channels).ToArray());

    /// <summary>
    /// Per-channel mean and (population) standard deviation over every pixel of <paramref name="data"/> — pass the
    /// training split, never validation or test. A constant channel gets std 1.
    /// </summary>
    public static Normalization Compute(Dataset data)
    {
        if (data.Count == 0) throw new ShrinkException($"Cannot compute normalisation statistics of the empty data set '{data.Name}'.");
        int c = data.Channels, hw = data.Height * data.Width;
        var sum = new double[c];
        var sumSq = new double[c];
        if (data.IsUInt8)
        {
            // Exact and fast: a 256-bin histogram per channel.
            var hist = new long[c * 256];
            for (int i = 0; i < data.Count; i++)
            {
                var img = data.RawBytes(i);
                for (int ch = 0; ch < c; ch++)
                {
                    var plane = img.Slice(ch * hw, hw);
                    var h = hist.AsSpan(ch * 256, 256);
                    foreach (byte b in plane) h[b]++;
                }
            }
            for (int ch = 0; ch < c; ch++)
            {
                for (int v = 0; v < 256; v++)
                {
                    double x = v / 255.0;
                    sum[ch] += hist[ch * 256 + v] * x;
                    sumSq[ch] += hist[ch * 256 + v] * x * x;
                }
            }
        }
        else
        {
            for (int i = 0; i < data.Count; i++)
            {
                var img = data.RawFloats(i);
                for (int ch = 0; ch < c; ch++)
                {
                    double s = 0, s2 = 0;
                    foreach (float x in img.Slice(ch * hw, hw)) { s += x; s2 += (double)x * x; }
                    sum[ch] += s;
                    sumSq[ch] += s2;
                }
            }
        }
        double n = (double)data.Count * hw;
        var mean = new float[c];
        var std = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double m = sum[ch] / n;
            double variance = Math.Max(0, sumSq[ch] / n - m * m);
            double s = Math.Sqrt(variance);
            mean[ch] = (float)m;
            std[ch] = s > 1e-12 && double.IsFinite(s) ? (float)s : 1f;
        }
        if (!mean.All(float.IsFinite))
            throw new ShrinkException($"Data set '{data.Name}' holds NaN or infinite pixels; its normalisation statistics are undefined.");
        return new Normalization(mean, std);
    }

    /// <summary>Normalises one CHW image in place.</summary>
    public void Apply(Span<float> image, int channels)
    {
        if (channels != Channels)
            throw new ArgumentException($"Normalization for {Channels} channels applied to an image of {channels}.", nameof(channels));
        int plane = image.Length / channels;
        for (int ch = 0; ch < channels; ch++)
        {
            var p = image.Slice(ch * plane, plane);
            float scale = 1f / Std[ch];
            float shift = -Mean[ch] * scale;
            TensorPrimitives.Multiply(p, scale, p);
            TensorPrimitives.Add(p, shift, p);
        }
    }

    public bool Equals(Normalization? other) =>
        other is not null && Mean.AsSpan().SequenceEqual(other.Mean) && Std.AsSpan().SequenceEqual(other.Std);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (float m in Mean) h.Add(m);
        foreach (float s in Std) h.Add(s);
        return h.ToHashCode();
    }

    public override string ToString() =>
        $"Normalization(mean=[{string.Join(", ", Mean.Select(m => m.ToString("G6", CultureInfo.InvariantCulture)))}], std=[{string.Join(", ", Std.Select(s => s.ToString("G6", CultureInfo.InvariantCulture)))}])";
}

namespace Shrink.Tensors;

/// <summary>Seeded weight initializers (PyTorch's definitions). All draw from the caller's <see cref="Random"/>.</summary>
public static class Init
{
    public static void Uniform(Tensor t, float low, float high, Random rng)
    {
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = low + (high - low) * (float)rng.NextDouble();
    }

    public static void Normal(Tensor t, float mean, float std, Random rng)
    {
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = mean + std * NextGaussian(rng);
    }

    /// <summary>He/Kaiming normal, fan-in mode, gain sqrt(2) (ReLU).</summary>
    public static void KaimingNormal(Tensor t, int fanIn, Random rng) => Normal(t, 0, MathF.Sqrt(2f / fanIn), rng);

    /// <summary>He/Kaiming uniform with a = sqrt(5): PyTorch's default for Conv2d and Linear weights.</summary>
    public static void KaimingUniformDefault(Tensor t, int fanIn, Random rng)
    {
        float bound = 1f / MathF.Sqrt(fanIn);
        Uniform(t, -bound, bound, rng);
    }

    /// <summary>Glorot/Xavier uniform.</summary>
    public static void XavierUniform(Tensor t, int fanIn, int fanOut, Random rng)
    {
        float bound = MathF.Sqrt(6f / (fanIn + fanOut));
        Uniform(t, -bound, bound, rng);
    }

    /// <summary>Glorot/Xavier normal.</summary>
    public static void XavierNormal(Tensor t, int fanIn, int fanOut, Random rng) =>
        Normal(t, 0, MathF.Sqrt(2f / (fanIn + fanOut)), rng);

    /// <summary>Standard normal sample by Box–Muller.</summary>
    public static float NextGaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}

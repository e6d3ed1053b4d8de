namespace Shrink.Conductor;

/// <summary>
/// The accuracy drop (percentage points) of a model against the original on the same images, and the standard error of
/// that paired difference. Per image d = (original right) − (model right) ∈ {−1, 0, 1}; the drop is the mean of d and its
/// standard error √(s²/n), s² the sample variance of d. Only images on which the two disagree contribute to it, so it is
/// much smaller than the error of either accuracy on its own (≈ 100·√(disagreement rate / n)).
/// </summary>
public readonly record struct PairedDrop(double Drop, double StandardError)
{
    public static PairedDrop Of(ReadOnlySpan<bool> original, ReadOnlySpan<bool> model)
    {
        if (original.Length != model.Length)
            throw new ArgumentException($"Paired drop: {original.Length} verdicts of the original against {model.Length} of the model.", nameof(model));
        int n = original.Length, lost = 0, gained = 0;
        for (int i = 0; i < n; i++)
        {
            if (original[i] && !model[i]) lost++;
            else if (!original[i] && model[i]) gained++;
        }
        if (n == 0) return new(0, 0);
        double mean = (double)(lost - gained) / n;
        double variance = n < 2 ? 0 : ((lost + gained) - n * mean * mean) / (n - 1);
        return new(100 * mean, 100 * Math.Sqrt(Math.Max(0, variance) / n));
    }
}

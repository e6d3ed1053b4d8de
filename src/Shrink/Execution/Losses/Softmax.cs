namespace Shrink.Execution.Losses;

/// <summary>Numerically stable row softmax / log-softmax in double, shared by the classification losses.</summary>
internal static class Softmax
{
    /// <summary>
    /// Writes softmax(row / temperature) into <paramref name="probs"/> and returns log Σ exp(row/T − max), so that
    /// log p_c = row_c/T − max − that value, where max is returned in <paramref name="max"/>.
    /// </summary>
    public static double Row(ReadOnlySpan<float> row, double temperature, Span<double> probs, out double max)
    {
        double invT = 1.0 / temperature;
        max = double.NegativeInfinity;
        foreach (float v in row) max = Math.Max(max, v * invT);
        double sum = 0;
        for (int c = 0; c < row.Length; c++)
        {
            double e = Math.Exp(row[c] * invT - max);
            probs[c] = e;
            sum += e;
        }
        double inv = 1.0 / sum;
        for (int c = 0; c < row.Length; c++) probs[c] *= inv;
        return Math.Log(sum);
    }
}

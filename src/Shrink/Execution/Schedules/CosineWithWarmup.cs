namespace Shrink.Execution.Schedules;

/// <summary>
/// Linear warm-up from 0 to <see cref="BaseLr"/> over <see cref="WarmupSteps"/> steps (step s &lt; warmup gets
/// baseLr·s/warmup), then a half cosine from baseLr down to <see cref="MinLr"/> at <see cref="TotalSteps"/>;
/// minLr after that. The same curve as Hugging Face's get_cosine_schedule_with_warmup when minLr is 0.
/// </summary>
public sealed class CosineWithWarmup : LrSchedule
{
    public CosineWithWarmup(double baseLr, int warmupSteps, int totalSteps, double minLr = 0)
    {
        CheckRate(baseLr, nameof(baseLr));
        CheckRate(minLr, nameof(minLr));
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (totalSteps <= warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"Total steps must exceed the {warmupSteps} warm-up steps.");
        if (minLr > baseLr)
            throw new ArgumentOutOfRangeException(nameof(minLr), minLr, $"The final rate must not exceed the base rate {baseLr}.");
        BaseLr = baseLr;
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
        MinLr = minLr;
    }

    public double BaseLr { get; }
    public int WarmupSteps { get; }
    public int TotalSteps { get; }
    public double MinLr { get; }

    protected override double Compute(int step)
    {
        if (step < WarmupSteps) return BaseLr * step / WarmupSteps;
        if (step >= TotalSteps) return MinLr;
        double progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return MinLr + (BaseLr - MinLr) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    public override string ToString() => $"cosine {BaseLr}→{MinLr} over {TotalSteps}, warm-up {WarmupSteps}";
}

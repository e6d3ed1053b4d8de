namespace Shrink.Execution.Schedules;

/// <summary>
/// torch.optim.lr_scheduler.StepLR stepped once per optimizer step: baseLr · gamma^⌊step / stepSize⌋
/// (computed by repeated multiplication, as PyTorch's chained form does).
/// </summary>
public sealed class StepLr : LrSchedule
{
    public StepLr(double baseLr, int stepSize, double gamma)
    {
        CheckRate(baseLr, nameof(baseLr));
        ArgumentOutOfRangeException.ThrowIfLessThan(stepSize, 1);
        if (!(gamma >= 0) || double.IsInfinity(gamma))
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "StepLr gamma must be finite and non-negative.");
        BaseLr = baseLr;
        StepSize = stepSize;
        Gamma = gamma;
    }

    public double BaseLr { get; }
    public int StepSize { get; }
    public double Gamma { get; }

    protected override double Compute(int step)
    {
        double lr = BaseLr;
        for (int k = step / StepSize; k > 0 && lr != 0; k--) lr *= Gamma;
        return lr;
    }

    public override string ToString() => $"step {BaseLr} ×{Gamma} every {StepSize}";
}

namespace Shrink.Execution.Schedules;

/// <summary>
/// The 1cycle policy (Smith &amp; Topin) as torch.optim.lr_scheduler.OneCycleLR with anneal_strategy='cos' and
/// three_phase=False: cosine from maxLr/divFactor up to maxLr until step pctStart·total − 1, then cosine down to
/// maxLr/divFactor/finalDivFactor at step total − 1. Learning rates only (no momentum cycling). Steps past
/// total − 1 keep the final rate (PyTorch raises there instead).
/// </summary>
public sealed class OneCycle : LrSchedule
{
    public OneCycle(double maxLr, int totalSteps, double pctStart = 0.3, double divFactor = 25, double finalDivFactor = 1e4)
    {
        CheckRate(maxLr, nameof(maxLr));
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 2);
        if (!(pctStart > 0 && pctStart < 1))
            throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "OneCycle pctStart must be in (0, 1).");
        if (!(divFactor > 0) || double.IsInfinity(divFactor))
            throw new ArgumentOutOfRangeException(nameof(divFactor), divFactor, "OneCycle divFactor must be positive and finite.");
        if (!(finalDivFactor > 0) || double.IsInfinity(finalDivFactor))
            throw new ArgumentOutOfRangeException(nameof(finalDivFactor), finalDivFactor, "OneCycle finalDivFactor must be positive and finite.");
        double peak = pctStart * totalSteps - 1;
        if (!(peak > 0 && peak < totalSteps - 1))
            throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart,
                $"OneCycle: pctStart·totalSteps − 1 = {peak} leaves an empty warm-up or annealing phase for {totalSteps} steps.");
        MaxLr = maxLr;
        TotalSteps = totalSteps;
        PctStart = pctStart;
        InitialLr = maxLr / divFactor;
        FinalLr = InitialLr / finalDivFactor;
        _peakStep = peak;
    }

    private readonly double _peakStep;

    public double MaxLr { get; }
    public int TotalSteps { get; }
    public double PctStart { get; }
    /// <summary>The rate at step 0: maxLr / divFactor.</summary>
    public double InitialLr { get; }
    /// <summary>The rate at the last step: initialLr / finalDivFactor.</summary>
    public double FinalLr { get; }

    protected override double Compute(int step)
    {
        if (step >= TotalSteps - 1) return FinalLr;
        if (step <= _peakStep) return Cos(InitialLr, MaxLr, step / _peakStep);
        return Cos(MaxLr, FinalLr, (step - _peakStep) / (TotalSteps - 1 - _peakStep));
    }

    private static double Cos(double start, double end, double pct) => end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1);

    public override string ToString() => $"one-cycle max {MaxLr} over {TotalSteps}";
}

namespace Shrink.Execution.Schedules;

/// <summary>
/// A learning rate as a function of the number of optimizer steps done so far (0 for the first step).
/// Schedules are pure: asking twice gives the same answer, so resuming needs only the step count.
/// </summary>
public abstract class LrSchedule
{
    /// <summary>The learning rate for the optimizer step that follows <paramref name="step"/> completed steps.</summary>
    public float LearningRate(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return (float)Compute(step);
    }

    /// <summary>The rate in double for a validated step ≥ 0.</summary>
    protected abstract double Compute(int step);

    protected static void CheckRate(double lr, string name)
    {
        if (!(lr >= 0) || double.IsInfinity(lr))
            throw new ArgumentOutOfRangeException(name, lr, "A learning rate must be finite and non-negative.");
    }
}

/// <summary>The same rate at every step.</summary>
public sealed class ConstantLr : LrSchedule
{
    public ConstantLr(double lr)
    {
        CheckRate(lr, nameof(lr));
        Lr = lr;
    }

    public double Lr { get; }

    protected override double Compute(int step) => Lr;

    public override string ToString() => $"constant {Lr}";
}

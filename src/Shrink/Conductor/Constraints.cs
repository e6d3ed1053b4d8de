using Shrink.Graph;

namespace Shrink.Conductor;

/// <summary>
/// What the optimised model is made smaller in: stored size, MACs per sample, measured batch-1 latency, or size and MACs
/// together (the mean of the two ratios to the original: it keeps taking from whichever is further from its floor, so
/// neither the layers holding the parameters nor those doing the arithmetic are left untouched).
/// </summary>
public enum Objective
{
    Size,
    Macs,
    Latency,
    SizeAndMacs,
}

/// <summary>Thrown before any work when constraints are impossible or contradict each other.</summary>
public sealed class ConstraintException : ShrinkException
{
    public ConstraintException(string message) : base(message) { }
    public ConstraintException() { }
    public ConstraintException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// What the user asks of <c>shrink optimize</c>: the largest accuracy drop allowed (percentage points, judged on the
/// validation split during the search, less a safety margin; the test-split figure is reported), the objective, optional targets (the search
/// stops once one is reached), the level (1 = Stage 1 only, 2 = both stages, 3 = longer annealing and fine-tuning), an
/// optional wall-time budget, the seed, and a dry run (the whole pipeline on a sliver of the work).
/// </summary>
public sealed record Constraints
{
    /// <summary>Largest accuracy drop allowed, in percentage points (1 = one point of top-1 accuracy).</summary>
    public double MaxAccuracyDrop { get; init; } = 1;
    /// <summary>
    /// Standard errors of a model's paired validation drop held back from <see cref="MaxAccuracyDrop"/>: a model counts
    /// as within the drop when drop + margin × its standard error is. The search measures many models on the same
    /// validation images and keeps those that read best there, so without a margin it spends accuracy that is only
    /// noise, and the test split shows it. 0 judges the drop as measured. Custom metrics (no per-image verdicts) get no margin.
    /// </summary>
    public double SafetyMargin { get; init; } = 1;
    public Objective Objective { get; init; } = Objective.Size;
    /// <summary>The objective as <c>--objective</c> spells it.</summary>
    public string ObjectiveName => Objective == Objective.SizeAndMacs ? "size+macs" : Objective.ToString().ToLowerInvariant();
    public double? TargetSizeMb { get; init; }
    public long? TargetMacs { get; init; }
    public double? TargetLatencyMs { get; init; }
    public int Level { get; init; } = 1;
    public TimeSpan? TimeBudget { get; init; }
    public int Seed { get; init; }
    public bool DryRun { get; init; }

    /// <summary>Checks the constraints on their own (no model needed); throws <see cref="ConstraintException"/> naming the culprit.</summary>
    public void Validate()
    {
        if (!double.IsFinite(MaxAccuracyDrop) || MaxAccuracyDrop < 0)
            throw new ConstraintException($"--max-accuracy-drop must be a finite number of percentage points ≥ 0, got {MaxAccuracyDrop}.");
        if (MaxAccuracyDrop >= 100)
            throw new ConstraintException($"--max-accuracy-drop {MaxAccuracyDrop} allows losing all accuracy; give a drop below 100 points (e.g. 1).");
        if (!double.IsFinite(SafetyMargin) || SafetyMargin < 0 || SafetyMargin > 10)
            throw new ConstraintException($"--safety-margin must be a number of standard errors from 0 to 10, got {SafetyMargin}.");
        if (Level is < 1 or > 3) throw new ConstraintException($"--level must be 1, 2 or 3, got {Level}.");
        if (TargetSizeMb is double s && !(s > 0 && double.IsFinite(s))) throw new ConstraintException($"--target-size-mb must be positive, got {s}.");
        if (TargetMacs is long m && m <= 0) throw new ConstraintException($"--target-macs must be positive, got {m}.");
        if (TargetLatencyMs is double l && !(l > 0 && double.IsFinite(l))) throw new ConstraintException($"--target-latency-ms must be positive, got {l}.");
        if (TimeBudget is TimeSpan t && t <= TimeSpan.Zero) throw new ConstraintException($"--time-budget must be positive, got {t}.");
    }

    /// <summary>
    /// Checks the constraints against the original model's metrics: a target the original already meets, with nothing
    /// else asked, leaves nothing to do and is rejected as contradictory.
    /// </summary>
    public void ValidateAgainst(double originalSizeMb, long originalMacs, double originalLatencyMs)
    {
        Validate();
        var met = new List<string>();
        int targets = 0;
        if (TargetSizeMb is double s) { targets++; if (s >= originalSizeMb) met.Add($"--target-size-mb {s} is not below the original's {originalSizeMb:G4} MB"); }
        if (TargetMacs is long m) { targets++; if (m >= originalMacs) met.Add($"--target-macs {m} is not below the original's {originalMacs} MACs"); }
        if (TargetLatencyMs is double l) { targets++; if (l >= originalLatencyMs) met.Add($"--target-latency-ms {l} is not below the original's {originalLatencyMs:G4} ms"); }
        if (targets > 0 && met.Count == targets)
            throw new ConstraintException($"Nothing to optimise: {string.Join("; ", met)}. Lower the target(s), or drop them to just make the model as small as the accuracy allows.");
    }

    /// <summary>
    /// Throws when a size or MAC target lies below the <paramref name="floorSizeMb"/> / <paramref name="floorMacs"/> the
    /// model keeps whatever the search does (every factorisable layer at rank 1, everything else as it is): no run could
    /// meet it, so none starts.
    /// </summary>
    public void ValidateReachable(double floorSizeMb, long floorMacs)
    {
        var unreachable = new List<string>();
        if (TargetSizeMb is double s && s < floorSizeMb) unreachable.Add($"--target-size-mb {s} is below {floorSizeMb:G4} MB");
        if (TargetMacs is long m && m < floorMacs) unreachable.Add($"--target-macs {m} is below {floorMacs:N0} MACs");
        if (unreachable.Count > 0)
            throw new ConstraintException($"Cannot be met: {string.Join("; ", unreachable)} — the least the model keeps, with every factorisable layer at rank 1 " +
                "(the layers that stay as they are — the first conv, grouped convs, the smallest layers — and the batch norms and biases). " +
                "Raise the target, or drop it to make the model as small as the accuracy allows.");
    }

    /// <summary>Whether <paramref name="sizeMb"/>, <paramref name="macs"/> and <paramref name="latencyMs"/> reach every target given (false when none is given).</summary>
    public bool TargetsReached(double sizeMb, long macs, double latencyMs)
    {
        if (TargetSizeMb is null && TargetMacs is null && TargetLatencyMs is null) return false;
        return (TargetSizeMb is not double s || sizeMb <= s) && (TargetMacs is not long m || macs <= m) && (TargetLatencyMs is not double l || latencyMs <= l);
    }
}

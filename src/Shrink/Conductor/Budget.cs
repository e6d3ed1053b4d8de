namespace Shrink.Conductor;

/// <summary>
/// How much work each part of a run may spend. Levels and dry runs differ only here, never in code: level 1 runs Stage 1
/// only; level 2 adds annealing; level 3 anneals longer and fine-tunes longer; a dry run does a sliver of everything.
/// </summary>
public sealed record Budget
{
    /// <summary>Validation images for the sensitivity curves (no training, only that layer factorised).</summary>
    public int SensitivitySamples { get; init; } = 1000;
    /// <summary>Ranks per layer on the sensitivity curve.</summary>
    public int SensitivityPoints { get; init; } = 8;
    /// <summary>Validation images for every constraint check.</summary>
    public int ValidationSamples { get; init; } = 5000;
    public int BatchSize { get; init; } = 64;
    public float LearningRate { get; init; } = 0.01f;
    /// <summary>Fine-tuning steps (knowledge distillation + CE) after each Stage 1 composition.</summary>
    public int Stage1Steps { get; init; } = 300;
    /// <summary>Stage 1 rounds (compose, fine-tune, check, relax) before giving up.</summary>
    public int Stage1Rounds { get; init; } = 4;
    /// <summary>Annealing proposals (screened or measured); 0 skips Stage 2.</summary>
    public int Stage2Steps { get; init; }
    /// <summary>Proposals that may be measured (short fine-tune + validation) among <see cref="Stage2Steps"/>.</summary>
    public int Stage2Measurements { get; init; }
    public int Stage2FineTuneSteps { get; init; } = 100;
    /// <summary>Steps of the final fine-tune of the best Stage 2 state.</summary>
    public int FinalSteps { get; init; } = 600;
    /// <summary>
    /// Rounds of the squeeze after the final fine-tune: each gives a near miss of the search, cheaper than the result (or,
    /// without one, a descent of at most two layers into the unspent allowance), a fine-tune as long as the result's and
    /// keeps it only if it then meets the constraint (0: none).
    /// </summary>
    public int SqueezeRounds { get; init; } = 1;
    /// <summary>Wall time for the whole run; the annealing schedule and stopping follow it when given.</summary>
    public TimeSpan? Time { get; init; }
    public int LatencyRuns { get; init; } = 20;
    /// <summary>Training images for the least-squares re-fit of each new layer's last factor (0: no re-fit).</summary>
    public int RefitSamples { get; init; } = 256;

    /// <summary>The budget of <paramref name="c"/>'s level (and dry run, and time budget).</summary>
    public static Budget For(Constraints c)
    {
        var b = c.Level switch
        {
            1 => new Budget(),
            2 => new Budget { Stage2Steps = 200, Stage2Measurements = 16, SqueezeRounds = 2 },
            _ => new Budget { Stage1Steps = 600, Stage2Steps = 600, Stage2Measurements = 48, Stage2FineTuneSteps = 200, FinalSteps = 2000, SqueezeRounds = 3 },
        };
        if (c.DryRun)
            b = b with
            {
                SensitivitySamples = 256, SensitivityPoints = 2, ValidationSamples = 512, Stage1Steps = 4, Stage1Rounds = 1,
                Stage2Steps = c.Level >= 2 ? 1 : 0, Stage2Measurements = c.Level >= 2 ? 1 : 0, Stage2FineTuneSteps = 3, FinalSteps = 4, SqueezeRounds = 1, LatencyRuns = 3, RefitSamples = 64,
            };
        return b with { Time = c.TimeBudget };
    }
}

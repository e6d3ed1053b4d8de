using Shrink.Data;

namespace Shrink.Conductor;

/// <summary>
/// Simulated annealing over per-layer ladder indices. State = one index per layer; a neighbour moves one layer a notch
/// down (more compression) with probability <see cref="DownBias"/>, else a notch up; acceptance is Metropolis at the
/// temperature of an exponential schedule from <see cref="T0"/> to <see cref="T1"/> over the progress in [0, 1] (the
/// caller ties progress to steps, measurements or the time budget). Every random draw is a pure function of the seed
/// and the step number, so a run resumed at step k draws exactly what the uninterrupted run drew.
/// </summary>
public sealed class Annealer
{
    public Annealer(IReadOnlyList<int> ladderSizes, int seed, double t0 = 0.05, double t1 = 0.001, double downBias = 0.5)
    {
        if (ladderSizes.Count == 0) throw new ArgumentException("Annealing needs at least one layer.", nameof(ladderSizes));
        if (ladderSizes.Any(s => s < 1)) throw new ArgumentException("Every ladder needs at least one rank.", nameof(ladderSizes));
        if (!(t0 > 0 && t1 > 0 && t1 <= t0)) throw new ArgumentOutOfRangeException(nameof(t0), "Temperatures must satisfy 0 < t1 ≤ t0.");
        Sizes = ladderSizes.ToArray();
        Seed = seed;
        T0 = t0;
        T1 = t1;
        DownBias = downBias;
    }

    public IReadOnlyList<int> Sizes { get; }
    public int Seed { get; }
    public double T0 { get; }
    public double T1 { get; }
    public double DownBias { get; }

    public double Temperature(double progress) => T0 * Math.Pow(T1 / T0, Math.Clamp(progress, 0, 1));

    /// <summary>
    /// The neighbour drawn at <paramref name="step"/>: one movable layer a notch down or up (null when nothing can move).
    /// The layer is drawn uniformly, or in proportion to <paramref name="weights"/> when given (one per layer, ≥ 0; e.g.
    /// what a notch of that layer changes in the cost, so that measurements go where they pay).
    /// </summary>
    public int[]? Propose(IReadOnlyList<int> state, int step, IReadOnlyList<double>? weights = null)
    {
        var rng = new SeededRandom(Seed, 0xA22EA1, step);
        var movable = Enumerable.Range(0, Sizes.Count).Where(i => Sizes[i] > 1).ToArray();
        if (movable.Length == 0) return null;
        int layer = movable[rng.Next(movable.Length)];
        if (weights is not null)
        {
            if (weights.Count != Sizes.Count) throw new ArgumentException("One weight per layer.", nameof(weights));
            double total = movable.Sum(i => Math.Max(0, weights[i]));
            if (total > 0 && double.IsFinite(total))
            {
                double u = rng.NextDouble() * total;
                layer = movable[^1];
                foreach (int i in movable)
                {
                    u -= Math.Max(0, weights[i]);
                    if (u < 0)
                    {
                        layer = i;
                        break;
                    }
                }
            }
        }
        int dir = rng.NextDouble() < DownBias ? -1 : 1;
        int to = state[layer] + dir;
        if (to < 0 || to >= Sizes[layer]) to = state[layer] - dir;
        var next = state.ToArray();
        next[layer] = to;
        return next;
    }

    /// <summary>Metropolis: always accept a lower energy; a higher one with probability exp(−ΔE/T) (draw fixed by the step).</summary>
    public bool Accept(double current, double candidate, double temperature, int step)
    {
        if (candidate <= current) return true;
        var rng = new SeededRandom(Seed, 0xACCE97, step);
        return rng.NextDouble() < Math.Exp(-(candidate - current) / temperature);
    }

    /// <summary>
    /// Whether the Metropolis draw of <paramref name="step"/> rejects every candidate whose energy is at least
    /// <paramref name="candidateLowerBound"/>: exp(−ΔE/T) only falls as ΔE grows, so a candidate whose cost alone already
    /// fails the draw fails it whatever its measured accuracy adds — it need not be measured.
    /// </summary>
    public bool RejectsAtLeast(double current, double candidateLowerBound, double temperature, int step) =>
        candidateLowerBound > current && !Accept(current, candidateLowerBound, temperature, step);

    /// <summary>
    /// Temperatures scaled to the moves at hand: <paramref name="notch"/> is the typical energy change of one move (e.g.
    /// the mean cost change of a notch); at the start an uphill move of that size is accepted with probability
    /// <paramref name="startAcceptance"/>, at the end with <paramref name="endAcceptance"/>.
    /// </summary>
    public static (double T0, double T1) Temperatures(double notch, double startAcceptance = 0.3, double endAcceptance = 1e-4)
    {
        if (!(notch > 0) || !double.IsFinite(notch)) throw new ArgumentOutOfRangeException(nameof(notch), "The move size must be positive.");
        if (!(endAcceptance > 0 && endAcceptance <= startAcceptance && startAcceptance < 1))
            throw new ArgumentOutOfRangeException(nameof(startAcceptance), "Acceptances must satisfy 0 < end ≤ start < 1.");
        return (notch / -Math.Log(startAcceptance), notch / -Math.Log(endAcceptance));
    }

    /// <summary>
    /// Plain annealing of <paramref name="energy"/> from <paramref name="start"/> for <paramref name="steps"/> steps
    /// (progress = step / steps); returns the lowest-energy state visited and its energy.
    /// </summary>
    public (int[] State, double Energy) Minimize(IReadOnlyList<int> start, Func<int[], double> energy, int steps)
    {
        var current = start.ToArray();
        double e = energy(current);
        var best = current;
        double bestE = e;
        for (int step = 0; step < steps; step++)
        {
            var next = Propose(current, step);
            if (next is null) break;
            double en = energy(next);
            if (Accept(e, en, Temperature((double)step / steps), step))
            {
                current = next;
                e = en;
                if (e < bestE)
                {
                    best = current;
                    bestE = e;
                }
            }
        }
        return (best, bestE);
    }
}

using Shrink.Conductor;

namespace Shrink.Tests.Conductor;

public class AnnealerTests
{
    /// <summary>A separable bowl plus a coupling term on a 3-layer ladder: the optimum (4, 11, 7) is known.</summary>
    [Fact]
    public void Finds_the_known_optimum_of_a_synthetic_energy()
    {
        int[] target = [4, 11, 7];
        double Energy(int[] s) => s.Select((x, i) => (x - target[i]) * (x - target[i])).Sum() / 50.0
                                  + Math.Abs((s[0] - 4) * (s[2] - 7)) / 100.0;
        var annealer = new Annealer([16, 16, 16], seed: 3, t0: 1, t1: 0.001);
        var (best, e) = annealer.Minimize([15, 0, 15], Energy, steps: 3000);
        Assert.Equal(target, best);
        Assert.Equal(0, e);
    }

    /// <summary>A rugged 1-D energy with a local minimum at 3 and the global one at 17: annealing escapes the trap.</summary>
    [Fact]
    public void Escapes_a_local_minimum()
    {
        double[] landscape = [5, 3, 2, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1.5, 1, 0.5, 0.2, 0, 0.3, 1];
        var annealer = new Annealer([landscape.Length], seed: 1, t0: 3, t1: 0.01);
        var (best, _) = annealer.Minimize([0], s => landscape[s[0]], steps: 4000);
        Assert.Equal(17, best[0]);
    }

    [Fact]
    public void Draws_depend_only_on_seed_and_step()
    {
        var a = new Annealer([10, 10], seed: 7);
        var b = new Annealer([10, 10], seed: 7);
        for (int step = 0; step < 50; step++)
        {
            Assert.Equal(a.Propose([5, 5], step), b.Propose([5, 5], step));
            Assert.Equal(a.Accept(1, 1.01, 0.05, step), b.Accept(1, 1.01, 0.05, step));
        }
        var n = a.Propose([0, 9], 0)!;
        Assert.Equal(1, Math.Abs(n[0] - 0) + Math.Abs(n[1] - 9)); // one layer, one notch, within the ladder
    }

    [Fact]
    public void Rejects_bad_ladders()
    {
        var e = Assert.Throws<ArgumentException>(() => new Annealer([4, 0], seed: 0));
        Assert.Contains("at least one rank", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A lower bound on a candidate's energy that fails the step's draw means every energy above it fails too.</summary>
    [Fact]
    public void Rejecting_a_lower_bound_rejects_every_energy_above_it()
    {
        var a = new Annealer([10], seed: 4);
        int rejectedSomewhere = 0;
        for (int step = 0; step < 200; step++)
        {
            bool reject = a.RejectsAtLeast(current: 1, candidateLowerBound: 1.01, temperature: 0.01, step);
            Assert.Equal(!a.Accept(1, 1.01, 0.01, step), reject);
            if (!reject) continue;
            rejectedSomewhere++;
            foreach (double e in new[] { 1.01, 1.02, 1.5, 3 }) Assert.False(a.Accept(1, e, 0.01, step), $"step {step}, energy {e}");
        }
        Assert.InRange(rejectedSomewhere, 100, 160); // exp(-1) ≈ 37% accepted
        Assert.False(a.RejectsAtLeast(1, 0.99, 0.01, 0)); // downhill is never screened
    }

    [Fact]
    public void Temperatures_follow_the_move_size()
    {
        var (t0, t1) = Annealer.Temperatures(0.005, startAcceptance: 0.3, endAcceptance: 1e-4);
        Assert.Equal(0.3, Math.Exp(-0.005 / t0), 9);
        Assert.Equal(1e-4, Math.Exp(-0.005 / t1), 9);
        var (big0, _) = Annealer.Temperatures(0.05);
        Assert.Equal(10 * t0, big0, 9); // ten times the move, ten times the temperature
        Assert.Throws<ArgumentOutOfRangeException>(() => Annealer.Temperatures(0));
    }

    [Fact]
    public void Weighted_proposals_favour_heavy_layers_and_still_try_every_one()
    {
        var a = new Annealer([10, 10, 10], seed: 2);
        var counts = new int[3];
        for (int step = 0; step < 2000; step++)
        {
            var n = a.Propose([5, 5, 5], step, [8, 1, 1])!;
            counts[Enumerable.Range(0, 3).Single(i => n[i] != 5)]++;
            Assert.Equal(n, a.Propose([5, 5, 5], step, [8, 1, 1])); // still a pure function of seed and step
        }
        Assert.InRange(counts[0], 1450, 1750); // 80% expected
        Assert.True(counts[1] > 100 && counts[2] > 100, $"{counts[1]}, {counts[2]}");
        var uniform = Enumerable.Range(0, 2000).Select(s => a.Propose([5, 5, 5], s)!).Count(n => n[0] != 5);
        Assert.InRange(uniform, 550, 800); // a third without weights
        Assert.Throws<ArgumentException>(() => a.Propose([5, 5, 5], 0, [1, 1]));
    }
}

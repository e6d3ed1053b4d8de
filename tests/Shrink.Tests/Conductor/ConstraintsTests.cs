using Shrink.Conductor;

namespace Shrink.Tests.Conductor;

public class ConstraintsTests
{
    [Theory]
    [InlineData(-1, "--max-accuracy-drop")]
    [InlineData(double.NaN, "--max-accuracy-drop")]
    [InlineData(100, "below 100")]
    public void Rejects_impossible_drops(double drop, string culprit)
    {
        var e = Assert.Throws<ConstraintException>(() => new Constraints { MaxAccuracyDrop = drop }.Validate());
        Assert.Contains(culprit, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_bad_level_and_targets()
    {
        Assert.Contains("--level", Assert.Throws<ConstraintException>(() => new Constraints { Level = 4 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("--target-size-mb", Assert.Throws<ConstraintException>(() => new Constraints { TargetSizeMb = -2 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("--target-macs", Assert.Throws<ConstraintException>(() => new Constraints { TargetMacs = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("--time-budget", Assert.Throws<ConstraintException>(() => new Constraints { TimeBudget = TimeSpan.Zero }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("--safety-margin", Assert.Throws<ConstraintException>(() => new Constraints { SafetyMargin = -0.5 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("--safety-margin", Assert.Throws<ConstraintException>(() => new Constraints { SafetyMargin = double.PositiveInfinity }.Validate()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Target_the_original_already_meets_is_contradictory()
    {
        var c = new Constraints { TargetSizeMb = 5 };
        var e = Assert.Throws<ConstraintException>(() => c.ValidateAgainst(originalSizeMb: 0.25, originalMacs: 400_000, originalLatencyMs: 0.2));
        Assert.Contains("Nothing to optimise", e.Message, StringComparison.Ordinal);
        Assert.Contains("--target-size-mb 5", e.Message, StringComparison.Ordinal);
        // With another target still to reach, it is not contradictory.
        new Constraints { TargetSizeMb = 5, TargetMacs = 100_000 }.ValidateAgainst(0.25, 400_000, 0.2);
        new Constraints().ValidateAgainst(0.25, 400_000, 0.2);
    }

    [Fact]
    public void Target_below_the_floor_is_impossible()
    {
        var e = Assert.Throws<ConstraintException>(() => new Constraints { TargetSizeMb = 0.01, TargetMacs = 1000 }.ValidateReachable(floorSizeMb: 0.02, floorMacs: 500));
        Assert.Contains("--target-size-mb 0.01 is below 0.02 MB", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("--target-macs", e.Message, StringComparison.Ordinal);
        Assert.Contains("--target-macs 400 is below 500 MACs",
            Assert.Throws<ConstraintException>(() => new Constraints { TargetMacs = 400 }.ValidateReachable(0.02, 500)).Message, StringComparison.Ordinal);
        new Constraints { TargetSizeMb = 0.02, TargetMacs = 500 }.ValidateReachable(0.02, 500);
        new Constraints().ValidateReachable(0.02, 500);
    }

    [Fact]
    public void Targets_reached_only_when_all_given_are()
    {
        var c = new Constraints { TargetSizeMb = 1, TargetMacs = 1000 };
        Assert.True(c.TargetsReached(0.5, 900, 99));
        Assert.False(c.TargetsReached(0.5, 1100, 99));
        Assert.False(new Constraints().TargetsReached(0, 0, 0));
    }
}

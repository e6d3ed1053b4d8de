using Shrink.Conductor;

namespace Shrink.Tests.Conductor;

public class Stage1Tests
{
    [Fact]
    public void A_failing_round_is_relaxed_while_that_can_still_beat_the_feasible_one()
    {
        // No round met the constraint yet: always give rank back.
        Assert.True(ConductorRun.WorthRelaxing(null, 0.9));
        Assert.True(ConductorRun.WorthRelaxing(new StateRecord { Accepted = false, CostRatio = 0.2 }, 0.9));
        // A feasible round at 30% of the cost exists: relaxed ranks predicted at 25% are worth measuring, at 35% not.
        var feasible = new StateRecord { Accepted = true, CostRatio = 0.30 };
        Assert.True(ConductorRun.WorthRelaxing(feasible, 0.25));
        Assert.False(ConductorRun.WorthRelaxing(feasible, 0.35));
        Assert.False(ConductorRun.WorthRelaxing(feasible, 0.30));
    }
}

using Shrink.Conductor;

namespace Shrink.Tests.Conductor;

public sealed class ObjectiveTests(SmallLeNet lenet) : IClassFixture<SmallLeNet>, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"shrink-objective-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>size+macs judges a state by the mean of its parameter and MAC ratios to the original.</summary>
    [Fact]
    public void Size_and_macs_costs_the_mean_of_both_ratios()
    {
        var c = new Constraints { MaxAccuracyDrop = 3, Objective = Objective.SizeAndMacs, Level = 1, Seed = 0 };
        var result = Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, c, new OptimizeOptions
        {
            OutputDirectory = _dir, Budget = SmallLeNet.Tiny(stage2Steps: 0) with { Stage1Rounds = 2, SensitivityPoints = 2 },
        });
        var r = result.Report;
        Assert.Empty(r.Unmet);
        double mean = ((double)r.Result.Params / r.Original.Params + (double)r.Result.Macs / r.Original.Macs) / 2;
        Assert.True(mean < 1, "the model got cheaper");
        var best = RunState.Load(_dir).Best!;
        Assert.Equal(mean, best.CostRatio, 9);
        Assert.Equal("size+macs", r.ToJson()["constraints"]!["objective"]!.GetValue<string>());
        Assert.Contains("objective size+macs", r.ToMarkdown(), StringComparison.Ordinal);
    }
}

using System.Text.Json.Nodes;
using Shrink.Conductor;
using Shrink.Data;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Tests.Conductor;

public class PairedDropTests
{
    [Fact]
    public void Is_the_mean_and_standard_error_of_the_per_image_differences()
    {
        // d = [0, 1, 0, -1]: mean 0, sample variance 2/3, standard error sqrt(2/3 / 4).
        var p = PairedDrop.Of([true, true, true, false], [true, false, true, true]);
        Assert.Equal(0, p.Drop, 12);
        Assert.Equal(100 * Math.Sqrt(2.0 / 3 / 4), p.StandardError, 12);

        var rng = new Random(7);
        var original = Enumerable.Range(0, 997).Select(_ => rng.NextDouble() < 0.9).ToArray();
        var model = original.Select(v => rng.NextDouble() < 0.06 ? !v : v).ToArray();
        var d = original.Zip(model, (o, m) => (o ? 1.0 : 0) - (m ? 1.0 : 0)).ToArray();
        double mean = d.Average(), variance = d.Sum(x => (x - mean) * (x - mean)) / (d.Length - 1);
        var q = PairedDrop.Of(original, model);
        Assert.Equal(100 * mean, q.Drop, 9);
        Assert.Equal(100 * Math.Sqrt(variance / d.Length), q.StandardError, 9);
        Assert.True(q.StandardError > 0);
    }

    [Fact]
    public void Identical_verdicts_have_no_error_and_lengths_must_match()
    {
        bool[] v = [true, false, true];
        Assert.Equal(new PairedDrop(0, 0), PairedDrop.Of(v, v));
        Assert.Equal(new PairedDrop(0, 0), PairedDrop.Of([], []));
        Assert.Throws<ArgumentException>(() => PairedDrop.Of(v, [true]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(13)]
    public void Verdicts_survive_the_run_state(int count)
    {
        var v = Enumerable.Range(0, count).Select(i => i % 3 != 1).ToArray();
        Assert.Equal(v, RunState.UnpackVerdicts(RunState.PackVerdicts(v), count));
        Assert.Contains("validation images", Assert.Throws<Shrink.Graph.ShrinkException>(() => RunState.UnpackVerdicts(RunState.PackVerdicts(v), count + 9)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_checkpointed_before_the_margin_resumes_without_one()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"shrink-state-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            new RunState { Version = 1, Constraints = new Constraints { SafetyMargin = 1 } }.Save(dir);
            Assert.Equal(0, RunState.Load(dir).Constraints.SafetyMargin);
            new RunState { Constraints = new Constraints { SafetyMargin = 1.5 } }.Save(dir);
            Assert.Equal(1.5, RunState.Load(dir).Constraints.SafetyMargin);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Evaluation_reports_each_images_verdict_whatever_the_batch()
    {
        var data = DatasetCatalog.Load("fashion-mnist");
        var images = data.Test.Subset(300, seed: 3);
        var norm = data.ComputeNormalization();
        var model = ModelZoo.Create("lenet5", seed: 1);
        var a = new bool[300];
        var b = new bool[300];
        var ra = Evaluation.Evaluate(model, images, norm, batchSize: 7, hits: a);
        var rb = Evaluation.Evaluate(model, images, norm, batchSize: 256, hits: b);
        Assert.Equal(a, b);
        Assert.Equal(ra.Accuracy, a.Count(x => x) / 300.0, 12);
        Assert.Equal(rb.Accuracy, ra.Accuracy, 12);
        Assert.Throws<ArgumentException>(() => Evaluation.Evaluate(model, images, norm, hits: new bool[299]));
    }
}

/// <summary>The safety margin end to end: every verdict counts margin + drop against the allowed drop, and the report says so.</summary>
public sealed class SafetyMarginEndToEndTests(SmallLeNet lenet) : IClassFixture<SmallLeNet>
{
    [Fact]
    public void Every_measured_state_is_judged_with_its_margin()
    {
        var c = new Constraints { MaxAccuracyDrop = 4, SafetyMargin = 1, Level = 2, Seed = 0 };
        var result = Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, c, new OptimizeOptions { Budget = SmallLeNet.Tiny(stage2Steps: 6) });
        var r = result.Report;
        Assert.Empty(r.Unmet);
        Assert.True(r.ValidationMargin > 0, "a factorised LeNet disagrees with the original on some images");
        Assert.True(r.ValidationDrop + r.ValidationMargin <= c.MaxAccuracyDrop + 1e-9, $"drop {r.ValidationDrop:F2} + margin {r.ValidationMargin:F2}");
        Assert.True(r.SizeRatio > 1.2, $"only {r.SizeRatio:F2}x smaller");
        var json = r.ToJson();
        Assert.Equal(1, json["constraints"]!["safety_margin"]!.GetValue<double>());
        Assert.Equal(Math.Round(r.ValidationMargin, 4), json["enhancement"]!["validation_margin"]!.GetValue<double>());
        Assert.Contains("safety margin", r.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_margin_too_wide_for_any_factorisation_is_reported_unmet()
    {
        var c = new Constraints { MaxAccuracyDrop = 2, SafetyMargin = 10, Level = 1, Seed = 0 };
        var budget = SmallLeNet.Tiny(stage2Steps: 0) with { Stage1Rounds = 2, SensitivityPoints = 2 };
        var result = Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, c, new OptimizeOptions { Budget = budget });
        var r = result.Report;
        // Without the margin the same drop would pass: the margin alone fails it.
        Assert.True(r.ValidationDrop <= c.MaxAccuracyDrop, $"drop {r.ValidationDrop:F2}");
        Assert.Single(r.Unmet);
        Assert.Contains("with the safety margin (10 standard errors", r.Unmet[0], StringComparison.Ordinal);
        Assert.False(r.ToJson()["constraints_met"]!.GetValue<bool>());
    }
}

using System.Text.Json.Nodes;
using Shrink.Conductor;
using Shrink.Data;
using Shrink.Kernels;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Tests.Conductor;

/// <summary>A LeNet-5 trained for a few hundred steps on 3,000 Fashion-MNIST images, shared by the end-to-end tests.</summary>
public sealed class SmallLeNet
{
    public SmallLeNet()
    {
        var full = DatasetCatalog.Load("fashion-mnist");
        Data = new DataSplits(full.Train.Subset(3000, seed: 2), full.Test.Subset(1000, seed: 2)) { Name = "fashion-mnist-3k" };
        Model = ModelZoo.Create("lenet5", seed: 0);
        TrainingRun.Fit(Model, Data, new TrainingOptions { Epochs = 6, BatchSize = 64, Seed = 0 });
    }

    public DataSplits Data { get; }
    public Shrink.Graph.Graph Model { get; }

    /// <summary>A small budget: a few seconds per run.</summary>
    public static Budget Tiny(int stage2Steps) => new()
    {
        SensitivitySamples = 300, SensitivityPoints = 3, ValidationSamples = 300, Stage1Steps = 60, Stage1Rounds = 3,
        Stage2Steps = stage2Steps, Stage2Measurements = 3, Stage2FineTuneSteps = 20, FinalSteps = 40, LatencyRuns = 2,
    };
}

public sealed class OptimizeEndToEndTests(SmallLeNet lenet) : IClassFixture<SmallLeNet>, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"shrink-conductor-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Optimize_meets_its_delta_shrinks_and_writes_the_run_directory()
    {
        var c = new Constraints { MaxAccuracyDrop = 2, Level = 2, Seed = 0 };
        var lines = new List<string>();
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "mine.onnx"), "someone else's file"); // the run must leave it alone
        var result = Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, c, new OptimizeOptions
        {
            OutputDirectory = _dir, Budget = SmallLeNet.Tiny(stage2Steps: 8), Progress = new Sink(lines),
        });
        var r = result.Report;
        Assert.Empty(r.Unmet);
        Assert.True(r.ValidationDrop <= c.MaxAccuracyDrop, $"validation drop {r.ValidationDrop:F2}");
        Assert.True(r.SizeRatio > 1.5, $"only {r.SizeRatio:F2}x smaller");
        Assert.True(result.Model.ParameterCount < lenet.Model.ParameterCount);
        Assert.NotNull(r.Stage1);
        Assert.NotNull(r.Stage2);
        Assert.True(r.Stage2!.Params <= r.Stage1!.Params, "Stage 2 never ends larger than Stage 1");
        Assert.Contains(r.Layers, l => l.Layer == "conv1" && !l.Optimized);
        Assert.All(r.Layers.Where(l => l.Optimized), l => Assert.False(string.IsNullOrEmpty(l.Stage1Factorization), $"{l.Layer}: Stage 1 ranks beside the final ones"));
        foreach (string stage in new[] { "setup", "sensitivity", "stage1", "stage2", "final" })
            Assert.True(r.StageSeconds.ContainsKey(stage), $"seconds of {stage}");
        Assert.Empty(r.Notes); // no time budget: nothing cut short
        Assert.Contains(lines, l => l.StartsWith("[stage1]", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("[stage2]", StringComparison.Ordinal));
        // The run's clock on every line, never going back.
        var clocks = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^\[\w+\] (\d+:\d\d:\d\d) ")).ToList();
        Assert.All(clocks, m => Assert.True(m.Success));
        var times = clocks.Select(m => TimeSpan.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(times.Order(), times);

        foreach (string f in new[] { "model.onnx", "report.md", "report.json", "state.json", "original.onnx", "stage1.onnx" })
            Assert.True(File.Exists(Path.Combine(_dir, f)), f);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        Assert.True(File.Exists(Path.Combine(_dir, "mine.onnx")));
        var reloaded = Shrink.Onnx.OnnxModel.Load(Path.Combine(_dir, "model.onnx"));
        Assert.Equal(result.Model.ParameterCount, reloaded.ParameterCount);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "report.json")))!.AsObject();
        foreach (string part in new[] { "original", "stage1", "stage2", "result" })
            foreach (string field in new[] { "accuracy", "size_mb", "macs", "params", "memory_mb", "latency_ms" })
                Assert.True(json[part]?[field] is not null, $"{part}.{field}");
        Assert.True(json["seconds"]!.GetValue<double>() > 0);
        Assert.Contains("| Enhancement |", File.ReadAllText(Path.Combine(_dir, "report.md")), StringComparison.Ordinal);
        Assert.Contains("already holds a run", Assert.Throws<Shrink.Graph.ShrinkException>(() =>
            Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, c, new OptimizeOptions { OutputDirectory = _dir })).Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A time budget far too short for the work: sensitivity analyses one layer (the largest) and freezes the rest, Stage 1
    /// runs one round with its fine-tune cut short, annealing does not start, the final fine-tune is skipped — and the run
    /// still ends cleanly with a smaller model and a report that says what was cut.
    /// </summary>
    [Fact]
    public void A_time_budget_stops_every_stage_cleanly_and_is_reported()
    {
        var c = new Constraints { MaxAccuracyDrop = 2, Level = 2, Seed = 0, TimeBudget = TimeSpan.FromMilliseconds(20) };
        var result = Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, c, new OptimizeOptions { OutputDirectory = _dir, Budget = SmallLeNet.Tiny(stage2Steps: 8) });
        var r = result.Report;
        var state = RunState.Load(_dir);
        Assert.Equal("done", state.Stage);
        var analysed = state.Layers.Where(l => l.Curve.Length > 0).ToList();
        Assert.Equal(["fc1"], analysed.Select(l => l.Name)); // the largest layer first, then time is up
        Assert.Contains(r.Layers, l => !l.Optimized && l.Reason.StartsWith(Composer.NotAnalysed, StringComparison.Ordinal));
        Assert.Single(state.History, h => h.Measured && h.Stage == "stage1");
        Assert.DoesNotContain(state.History, h => h.Stage == "stage2");
        Assert.Contains("fine-tune cut", state.History[0].Note, StringComparison.Ordinal);
        Assert.Contains(r.Notes, n => n.Contains("sensitivity stopped", StringComparison.Ordinal));
        Assert.Contains(r.Notes, n => n.Contains("final fine-tune", StringComparison.Ordinal));
        Assert.True(result.Model.ParameterCount < lenet.Model.ParameterCount, "fc1 factorised");
        Assert.Contains("Note: time budget", File.ReadAllText(Path.Combine(_dir, "report.md")), StringComparison.Ordinal);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "report.json")))!.AsObject();
        Assert.NotEmpty(json["notes"]!.AsArray());
        Assert.Equal(0.02, json["constraints"]!["time_budget_seconds"]!.GetValue<double>(), 6);
    }

    /// <summary>
    /// The squeeze end to end, on a finished run given a near miss: a measured Stage 2 state one notch below the result
    /// that failed by 1 point, with the final fine-tune said to have gained 2. Resumed at the squeeze, the run builds that
    /// state from the result, fine-tunes and measures it, and keeps it exactly when it meets the constraint.
    /// </summary>
    [Fact]
    public void The_squeeze_gives_a_near_miss_a_full_fine_tune_and_keeps_it_only_if_it_meets_the_constraint()
    {
        var c = new Constraints { MaxAccuracyDrop = 2, Level = 1, Seed = 0 };
        var budget = SmallLeNet.Tiny(stage2Steps: 0) with { Stage1Rounds = 1, SqueezeRounds = 1 };
        StateRecord nearMiss = null!;
        string layer = "";
        var first = FinishedRunAtTheSqueeze(c, budget, state =>
        {
            Assert.True(Assert.Single(state.History).Accepted); // one feasible round: nothing for the squeeze to reconsider
            var pick = state.Layers.Where(l => l.Optimize).First(l => l.IndexOf(state.Ranks[l.Name]) > 0);
            layer = pick.Name;
            nearMiss = state.History[0] with
            {
                Stage = "stage2", Step = 7, Ranks = new Dictionary<string, int>(state.Ranks) { [layer] = pick.Ladder[pick.IndexOf(state.Ranks[layer]) - 1] },
                CostRatio = state.Best!.CostRatio - 0.01, Drop = c.MaxAccuracyDrop + 1, Margin = 0, Accepted = false,
            };
            state.History.Add(nearMiss);
            state.FinalGain = 2;
        });

        var result = Shrinker.Resume(_dir, lenet.Data, new OptimizeOptions { Budget = budget });
        var state = RunState.Load(_dir);
        var squeezed = Assert.Single(state.History, h => h.Stage == "squeeze");
        Assert.Equal(StateRecord.Key(nearMiss.Ranks), StateRecord.Key(squeezed.Ranks));
        Assert.Equal(StateRecord.Key(state.History[0].Ranks), squeezed.From);
        Assert.Equal(squeezed.Drop + squeezed.Margin <= c.MaxAccuracyDrop, squeezed.Accepted);
        Assert.Empty(result.Report.Unmet);
        Assert.True(result.Report.StageSeconds.ContainsKey("squeeze"));
        string told = Assert.Single(result.Report.Squeeze);
        Assert.Contains($"{layer} {state.History[0].Ranks[layer]}→{nearMiss.Ranks[layer]}", told, StringComparison.Ordinal);
        Assert.EndsWith(squeezed.Accepted ? "— kept" : "— not kept", told, StringComparison.Ordinal);
        Assert.Contains($"- Squeeze: {told}", File.ReadAllText(Path.Combine(_dir, "report.md")), StringComparison.Ordinal);
        Assert.Equal(told, JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "report.json")))!["squeeze"]![0]!.GetValue<string>());
        if (squeezed.Accepted)
        {
            Assert.Equal(StateRecord.Key(nearMiss.Ranks), StateRecord.Key(state.Ranks));
            Assert.True(result.Model.ParameterCount < first.Model.ParameterCount);
            Assert.Equal(squeezed.Accuracy, result.Report.Result.ValidationAccuracy);
        }
        else
        {
            Assert.Equal(StateRecord.Key(state.History[0].Ranks), StateRecord.Key(state.Ranks));
            Assert.Equal(first.Model.ParameterCount, result.Model.ParameterCount);
        }
    }

    /// <summary>
    /// The squeeze with no near miss and most of the allowed drop unspent (a finished run whose allowance is raised to 5
    /// points): it descends at most two layers from the result, fine-tunes that state in full, and keeps it exactly when it
    /// meets the constraint; a second round, if any, tries a different state.
    /// </summary>
    [Fact]
    public void The_squeeze_spends_unspent_allowance_on_at_most_two_layers()
    {
        var c = new Constraints { MaxAccuracyDrop = 1.5, Level = 1, Seed = 0 };
        var budget = SmallLeNet.Tiny(stage2Steps: 0) with { Stage1Rounds = 1, SqueezeRounds = 2 };
        Dictionary<string, int> result = [];
        FinishedRunAtTheSqueeze(c, budget, state =>
        {
            result = new Dictionary<string, int>(state.Ranks);
            state.Constraints = c with { MaxAccuracyDrop = 5 };
            state.FinalGain = 0;
        });

        var resumed = Shrinker.Resume(_dir, lenet.Data, new OptimizeOptions { Budget = budget });
        var state = RunState.Load(_dir);
        var squeezed = state.History.Where(h => h.Stage == "squeeze").ToList();
        Assert.InRange(squeezed.Count, 1, 2); // a kept first round may leave less than 40% of the allowance for a second
        Assert.Equal(squeezed.Count, squeezed.Select(h => StateRecord.Key(h.Ranks)).Distinct().Count());
        var first = squeezed[0];
        Assert.Equal(StateRecord.Key(result), first.From);
        int moved = first.Ranks.Count(kv => kv.Value != result[kv.Key]);
        Assert.InRange(moved, 1, ConductorRun.MaxSqueezeLayers);
        Assert.All(first.Ranks, kv => Assert.True(kv.Value <= result[kv.Key], $"{kv.Key} went up"));
        Assert.True(first.Measured);
        Assert.Equal(first.Drop + first.Margin <= 5, first.Accepted);
        Assert.StartsWith("spending ", resumed.Report.Squeeze[0], StringComparison.Ordinal);
        var kept = squeezed.LastOrDefault(h => h.Accepted);
        Assert.Equal(StateRecord.Key(kept?.Ranks ?? result), StateRecord.Key(state.Ranks));
    }

    /// <summary>
    /// A run with no squeeze, finished in <see cref="_dir"/>, then <paramref name="edit"/>ed and set back to the start of
    /// the squeeze, to be resumed there.
    /// </summary>
    private OptimizationResult FinishedRunAtTheSqueeze(Constraints c, Budget budget, Action<RunState> edit)
    {
        var run = Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, c, new OptimizeOptions { OutputDirectory = _dir, Budget = budget with { SqueezeRounds = 0 } });
        var state = RunState.Load(_dir);
        Assert.Equal("done", state.Stage);
        edit(state);
        state.Stage = "squeeze";
        state.Step = 0;
        state.Save(_dir);
        return run;
    }

    /// <summary>Interrupted after three checkpointed steps and resumed, a run reaches the same ranks as an uninterrupted one.</summary>
    [Fact]
    public void Resume_after_interruption_reaches_the_same_final_ranks()
    {
        int saved = KernelParallel.MaxThreads;
        KernelParallel.MaxThreads = 1;
        try
        {
            var c = new Constraints { MaxAccuracyDrop = 2, Level = 2, Seed = 5 };
            var budget = SmallLeNet.Tiny(stage2Steps: 5) with { SensitivityPoints = 2, Stage1Steps = 30, Stage2Measurements = 2, FinalSteps = 10 };
            string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
            var whole = Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, c, new OptimizeOptions { OutputDirectory = a, Budget = budget });
            Assert.Throws<OperationCanceledException>(() => Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, c,
                new OptimizeOptions { OutputDirectory = b, Budget = budget, StopAfterSteps = 3 }));
            Assert.NotEqual("done", RunState.Load(b).Stage);
            var resumed = Shrinker.Resume(b, lenet.Data, new OptimizeOptions { Budget = budget });
            Assert.Equal(whole.Ranks, resumed.Ranks);
            var ha = RunState.Load(a).History.Select(h => (h.Stage, h.Step, StateRecord.Key(h.Ranks), h.Accuracy)).ToList();
            var hb = RunState.Load(b).History.Select(h => (h.Stage, h.Step, StateRecord.Key(h.Ranks), h.Accuracy)).ToList();
            Assert.Equal(ha, hb);
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    private sealed class Sink(List<string> lines) : IProgress<ConductorProgress>
    {
        public void Report(ConductorProgress value)
        {
            lock (lines) lines.Add(value.ToString());
        }
    }
}

public sealed class UnmetConstraintTests(SmallLeNet lenet) : IClassFixture<SmallLeNet>
{
    /// <summary>
    /// A custom metric under which every factorised model loses 20 points: Stage 1 cannot meet the drop, and the run
    /// returns its best attempt with a report saying which constraint was not met.
    /// </summary>
    [Fact]
    public void A_constraint_found_impossible_during_the_search_is_reported()
    {
        double Metric(Shrink.Graph.Graph g, Shrink.Data.Dataset d, Shrink.Data.Normalization n) =>
            g.Nodes.Any(x => x.Name.Contains(".svd.", StringComparison.Ordinal) || x.Name.Contains(".tucker.", StringComparison.Ordinal) || x.Name.Contains(".cp.", StringComparison.Ordinal))
                ? 70 : 90;
        var budget = SmallLeNet.Tiny(stage2Steps: 4) with { SensitivityPoints = 2, Stage1Steps = 5, Stage1Rounds = 2, RefitSamples = 0 };
        var result = Shrinker.Optimize(lenet.Model.Clone(), lenet.Data, new Constraints { MaxAccuracyDrop = 1, Level = 2 },
            new OptimizeOptions { Budget = budget, Metric = Metric });
        var r = result.Report;
        Assert.Single(r.Unmet);
        Assert.Contains("accuracy drop ≤ 1 points", r.Unmet[0], StringComparison.Ordinal);
        Assert.Null(r.Stage2); // Stage 2 starts only from a Stage 1 that meets the constraint
        Assert.Equal(90, r.Original.ValidationAccuracy);
        Assert.Equal(70, r.Result.ValidationAccuracy);
        Assert.False(r.ToJson()["constraints_met"]!.GetValue<bool>());
    }
}

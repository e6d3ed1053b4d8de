using Shrink.Compression.LowRank;
using Shrink.Data;
using Shrink.Graph;

namespace Shrink.Conductor;

/// <summary>A line of progress: stage, step, the ranks, the accuracy measured (if any) and the best so far.</summary>
public sealed record ConductorProgress(string Stage, int Step, int Steps, string Ranks, double? Accuracy, double? Drop, double? BestCostRatio, string Message,
    TimeSpan? Elapsed = null)
{
    /// <summary>"[stage] h:mm:ss step k/n message acc … best …x | ranks"; the clock is the run's, resumed sessions included.</summary>
    public override string ToString()
    {
        string clock = Elapsed is TimeSpan e ? FormattableString.Invariant($" {(int)e.TotalHours}:{e.Minutes:00}:{e.Seconds:00}") : "";
        string acc = Accuracy is double a ? $" acc {a:F2}% (drop {Drop:+0.00;-0.00})" : "";
        string best = BestCostRatio is double b ? $" best {1 / Math.Max(1e-12, b):F2}x" : "";
        string steps = Steps > 0 ? $" step {Step + 1}/{Steps}" : "";
        return $"[{Stage}]{clock}{steps} {Message}{acc}{best}{(Ranks.Length > 0 ? $" | {Ranks}" : "")}";
    }
}

/// <summary>Everything about a run that is not a constraint: where it writes, how it reports, hooks for custom metrics and tests.</summary>
public sealed record OptimizeOptions
{
    /// <summary>Run directory: the optimised model, report.md, report.json and the checkpoints. Null keeps everything in memory.</summary>
    public string? OutputDirectory { get; init; }
    public IProgress<ConductorProgress>? Progress { get; init; }
    public CancellationToken Cancel { get; init; }
    /// <summary>
    /// Accuracy in percent of a model on a data set (images z-normalised with the given statistics); null for top-1.
    /// Higher must be better.
    /// </summary>
    public Func<Graph.Graph, Dataset, Normalization, double>? Metric { get; init; }
    /// <summary>Overrides the level's budget (tests, experiments).</summary>
    public Budget? Budget { get; init; }
    /// <summary>Test hook: stop (as if interrupted) once this many stage steps have been checkpointed in this process.</summary>
    public int? StopAfterSteps { get; init; }
    /// <summary>Name of the model and data set for the report (defaults: the graph's and the data set's names).</summary>
    public string? ModelName { get; init; }
    public CpConvOptions? CpOptions { get; init; }
}

/// <summary>The optimised model, its per-layer factorisations and the report.</summary>
public sealed record OptimizationResult(Graph.Graph Model, IReadOnlyDictionary<string, LayerRank> Ranks, OptimizationReport Report);

/// <summary>
/// The C# entry point of <c>shrink optimize</c>:
/// <code>
/// var data = DatasetCatalog.Load("fashion-mnist");
/// var model = OnnxModel.Load("lenet5.onnx");
/// var result = Shrinker.Optimize(model, data, new Constraints { MaxAccuracyDrop = 1, Level = 2 });
/// OnnxModel.Save(result.Model, "lenet5-small.onnx");
/// Console.WriteLine(result.Report.ToMarkdown());
/// </code>
/// </summary>
public static class Shrinker
{
    /// <summary>Optimises <paramref name="model"/> (trained on <paramref name="data"/>) under <paramref name="constraints"/>.</summary>
    public static OptimizationResult Optimize(Graph.Graph model, DataSplits data, Constraints constraints, OptimizeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(constraints);
        constraints.Validate();
        return new ConductorRun(model, data, constraints, options ?? new OptimizeOptions(), null).Execute();
    }

    /// <summary>Continues the run checkpointed in <paramref name="directory"/> from its last step (same data set as it started with).</summary>
    public static OptimizationResult Resume(string directory, DataSplits data, OptimizeOptions? options = null)
    {
        var state = RunState.Load(directory);
        string originalPath = Path.Combine(directory, ConductorRun.OriginalFile);
        if (!File.Exists(originalPath)) throw new ShrinkException($"'{directory}' has a run state but no {ConductorRun.OriginalFile}; the run cannot be resumed.");
        var model = Onnx.OnnxModel.Load(originalPath);
        options = (options ?? new OptimizeOptions()) with { OutputDirectory = directory };
        return new ConductorRun(model, data, state.Constraints, options, state).Execute();
    }
}

using System.CommandLine;
using Shrink.Conductor;
using Shrink.Data;
using Shrink.Graph;

namespace Shrink.Cli.Commands;

/// <summary>
/// <c>shrink optimize</c>: the conductor — sensitivity and the composed list, Stage 1 exploration, Stage 2 annealing —
/// under the user's accuracy drop, with a run directory that can be resumed and a report.
/// </summary>
public static class OptimizeCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = "A zoo name (pretrained for the data set) or an .onnx file" };
        var dataset = new Option<string?>("--dataset", "-d") { Description = "fashion-mnist, mnist, cifar10, cifar100 or a folder" };
        var drop = new Option<double?>("--max-accuracy-drop") { Description = "Largest accuracy drop allowed, in percentage points (validation)" };
        var margin = new Option<double>("--safety-margin")
        {
            Description = "Standard errors of the measured validation drop counted against --max-accuracy-drop (0: the drop as measured)",
            DefaultValueFactory = _ => 1,
        };
        var objective = new Option<string>("--objective") { Description = "size, macs, size+macs (the mean of both ratios) or latency", DefaultValueFactory = _ => "size" };
        var size = new Option<double?>("--target-size-mb") { Description = "Stop once the model is this small (MB)" };
        var macs = new Option<long?>("--target-macs") { Description = "Stop once the model needs this few MACs per sample" };
        var latency = new Option<double?>("--target-latency-ms") { Description = "Stop once batch-1 latency is this low (ms)" };
        var level = new Option<int>("--level") { Description = "1: Stage 1 only; 2: both stages; 3: longer annealing and fine-tuning", DefaultValueFactory = _ => 1 };
        var budget = new Option<string?>("--time-budget") { Description = "Wall time for the run, e.g. 90m, 2h, 1h30m" };
        var outDir = new Option<string?>("--out", "-o") { Description = "Run directory: model.onnx, report.md, report.json, checkpoints" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this directory from its last checkpoint" };
        var dry = new Option<bool>("--dry-run") { Description = "The whole pipeline on a sliver of the work, to check a setup in a minute" };
        var seed = Options.Seed();
        var json = Options.Json();
        var command = new Command("optimize", "Make a trained model smaller under an accuracy constraint (low-rank factorisation, two stages)")
        {
            model, dataset, drop, margin, objective, size, macs, latency, level, budget, outDir, resume, dry, seed, json,
        };
        command.SetAction(r => Run(new Arguments(
            r.GetValue(model), r.GetValue(dataset), r.GetValue(drop), r.GetValue(margin), r.GetValue(objective)!, r.GetValue(size), r.GetValue(macs),
            r.GetValue(latency), r.GetValue(level), r.GetValue(budget), r.GetValue(outDir), r.GetValue(resume), r.GetValue(dry),
            r.GetValue(seed)), new Output(r.GetValue(json))));
        return command;
    }

    public sealed record Arguments(string? Model, string? Dataset, double? MaxAccuracyDrop, double SafetyMargin, string Objective, double? TargetSizeMb,
        long? TargetMacs, double? TargetLatencyMs, int Level, string? TimeBudget, string? Out, string? Resume, bool DryRun, int Seed);

    public static int Run(Arguments a, Output output)
    {
        var progress = new Progress();
        var options = new OptimizeOptions { Progress = progress, Cancel = Options.CancelOnInterrupt() };
        OptimizationResult result;
        if (a.Resume is not null)
        {
            if (a.Out is not null && Path.GetFullPath(a.Out) != Path.GetFullPath(a.Resume))
                throw new ShrinkException("--resume continues the run in its own directory; do not give a different --out.");
            var state = RunState.Load(a.Resume);
            var data = DatasetCatalog.Load(a.Dataset ?? (Directory.Exists(state.DatasetSource) ? state.DatasetSource : state.Dataset));
            output.Line($"Resuming {state.Model} on {data.Name} from {a.Resume} ({state.Stage}, step {state.Step + 1}).");
            result = Shrinker.Resume(a.Resume, data, options with { ModelName = state.Model });
        }
        else
        {
            if (a.Model is null) throw new ShrinkException("--model is required (a zoo name or an .onnx file), unless --resume DIR is given.");
            if (a.Dataset is null) throw new ShrinkException("--dataset is required, unless --resume DIR is given.");
            if (a.MaxAccuracyDrop is null) throw new ShrinkException("--max-accuracy-drop is required: the accuracy you accept to lose, in percentage points (e.g. 1).");
            var constraints = new Constraints
            {
                MaxAccuracyDrop = a.MaxAccuracyDrop.Value,
                SafetyMargin = a.SafetyMargin,
                Objective = a.Objective.ToLowerInvariant() switch
                {
                    "size" => Objective.Size,
                    "macs" => Objective.Macs,
                    "latency" => Objective.Latency,
                    "size+macs" => Objective.SizeAndMacs,
                    _ => throw new ConstraintException($"--objective must be size, macs, size+macs or latency, got '{a.Objective}'."),
                },
                TargetSizeMb = a.TargetSizeMb,
                TargetMacs = a.TargetMacs,
                TargetLatencyMs = a.TargetLatencyMs,
                Level = a.Level,
                TimeBudget = a.TimeBudget is null ? null : Options.ParseDuration(a.TimeBudget, "--time-budget"),
                Seed = a.Seed,
                DryRun = a.DryRun,
            };
            constraints.Validate(); // before loading anything
            var data = DatasetCatalog.Load(a.Dataset);
            var graph = ModelResolver.LoadTrained(a.Model, data.Name);
            string name = ModelResolver.IsFile(a.Model) ? Path.GetFileNameWithoutExtension(a.Model) : a.Model;
            output.Line($"Optimising {name} ({graph.ParameterCount:N0} parameters) on {data.Name}: drop ≤ {constraints.MaxAccuracyDrop} points (safety margin {constraints.SafetyMargin:G3} SE), objective {a.Objective}, level {constraints.Level}{(constraints.DryRun ? ", dry run" : "")}.");
            result = Shrinker.Optimize(graph, data, constraints, options with { OutputDirectory = a.Out, ModelName = name });
        }
        var report = result.Report;
        output.Line();
        output.Text.Write(report.ToMarkdown());
        output.Line();
        var o = report.Result;
        output.Line($"Result: {report.SizeRatio:F2}x smaller, {report.MacsRatio:F2}x fewer MACs, test accuracy {o.TestAccuracy:F2}% ({-report.TestDrop:+0.00;-0.00} points), validation drop {report.ValidationDrop:F2} points, {ProgressPrinter.Format(TimeSpan.FromSeconds(report.Seconds))}.");
        if ((a.Out ?? a.Resume) is { } dir) output.Line($"Wrote {Path.Combine(dir, "model.onnx")}, report.md and report.json.");
        output.Emit(report.ToJson());
        foreach (string unmet in report.Unmet) Console.Error.WriteLine($"shrink: warning: constraint not met: {unmet}.");
        return 0;
    }

    private sealed class Progress : IProgress<ConductorProgress>
    {
        public void Report(ConductorProgress value) => Output.Progress($"optimize {value}");
    }
}

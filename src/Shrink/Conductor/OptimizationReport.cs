using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Shrink.Conductor;

/// <summary>
/// The design's metrics of one model: validation and test top-1 accuracy (percent), size on disk (MB, every stored tensor
/// at its precision), MACs and parameters per sample, memory footprint (parameters + peak activations at batch 1, MB)
/// and measured batch-1 latency (median, ms).
/// </summary>
public sealed record ModelMetrics(double ValidationAccuracy, double TestAccuracy, double SizeMb, long Macs, long Params, double MemoryMb, double LatencyMs)
{
    /// <summary>The contract's fields: accuracy (test), size_mb, macs, params, memory_mb, latency_ms, plus validation_accuracy.</summary>
    public JsonObject ToJson() => new()
    {
        ["accuracy"] = Math.Round(TestAccuracy, 4),
        ["validation_accuracy"] = Math.Round(ValidationAccuracy, 4),
        ["size_mb"] = Math.Round(SizeMb, 6),
        ["macs"] = Macs,
        ["params"] = Params,
        ["memory_mb"] = Math.Round(MemoryMb, 6),
        ["latency_ms"] = Math.Round(LatencyMs, 4),
    };
}

/// <summary>One optimised or frozen layer in the report; <paramref name="Stage1Factorization"/> is what Stage 1 ended with (when Stage 2 ran after it).</summary>
public sealed record LayerReportRow(string Layer, string Kind, bool Optimized, string Factorization, long ParamsBefore, long ParamsAfter, string Reason,
    string? Stage1Factorization = null);

/// <summary>
/// The report of a run, in the shape of the Neutrino paper's tables: rows Original / Stage 1 / Stage 2 / Enhancement
/// (original ÷ result, and the accuracy change in points) × accuracy, size, MACs, parameters, memory, latency; per-layer
/// ranks and methods; time per stage; validation and test accuracies; which constraints were met.
/// </summary>
public sealed record OptimizationReport
{
    public required string Model { get; init; }
    public required string Dataset { get; init; }
    public required Constraints Constraints { get; init; }
    public required ModelMetrics Original { get; init; }
    public ModelMetrics? Stage1 { get; init; }
    public ModelMetrics? Stage2 { get; init; }
    public IReadOnlyList<LayerReportRow> Layers { get; init; } = [];
    public IReadOnlyDictionary<string, double> StageSeconds { get; init; } = new Dictionary<string, double>();
    public double Seconds { get; init; }
    /// <summary>Constraints that could not be met (empty when all were).</summary>
    public IReadOnlyList<string> Unmet { get; init; } = [];
    public int MeasuredStates { get; init; }
    /// <summary>Points the result's validation drop was charged on top of itself (the safety margin, see <see cref="Constraints.SafetyMargin"/>).</summary>
    public double ValidationMargin { get; init; }
    /// <summary>What the run cut short or skipped (e.g. for the time budget).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
    /// <summary>What each round of the squeeze tried after the final fine-tune, and whether it was kept.</summary>
    public IReadOnlyList<string> Squeeze { get; init; } = [];

    /// <summary>The final model's metrics: Stage 2's when it ran, else Stage 1's, else the original's.</summary>
    public ModelMetrics Result => Stage2 ?? Stage1 ?? Original;

    public double SizeRatio => Original.SizeMb / Math.Max(1e-12, Result.SizeMb);
    public double MacsRatio => (double)Original.Macs / Math.Max(1, Result.Macs);
    public double TestDrop => Original.TestAccuracy - Result.TestAccuracy;
    public double ValidationDrop => Original.ValidationAccuracy - Result.ValidationAccuracy;

    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["model"] = Model,
            ["dataset"] = Dataset,
            ["original"] = Original.ToJson(),
        };
        if (Stage1 is not null) o["stage1"] = Stage1.ToJson();
        if (Stage2 is not null) o["stage2"] = Stage2.ToJson();
        o["result"] = Result.ToJson();
        o["enhancement"] = new JsonObject
        {
            ["accuracy_change"] = Math.Round(Result.TestAccuracy - Original.TestAccuracy, 4),
            ["validation_accuracy_change"] = Math.Round(Result.ValidationAccuracy - Original.ValidationAccuracy, 4),
            ["validation_margin"] = Math.Round(ValidationMargin, 4),
            ["size"] = Math.Round(SizeRatio, 4),
            ["macs"] = Math.Round(MacsRatio, 4),
            ["params"] = Math.Round((double)Original.Params / Math.Max(1, Result.Params), 4),
            ["memory"] = Math.Round(Original.MemoryMb / Math.Max(1e-12, Result.MemoryMb), 4),
            ["latency"] = Math.Round(Original.LatencyMs / Math.Max(1e-12, Result.LatencyMs), 4),
        };
        o["constraints"] = new JsonObject
        {
            ["max_accuracy_drop"] = Constraints.MaxAccuracyDrop,
            ["safety_margin"] = Constraints.SafetyMargin,
            ["objective"] = Constraints.ObjectiveName,
            ["target_size_mb"] = Constraints.TargetSizeMb,
            ["target_macs"] = Constraints.TargetMacs,
            ["target_latency_ms"] = Constraints.TargetLatencyMs,
            ["level"] = Constraints.Level,
            ["time_budget_seconds"] = Constraints.TimeBudget?.TotalSeconds,
            ["seed"] = Constraints.Seed,
            ["dry_run"] = Constraints.DryRun,
        };
        o["constraints_met"] = Unmet.Count == 0;
        static JsonArray Strings(IEnumerable<string> items) => new(items.Select(u => (JsonNode?)u).ToArray());
        o["unmet"] = Strings(Unmet);
        o["notes"] = Strings(Notes);
        o["squeeze"] = Strings(Squeeze);
        o["layers"] = new JsonArray(Layers.Select(l => (JsonNode?)new JsonObject
        {
            ["layer"] = l.Layer, ["kind"] = l.Kind, ["optimized"] = l.Optimized, ["factorization"] = l.Factorization,
            ["params_before"] = l.ParamsBefore, ["params_after"] = l.ParamsAfter, ["reason"] = l.Reason,
            ["stage1_factorization"] = l.Stage1Factorization,
        }).ToArray());
        var stages = new JsonObject();
        foreach (var (k, v) in StageSeconds) stages[k] = Math.Round(v, 2);
        o["stage_seconds"] = stages;
        o["measured_states"] = MeasuredStates;
        o["seconds"] = Math.Round(Seconds, 2);
        return o;
    }

    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"# Shrink optimisation report: {Model} on {Dataset}");
        sb.AppendLine();
        var parts = new List<string>
        {
            FormattableString.Invariant($"Constraints: accuracy drop ≤ {Constraints.MaxAccuracyDrop} points (validation{(Constraints.SafetyMargin > 0 ? $", counting {Constraints.SafetyMargin:G3} standard error(s) of the drop against it" : "")})"),
            $"objective {Constraints.ObjectiveName}",
            FormattableString.Invariant($"level {Constraints.Level}"),
        };
        if (Constraints.TargetSizeMb is double s) parts.Add(FormattableString.Invariant($"target size {s} MB"));
        if (Constraints.TargetMacs is long m) parts.Add(FormattableString.Invariant($"target MACs {m}"));
        if (Constraints.TargetLatencyMs is double lat) parts.Add(FormattableString.Invariant($"target latency {lat} ms"));
        if (Constraints.TimeBudget is TimeSpan budget) parts.Add(FormattableString.Invariant($"time budget {budget.TotalSeconds:F0} s"));
        if (Constraints.DryRun) parts.Add("dry run");
        parts.Add(FormattableString.Invariant($"seed {Constraints.Seed}"));
        string constraintsLine = string.Join(", ", parts) + ".";
        sb.AppendLine(constraintsLine);
        sb.AppendLine();
        sb.AppendLine(Unmet.Count == 0 ? "All constraints met." : $"**Not met:** {string.Join("; ", Unmet)}.");
        sb.AppendLine();
        if (ValidationMargin > 0)
        {
            sb.AppendLine(c, $"Validation drop {ValidationDrop:F2} + safety margin {ValidationMargin:F2} = {ValidationDrop + ValidationMargin:F2} points (allowed {Constraints.MaxAccuracyDrop}).");
            sb.AppendLine();
        }
        void Bullets(string label, IReadOnlyList<string> items)
        {
            if (items.Count == 0) return;
            foreach (string n in items) sb.AppendLine(c, $"- {label}: {n}");
            sb.AppendLine();
        }
        Bullets("Note", Notes);
        Bullets("Squeeze", Squeeze);
        sb.AppendLine("| | Accuracy (test, %) | Accuracy (validation, %) | Size (MB) | MACs | Parameters | Memory (MB) | Latency (ms) |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        void Row(string name, ModelMetrics x) => sb.AppendLine(c,
            $"| {name} | {x.TestAccuracy:F2} | {x.ValidationAccuracy:F2} | {x.SizeMb:F4} | {x.Macs:N0} | {x.Params:N0} | {x.MemoryMb:F4} | {x.LatencyMs:F3} |");
        Row("Original", Original);
        if (Stage1 is not null) Row("Stage 1", Stage1);
        if (Stage2 is not null) Row("Stage 2", Stage2);
        var r = Result;
        sb.AppendLine(c, $"| Enhancement | {r.TestAccuracy - Original.TestAccuracy:+0.00;-0.00} | {r.ValidationAccuracy - Original.ValidationAccuracy:+0.00;-0.00} | {SizeRatio:F2}× | {MacsRatio:F2}× | {(double)Original.Params / Math.Max(1, r.Params):F2}× | {Original.MemoryMb / Math.Max(1e-12, r.MemoryMb):F2}× | {Original.LatencyMs / Math.Max(1e-12, r.LatencyMs):F2}× |");
        sb.AppendLine();
        sb.AppendLine("## Layers");
        sb.AppendLine();
        bool both = Layers.Any(l => l.Stage1Factorization is not null);
        sb.AppendLine(both ? "| Layer | Kind | Stage 1 | Factorisation | Parameters before | after | Why |" : "| Layer | Kind | Factorisation | Parameters before | after | Why |");
        sb.AppendLine(both ? "|---|---|---|---|---:|---:|---|" : "|---|---|---|---:|---:|---|");
        foreach (var l in Layers)
        {
            string stage1 = both ? $" {(l.Optimized ? l.Stage1Factorization ?? "" : "frozen")} |" : "";
            sb.AppendLine(c, $"| {l.Layer} | {l.Kind} |{stage1} {(l.Optimized ? l.Factorization : "frozen")} | {l.ParamsBefore:N0} | {l.ParamsAfter:N0} | {l.Reason} |");
        }
        sb.AppendLine();
        sb.AppendLine("## Time");
        sb.AppendLine();
        foreach (var (k, v) in StageSeconds) sb.AppendLine(c, $"- {k}: {v:F1} s");
        sb.AppendLine(c, $"- total: {Seconds:F1} s ({MeasuredStates} states fine-tuned and measured)");
        return sb.ToString();
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Shrink.Profiling;

namespace Shrink.Cli;

/// <summary>
/// Where output goes: human text to stdout, or — with --json — exactly one JSON object to stdout and the human text
/// to stderr. Progress always goes to stderr.
/// </summary>
public sealed class Output(bool json)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public bool Json { get; } = json;

    /// <summary>Human-readable result text.</summary>
    public TextWriter Text => Json ? Console.Error : Console.Out;

    public void Line(string text = "") => Text.WriteLine(text);

    public static void Progress(string text) => Console.Error.WriteLine(text);

    public void Emit(JsonObject result)
    {
        if (Json) Console.Out.WriteLine(result.ToJsonString(Indented));
    }

    /// <summary>The design's standard metrics of a profiled model as JSON fields.</summary>
    public static JsonObject Metrics(ModelProfile p, double? accuracy = null)
    {
        var o = new JsonObject();
        if (accuracy is double a) o["accuracy"] = Math.Round(a, 4);
        o["size_mb"] = Math.Round(p.SizeMb, 6);
        o["macs"] = p.MacsPerSample;
        o["params"] = p.Parameters;
        o["memory_mb"] = Math.Round(p.MemoryMb, 6);
        if (p.LatencyBatch1 is { } l1) o["latency_ms"] = Math.Round(l1.MedianMs, 4);
        return o;
    }
}

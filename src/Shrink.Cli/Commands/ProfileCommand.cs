using System.CommandLine;
using System.Text.Json.Nodes;
using Shrink.Graph;
using Shrink.Kernels;
using Shrink.Profiling;
using Shrink.Tensors;
using Shrink.Zoo;

namespace Shrink.Cli.Commands;

/// <summary>
/// <c>shrink profile</c>: per-layer table (output shape, parameters, MACs, element-wise ops) and totals (parameters,
/// size, MACs, memory footprint at batch N, latency at batch 1 and batch N with median and p90, thread count).
/// </summary>
public static class ProfileCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var dataset = Options.Dataset(required: false);
        var inputShape = new Option<string?>("--input-shape") { Description = "Input shape, e.g. 1x3x224x224 (batch first; the batch is overridden by --batch-size)" };
        var batch = new Option<int?>("--batch-size", "-b") { Description = "Batch N for memory footprint and batch-N latency (default: the --input-shape batch, else 1)" };
        var runs = new Option<int>("--runs") { Description = "Timed runs per latency measurement (0: skip latency)", DefaultValueFactory = _ => 20 };
        var threads = new Option<int?>("--threads") { Description = "Threads for the kernels (default: all cores)" };
        var json = Options.Json();
        var command = new Command("profile", "Parameters, size, MACs, memory and latency of a model, per layer and in total")
            { model, dataset, inputShape, batch, runs, threads, json };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(dataset), r.GetValue(inputShape), r.GetValue(batch), r.GetValue(runs),
            r.GetValue(threads), new Output(r.GetValue(json))));
        return command;
    }

    public static int Run(string model, string? dataset, string? inputShapeText, int? batchSize, int runs, int? threads, Output output)
    {
        if (runs < 0) throw new ShrinkException($"--runs must be 0 or more, got {runs}.");
        if (threads is < 1) throw new ShrinkException($"--threads must be at least 1, got {threads}.");
        if (batchSize is < 1) throw new ShrinkException($"--batch-size must be at least 1, got {batchSize}.");
        Shape? requested = inputShapeText is null ? (Shape?)null : Shape.Parse(inputShapeText);

        var graph = Load(model, dataset, requested);
        Shape? shape = null;
        if (requested is { } r)
        {
            var graphShape = graph.Inputs.Count == 1 ? graph.Inputs[0].Shape : r;
            // "3x224x224" (no batch) for a rank-4 input: the batch comes first.
            shape = r.Rank == graphShape.Rank - 1 ? new Shape([batchSize ?? 1, .. r.ToArray()]) : r;
            if (shape.Value.Rank != graphShape.Rank)
                throw new ShapeMismatchException($"--input-shape {inputShapeText} has {r.Rank} dimensions; the model's input '{graph.Inputs[0].Name}' is {graphShape}.");
        }
        int n = batchSize ?? (shape is { } s && s[0] > 0 ? s[0] : 1);

        int savedThreads = KernelParallel.MaxThreads;
        ModelProfile p;
        try
        {
            if (threads is int t) KernelParallel.MaxThreads = t;
            p = Profiler.Profile(graph, n, shape, latencyRuns: runs);
        }
        finally
        {
            KernelParallel.MaxThreads = savedThreads;
        }

        PrintTable(p, output.Text);
        output.Emit(ToJson(p));
        return 0;
    }

    /// <summary>
    /// A file; a pretrained zoo model for --dataset when one exists; else the bare zoo architecture — built at
    /// --input-shape's channels and size when one is given, so that its dense layers fit.
    /// </summary>
    private static Graph.Graph Load(string model, string? dataset, Shape? inputShape)
    {
        bool bare = !ModelResolver.IsFile(model) && ModelZoo.Contains(model)
                    && (dataset is null || ModelResolver.FindPretrained(model, dataset) is null);
        if (!bare || inputShape is not { Rank: 3 or 4 } s) return ModelResolver.LoadAny(model, dataset);
        var dims = s.ToArray()[^3..];
        if (dims.Any(d => d < 1)) throw new ShrinkException($"--input-shape {s} must give the channels, height and width of a zoo model.");
        return ModelZoo.Create(model, new ZooInput(dims[0], dims[1], dims[2]));
    }

    public static JsonObject ToJson(ModelProfile p)
    {
        var o = Output.Metrics(p);
        o["model"] = p.Model;
        o["input_shape"] = p.InputShape.ToString();
        o["batch_size"] = p.BatchSize;
        o["macs_batch"] = p.Macs;
        o["element_ops"] = p.ElementOps / Math.Max(1, p.BatchSize);
        o["peak_activation_mb"] = Math.Round(p.PeakActivationMb, 6);
        if (p.LatencyBatch1 is { } l1)
        {
            o["latency_bs1_ms"] = Math.Round(l1.MedianMs, 4);
            o["latency_bs1_p90_ms"] = Math.Round(l1.P90Ms, 4);
            o["p90"] = Math.Round(l1.P90Ms, 4);
        }
        if (p.LatencyBatchN is { } ln)
        {
            o["latency_bsN_ms"] = Math.Round(ln.MedianMs, 4);
            o["latency_bsN_p90_ms"] = Math.Round(ln.P90Ms, 4);
            o["throughput_images_per_s"] = Math.Round(ln.ImagesPerSecond, 2);
            o["runs"] = ln.Runs;
        }
        o["threads"] = p.Threads;
        var layers = new JsonArray();
        foreach (var l in p.Layers)
            layers.Add(new JsonObject
            {
                ["name"] = l.Name,
                ["op"] = l.OpType,
                ["output_shape"] = l.OutputShape,
                ["params"] = l.Parameters,
                ["macs"] = l.Macs / Math.Max(1, p.BatchSize),
                ["element_ops"] = l.ElementOps / Math.Max(1, p.BatchSize),
            });
        o["layers"] = layers;
        return o;
    }

    private static void PrintTable(ModelProfile p, TextWriter w)
    {
        int n = Math.Max(1, p.BatchSize);
        int nameWidth = Math.Clamp(p.Layers.Select(l => l.Name.Length).DefaultIfEmpty(4).Max(), 4, 40);
        int opWidth = Math.Clamp(p.Layers.Select(l => l.OpType.Length).DefaultIfEmpty(2).Max(), 2, 24);
        int shapeWidth = Math.Clamp(p.Layers.Select(l => l.OutputShape.Length).DefaultIfEmpty(12).Max(), 12, 40);
        w.WriteLine($"{p.Model}: input {p.InputShape}, batch {p.BatchSize} (MACs and element ops per sample)");
        w.WriteLine($"{"layer".PadRight(nameWidth)}  {"op".PadRight(opWidth)}  {"output shape".PadRight(shapeWidth)}  {"params",12}  {"MACs",15}  {"element ops",13}");
        foreach (var l in p.Layers)
        {
            string name = l.Name.Length > nameWidth ? "…" + l.Name[^(nameWidth - 1)..] : l.Name;
            w.WriteLine($"{name.PadRight(nameWidth)}  {l.OpType.PadRight(opWidth)}  {l.OutputShape.PadRight(shapeWidth)}  {l.Parameters,12:N0}  {l.Macs / n,15:N0}  {l.ElementOps / n,13:N0}");
        }
        w.WriteLine(new string('-', nameWidth + opWidth + shapeWidth + 12 + 15 + 13 + 10));
        w.WriteLine($"{"total".PadRight(nameWidth + opWidth + shapeWidth + 4)}  {p.Parameters,12:N0}  {p.MacsPerSample,15:N0}  {p.ElementOps / n,13:N0}");
        w.WriteLine();
        w.WriteLine($"parameters      {p.Parameters:N0}");
        w.WriteLine($"size            {p.SizeMb:F4} MB (float32 storage)");
        w.WriteLine($"MACs            {p.MacsPerSample:N0} per sample ({p.MacsPerSample / 1e6:F2} M)");
        w.WriteLine($"element ops     {p.ElementOps / n:N0} per sample (not in MACs)");
        w.WriteLine($"memory          {p.MemoryMb:F4} MB at batch {p.BatchSize} (parameters {p.SizeMb:F4} + peak activations {p.PeakActivationMb:F4})");
        if (p.LatencyBatch1 is { } l1)
            w.WriteLine($"latency batch 1 median {l1.MedianMs:F3} ms, p90 {l1.P90Ms:F3} ms ({l1.Runs} runs)");
        if (p.LatencyBatchN is { } ln && p.BatchSize > 1)
            w.WriteLine($"latency batch {ln.Batch} median {ln.MedianMs:F3} ms, p90 {ln.P90Ms:F3} ms ({ln.ImagesPerSecond:F0} images/s)");
        w.WriteLine($"threads         {p.Threads}");
    }
}

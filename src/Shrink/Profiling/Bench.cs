using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Shrink.Execution;
using Shrink.Execution.Losses;
using Shrink.Execution.Optimizers;
using Shrink.Execution.Schedules;
using Shrink.Kernels;
using Shrink.Tensors;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Profiling;

/// <summary>How much work the benchmark does.</summary>
public sealed record BenchOptions
{
    /// <summary>A few iterations per workload (a smoke run of a minute or two), not a measurement.</summary>
    public bool Quick { get; init; }

    /// <summary>Run the PyTorch side (tools/bench_torch.py through /usr/bin/python3) when it is found.</summary>
    public bool Torch { get; init; } = true;

    /// <summary>Explicit path of tools/bench_torch.py; otherwise searched upwards from the working and base directories.</summary>
    public string? TorchScript { get; init; }

    /// <summary>Only the model inference section (throughput at <see cref="InferBatch"/>, batch-1 latency), for latency work.</summary>
    public bool InferenceOnly { get; init; }

    /// <summary>Rounds of the model sections (default 1 quick, else 3).</summary>
    public int? Rounds { get; init; }

    public int TrainBatch { get; init; } = 128;
    public int InferBatch { get; init; } = 128;

    /// <summary>Where progress and the table go (stderr when null).</summary>
    public TextWriter? Log { get; init; }
}

/// <summary>One measured number and, when PyTorch ran, its counterpart.</summary>
public sealed record BenchRow(string Group, string Name, string Unit, double Shrink, double? Torch, bool HigherIsBetter)
{
    /// <summary>Shrink over PyTorch for rates (above 1 = faster), Shrink over PyTorch for times (below 1 = faster).</summary>
    public double? Ratio => Torch is { } t && t > 0 && double.IsFinite(t) ? Shrink / t : null;
}

/// <summary>The benchmark's outcome: every row, the headline ratios and the machine it ran on.</summary>
public sealed record BenchResult(string Machine, int Threads, IReadOnlyList<BenchRow> Rows, IReadOnlyDictionary<string, double?> Ratios,
    string? TorchVersion, string? TorchError)
{
    public JsonObject ToJson()
    {
        var rows = new JsonArray();
        foreach (var r in Rows)
            rows.Add(new JsonObject
            {
                ["group"] = r.Group, ["name"] = r.Name, ["unit"] = r.Unit, ["shrink"] = Num(r.Shrink), ["torch"] = Num(r.Torch),
                ["ratio"] = Num(r.Ratio),
            });
        var ratios = new JsonObject();
        foreach (var (k, v) in Ratios) ratios[k] = Num(v);
        return new JsonObject
        {
            ["machine"] = Machine, ["threads"] = Threads, ["torch_version"] = TorchVersion, ["torch_error"] = TorchError,
            ["ratios"] = ratios, ["rows"] = rows,
        };
    }

    private static JsonNode? Num(double? v) => v is { } d && double.IsFinite(d) ? JsonValue.Create(Math.Round(d, 4)) : null;

    /// <summary>The human table (markdown).</summary>
    public string Table()
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"machine: {Machine}, threads: {Threads}, torch: {TorchVersion ?? "n/a"}{(TorchError is null ? "" : $" ({TorchError})")}");
        sb.AppendLine();
        sb.AppendLine("| group | workload | unit | Shrink | PyTorch | ratio |");
        sb.AppendLine("|---|---|---|---:|---:|---:|");
        foreach (var r in Rows)
            sb.AppendLine($"| {r.Group} | {r.Name} | {r.Unit} | {F(r.Shrink)} | {F(r.Torch)} | {(r.Ratio is { } x ? x.ToString("F2") : "")} |");
        sb.AppendLine();
        sb.AppendLine("| ratio | value |");
        sb.AppendLine("|---|---:|");
        foreach (var (k, v) in Ratios) sb.AppendLine($"| {k} | {(v is { } x ? x.ToString("F2") : "n/a")} |");
        return sb.ToString();
    }

    private static string F(double? v) => v is not { } d || !double.IsFinite(d) ? "" : d >= 100 ? d.ToString("F0") : d >= 10 ? d.ToString("F1") : d.ToString("F2");
}

/// <summary>
/// The engine benchmark of issue 6, measured side by side with PyTorch in one run: SGEMM at several shapes, every
/// distinct convolution of ResNet-18 (forward, batch 128), a training step (images/s) of ResNet-18 and VGG-11-BN on
/// 1×28×28, inference throughput at batch 128 and latency at batch 1 (median, p90), and peak training memory
/// (Shrink: tracked bytes — pooled activations, gradients and conv workspace at their peak in a step, plus parameters,
/// gradients and momentum; PyTorch: growth of its process's max RSS over model creation and the first step).
/// </summary>
public static class Bench
{
    public static readonly (int M, int N, int K)[] GemmShapes =
        [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (64, 3136, 576), (512, 16, 4608), (1, 1000, 512), (128, 128, 4096)];

    public static BenchResult RunAll(BenchOptions? options = null)
    {
        options ??= new BenchOptions();
        var log = options.Log ?? Console.Error;
        var rows = new List<BenchRow>();
        int threads = KernelParallel.MaxThreads;
        string? torchVersion = null, torchError = null;

        // Each group runs on the PyTorch side (its own process) right before the Shrink side, so that both see a
        // similar machine state on a shared, noisy host.
        JsonObject? Torch(string group)
        {
            if (!options.Torch || torchError is not null) return null;
            log.WriteLine($"bench: PyTorch {group}...");
            var (json, error) = RunTorch(options, threads, group);
            if (error is not null)
            {
                torchError = error;
                log.WriteLine($"bench: PyTorch side unavailable: {error}");
                return null;
            }
            torchVersion ??= json?["torch_version"]?.GetValue<string>();
            return json?["results"]?.AsObject();
        }
        static double? T(JsonObject? r, string key) => r?[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

        JsonObject? torch = null;
        int rounds = options.Rounds ?? (options.Quick ? 1 : 3);
        if (!options.InferenceOnly)
        {
            torch = Torch("sgemm");
            log.WriteLine("bench: SGEMM...");
            foreach (var (m, n, k) in GemmShapes)
            {
                double gf = MeasureGemm(m, n, k, options.Quick);
                string key = $"sgemm_{m}x{n}x{k}";
                rows.Add(new BenchRow("sgemm", $"{m}x{n}x{k}", "GFLOP/s", gf, T(torch, key), true));
                log.WriteLine($"  {key}: {gf:F1} GFLOP/s (OpenBLAS {T(torch, key)?.ToString("F1") ?? "-"})");
            }

            torch = Torch("conv");
            log.WriteLine("bench: ResNet-18 convolutions (forward, batch 128)...");
            foreach (var c in ResNet18Convs())
            {
                double ms = MeasureConv(c, options.Quick);
                string key = $"conv_{c.Key}";
                rows.Add(new BenchRow("conv", c.Key, "ms", ms, T(torch, key), false));
                log.WriteLine($"  {key}: {ms:F2} ms (torch {T(torch, key)?.ToString("F2") ?? "-"})");
            }

            // Models: PyTorch and Shrink alternate per model, over several rounds; each side's median over the rounds.
            foreach (string model in new[] { "resnet18", "vgg11" })
            {
                log.WriteLine($"bench: {model} training step (batch {options.TrainBatch}), {rounds} round(s)...");
                var ours = new List<double>();
                var theirs = new List<double>();
                long peak = 0;
                double? torchPeak = null;
                for (int r = 0; r < rounds; r++)
                {
                    torch = Torch($"train_{model}");
                    if (T(torch, $"train_{model}") is { } tt) theirs.Add(tt);
                    torchPeak ??= T(torch, $"train_{model}_peak_mb");
                    var (ips, p) = MeasureTraining(model, options.TrainBatch, options.Quick ? 2 : 5);
                    ours.Add(ips);
                    peak = Math.Max(peak, p);
                    log.WriteLine($"  round {r + 1}: {ips:F1} images/s (torch {T(torch, $"train_{model}")?.ToString("F1") ?? "-"})");
                }
                rows.Add(new BenchRow("train", $"{model} bs{options.TrainBatch}", "images/s", MedianOf(ours), theirs.Count > 0 ? MedianOf(theirs) : null, true));
                rows.Add(new BenchRow("memory", $"{model} train peak", "MB", peak / 1e6, torchPeak, false));
                log.WriteLine($"  median {MedianOf(ours):F1} images/s, peak {peak / 1e6:F0} MB (torch {(theirs.Count > 0 ? MedianOf(theirs).ToString("F1") : "-")} images/s, {torchPeak?.ToString("F0") ?? "-"} MB)");
            }
        }

        foreach (string model in new[] { "resnet18", "vgg11" })
        {
            log.WriteLine($"bench: {model} inference, {rounds} round(s)...");
            var graph = ModelZoo.Create(model);
            var ips = new List<double>();
            var tIps = new List<double>();
            var l1s = new List<LatencyStats>();
            var tMed = new List<double>();
            var tP90 = new List<double>();
            int bestThreads = threads;
            for (int r = 0; r < rounds; r++)
            {
                torch = Torch($"infer_{model}");
                if (T(torch, $"infer_{model}_ips") is { } a) tIps.Add(a);
                if (T(torch, $"latency_{model}_median_ms") is { } b) tMed.Add(b);
                if (T(torch, $"latency_{model}_p90_ms") is { } c) tP90.Add(c);
                ips.Add(Profiler.MeasureLatency(graph, graph.Inputs[0].Shape.WithBatch(options.InferBatch), options.Quick ? 3 : 8, 2).ImagesPerSecond);
                // Batch 1: the better of 1 thread and all threads, as on the PyTorch side.
                LatencyStats? l1 = null;
                foreach (int t in threads > 1 ? new[] { 1, threads } : new[] { 1 })
                {
                    KernelParallel.MaxThreads = t;
                    try
                    {
                        var l = Profiler.MeasureLatency(graph, graph.Inputs[0].Shape.WithBatch(1), options.Quick ? 10 : 50, 5);
                        if (l1 is null || l.MedianMs < l1.MedianMs) { l1 = l; bestThreads = t; }
                    }
                    finally { KernelParallel.MaxThreads = threads; }
                }
                l1s.Add(l1!);
                log.WriteLine($"  round {r + 1}: bs{options.InferBatch} {ips[^1]:F1} images/s (torch {T(torch, $"infer_{model}_ips")?.ToString("F1") ?? "-"}); " +
                    $"bs1 {l1!.MedianMs:F2} ms median, {l1.P90Ms:F2} ms p90 at {bestThreads} thread(s) (torch {T(torch, $"latency_{model}_median_ms")?.ToString("F2") ?? "-"} ms)");
            }
            rows.Add(new BenchRow("infer", $"{model} bs{options.InferBatch}", "images/s", MedianOf(ips), tIps.Count > 0 ? MedianOf(tIps) : null, true));
            rows.Add(new BenchRow("latency", $"{model} bs1 median", "ms", MedianOf(l1s.Select(l => l.MedianMs).ToList()), tMed.Count > 0 ? MedianOf(tMed) : null, false));
            rows.Add(new BenchRow("latency", $"{model} bs1 p90", "ms", MedianOf(l1s.Select(l => l.P90Ms).ToList()), tP90.Count > 0 ? MedianOf(tP90) : null, false));
        }

        double? Ratio(string group, string name) => rows.FirstOrDefault(r => r.Group == group && r.Name == name)?.Ratio;
        var ratios = new Dictionary<string, double?>
        {
            ["sgemm_vs_openblas"] = Ratio("sgemm", "1024x1024x1024"),
            ["train_resnet18_vs_torch"] = Ratio("train", $"resnet18 bs{options.TrainBatch}"),
            ["train_vgg11_vs_torch"] = Ratio("train", $"vgg11 bs{options.TrainBatch}"),
            ["infer_bs128_vs_torch"] = Ratio("infer", $"resnet18 bs{options.InferBatch}"),
            ["latency_bs1_vs_torch"] = Ratio("latency", "resnet18 bs1 median"),
            ["infer_bs128_vgg11_vs_torch"] = Ratio("infer", $"vgg11 bs{options.InferBatch}"),
            ["latency_bs1_vgg11_vs_torch"] = Ratio("latency", "vgg11 bs1 median"),
            ["train_memory_resnet18_vs_torch"] = Ratio("memory", "resnet18 train peak"),
        };
        var result = new BenchResult(Machine(), threads, rows, ratios, torchVersion, torchError);
        log.WriteLine(result.Table());
        return result;
    }

    private static double MedianOf(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>A ResNet-18 convolution at batch 128: input channels and size, output channels, kernel, stride.</summary>
    public readonly record struct ConvShape(int Cin, int H, int Cout, int Kernel, int Stride)
    {
        public int Pad => Kernel / 2;
        public string Key => $"{Cin}x{H}x{H}_{Cout}_k{Kernel}s{Stride}";
    }

    /// <summary>The distinct convolutions of CIFAR-style ResNet-18 on 1×28×28.</summary>
    public static IReadOnlyList<ConvShape> ResNet18Convs() => ModelConvs("resnet18");

    /// <summary>The distinct convolutions of zoo model <paramref name="model"/>, in graph order.</summary>
    public static IReadOnlyList<ConvShape> ModelConvs(string model)
    {
        var graph = ModelZoo.Create(model);
        var set = new List<ConvShape>();
        foreach (var node in graph.TopologicalOrder())
        {
            if (node.Op is not Ops.Conv conv) continue;
            var x = node.Inputs[0].Shape;
            var w = node.Inputs[1].Shape;
            var s = new ConvShape(x[1], x[2], w[0], w[2], conv.Strides[0]);
            if (!set.Contains(s)) set.Add(s);
        }
        return set;
    }

    public static double MeasureGemm(int m, int n, int k, bool quick)
    {
        var rng = new Random(1);
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble() - 0.5f;
        double secs = Median(() => Kernels.Gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n), quick ? 0.1 : 0.5, minInner: 1e-3);
        return 2.0 * m * n * k / secs / 1e9;
    }

    public static double MeasureConv(ConvShape s, bool quick, int batch = 128)
    {
        var op = new Ops.Conv { Strides = [s.Stride, s.Stride], Pads = [s.Pad, s.Pad, s.Pad, s.Pad] };
        var x = new Tensor(new Shape(batch, s.Cin, s.H, s.H));
        var w = new Tensor(new Shape(s.Cout, s.Cin, s.Kernel, s.Kernel));
        Init.Uniform(x, -1, 1, new Random(1));
        Init.Uniform(w, -0.1f, 0.1f, new Random(2));
        var yShape = op.InferShapes([x.Shape, w.Shape])[0];
        var y = new Tensor(yShape);
        var ctx = new Ops.OpContext(training: false);
        return 1000 * Median(() => op.Forward(ctx, [x, w], [y]), quick ? 0.2 : 1.0, minInner: 0);
    }

    /// <summary>Median ms of one conv backward at batch 128: the data and/or the weight gradient.</summary>
    public static double MeasureConvBackward(ConvShape s, bool quick, int batch = 128, bool data = true, bool weight = true)
    {
        var op = new Ops.Conv { Strides = [s.Stride, s.Stride], Pads = [s.Pad, s.Pad, s.Pad, s.Pad] };
        var x = new Tensor(new Shape(batch, s.Cin, s.H, s.H));
        var w = new Tensor(new Shape(s.Cout, s.Cin, s.Kernel, s.Kernel));
        Init.Uniform(x, -1, 1, new Random(1));
        Init.Uniform(w, -0.1f, 0.1f, new Random(2));
        var y = new Tensor(op.InferShapes([x.Shape, w.Shape])[0]);
        var dy = new Tensor(y.Shape);
        Init.Uniform(dy, -1, 1, new Random(3));
        var dx = new Tensor(x.Shape);
        var dw = new Tensor(w.Shape);
        var ctx = new Ops.OpContext(training: true);
        op.Forward(ctx, [x, w], [y]);
        return 1000 * Median(() => op.Backward(ctx, [x, w], [y], [dy], [data ? dx : null, weight ? dw : null]), quick ? 0.2 : 1.0, minInner: 0);
    }

    /// <summary>The training workload every training measurement times: zoo model <paramref name="model"/>, SGD with
    /// momentum 0.9 at a constant 0.01, cross-entropy, one fixed batch of uniform(−1, 1) images labelled 0–9 in turn.</summary>
    internal static (Graph.Graph Graph, Trainer Trainer, Tensor Images, int[] Labels) SyntheticTraining(string model, int batch)
    {
        var graph = ModelZoo.Create(model);
        var trainer = new Trainer(graph, new CrossEntropyLoss(), new Sgd(graph.TrainableParameters, momentum: 0.9), new ConstantLr(0.01), seed: 0);
        var images = new Tensor(graph.Inputs[0].Shape.WithBatch(batch));
        Init.Uniform(images, -1, 1, new Random(3));
        return (graph, trainer, images, Enumerable.Range(0, batch).Select(i => i % 10).ToArray());
    }

    /// <summary>Images per second of full training steps (forward, loss, backward, SGD with momentum) and the tracked peak bytes.</summary>
    public static (double ImagesPerSecond, long PeakBytes) MeasureTraining(string model, int batch, int steps)
    {
        var (graph, trainer, images, labels) = SyntheticTraining(model, batch);
        trainer.Step(images, labels); // warm-up: JIT, pools, optimizer buffers
        var times = new double[steps];
        MemoryTracker.Reset();
        for (int i = 0; i < steps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            trainer.Step(images, labels);
            times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(times);
        long parameterBytes = graph.Parameters.Sum(p => (long)p.Data.Length * sizeof(float));
        long trainableBytes = graph.TrainableParameters.Sum(p => (long)p.Data.Length * sizeof(float));
        // Tracked: pooled activations, gradients and conv workspace at their peak, plus parameters, their gradients
        // and the momentum buffers (allocated once, outside the pool).
        return (batch / times[steps / 2], MemoryTracker.PeakBytes + parameterBytes + 2 * trainableBytes);
    }

    /// <summary>Median seconds per call of <paramref name="run"/> over about <paramref name="seconds"/> after warm-up.</summary>
    private static double Median(Action run, double seconds, double minInner)
    {
        var sw = Stopwatch.StartNew();
        run();
        while (sw.Elapsed.TotalSeconds < Math.Min(0.2, seconds / 2)) run();
        sw.Restart();
        run();
        double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
        int inner = minInner > 0 && once < minInner ? (int)Math.Ceiling(minInner / once) : 1;
        int reps = (int)Math.Clamp(seconds / (once * inner), 3, 200);
        var times = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            sw.Restart();
            for (int i = 0; i < inner; i++) run();
            times[r] = sw.Elapsed.TotalSeconds / inner;
        }
        Array.Sort(times);
        return times[reps / 2];
    }

    private static (JsonObject? Json, string? Error) RunTorch(BenchOptions options, int threads, string group)
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python)) return (null, $"{python} not found");
        string? script = options.TorchScript ?? FindScript();
        if (script is null) return (null, "tools/bench_torch.py not found");
        var psi = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add("--threads");
        psi.ArgumentList.Add(threads.ToString());
        if (options.Quick) psi.ArgumentList.Add("--quick");
        psi.ArgumentList.Add("--only");
        psi.ArgumentList.Add(group);
        try
        {
            using var p = Process.Start(psi)!;
            var errTask = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            string err = errTask.Result;
            if (p.ExitCode != 0) return (null, $"bench_torch.py exited with {p.ExitCode}: {err.Trim().Split('\n').LastOrDefault()}");
            return (JsonNode.Parse(output.Trim().Split('\n').Last())!.AsObject(), null);
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return (null, e.Message);
        }
    }

    private static string? FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "tools", "bench_torch.py");
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    /// <summary>CPU model, core count and memory, from /proc where available.</summary>
    public static string Machine()
    {
        string cpu = "unknown CPU";
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) cpu = line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        double gb = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{cpu}, {Environment.ProcessorCount} logical CPUs, {gb:F0} GB, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, SIMD {Kernels.Gemm.ActiveLevel}";
    }
}

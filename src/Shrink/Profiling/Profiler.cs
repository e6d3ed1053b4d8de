using System.Diagnostics;
using Shrink.Execution;
using Shrink.Graph;
using Shrink.Kernels;
using Shrink.Tensors;

namespace Shrink.Profiling;

/// <summary>Cost of one node at the profiled batch size.</summary>
public sealed record LayerProfile(string Name, string OpType, string OutputShape, long Parameters, long Macs, long ElementOps);

/// <summary>
/// The metrics of a model (design: "Metrics of the result"): parameters, size at storage precision, MACs (conv and
/// matmul only; element-wise and pooling work reported apart), memory footprint (parameters plus the peak of live
/// activations under the executor's liveness plan) and, when measured, latency at batch 1 and batch N.
/// </summary>
public sealed record ModelProfile(
    string Model,
    Shape InputShape,
    int BatchSize,
    long Parameters,
    double SizeMb,
    long Macs,
    long ElementOps,
    double MemoryMb,
    double PeakActivationMb,
    LatencyStats? LatencyBatch1,
    LatencyStats? LatencyBatchN,
    int Threads,
    IReadOnlyList<LayerProfile> Layers)
{
    /// <summary>MACs for one sample (the usual way to quote a model's cost).</summary>
    public long MacsPerSample => Macs / Math.Max(1, BatchSize);
}

/// <summary>Latency over repeated runs after warm-up, in milliseconds.</summary>
public sealed record LatencyStats(int Batch, double MedianMs, double P90Ms, double MinMs, int Runs)
{
    public double ImagesPerSecond => Batch * 1000.0 / MedianMs;
}

/// <summary>Computes a <see cref="ModelProfile"/>: counts by walking the graph, latency by running it.</summary>
public static class Profiler
{
    /// <summary>Bytes per stored element of a parameter (float32 today; quantization passes will record lower precisions).</summary>
    public static int BytesPerElement(Parameter p) => 4;

    /// <summary>Size of every stored tensor at its storage precision, in MB (10^6 bytes).</summary>
    public static double SizeMb(Graph.Graph graph) => graph.Parameters.Sum(p => (double)p.Data.Length * BytesPerElement(p)) / 1e6;

    /// <summary>
    /// Profiles <paramref name="graph"/> at <paramref name="batchSize"/>, with the input's per-sample shape taken from
    /// the graph or <paramref name="inputShape"/> (whose batch dimension, if any, is replaced). Latency is measured only
    /// when <paramref name="latencyRuns"/> &gt; 0.
    /// </summary>
    public static ModelProfile Profile(Graph.Graph graph, int batchSize = 1, Shape? inputShape = null, int latencyRuns = 0, int warmup = 3)
    {
        if (batchSize < 1) throw new ShrinkException($"Batch size must be at least 1, got {batchSize}.");
        if (graph.Inputs.Count != 1) throw new ShrinkException($"Profiling needs a single-input model; '{graph.Name}' has {graph.Inputs.Count} inputs.");
        var sized = graph.Clone();
        var shape = (inputShape ?? graph.Inputs[0].Shape).WithBatch(batchSize);
        if (!shape.IsConcrete)
            throw new ShrinkException($"Input shape {shape} of '{graph.Name}' is not fully known; pass --input-shape, e.g. 1x3x224x224.");
        sized.SetInputShape(0, shape);

        var layers = new List<LayerProfile>();
        long macs = 0, elementOps = 0;
        foreach (var node in sized.TopologicalOrder())
        {
            var ins = node.Inputs.Select(v => v.Shape).ToArray();
            var outs = node.Outputs.Select(v => v.Shape).ToArray();
            long m = node.Op.Macs(ins, outs), e = node.Op.ElementOps(ins, outs);
            long p = node.Inputs.Where(v => v.Parameter is not null).Sum(v => (long)v.Parameter!.Data.Length);
            layers.Add(new LayerProfile(node.Name, node.OpType, string.Join(" ", outs.Select(s => s.ToString())), p, m, e));
            macs += m;
            elementOps += e;
        }
        double peak = PeakActivationBytes(sized) / 1e6;
        double size = SizeMb(graph);
        LatencyStats? l1 = null, lN = null;
        if (latencyRuns > 0)
        {
            l1 = MeasureLatency(graph, shape.WithBatch(1), latencyRuns, warmup);
            lN = batchSize == 1 ? l1 : MeasureLatency(graph, shape, latencyRuns, warmup);
        }
        return new ModelProfile(graph.Name, shape, batchSize, graph.ParameterCount, size, macs, elementOps,
            size + peak, peak, l1, lN, KernelParallel.MaxThreads, layers);
    }

    /// <summary>
    /// Peak bytes of activations alive at once when the <see cref="Executor"/> runs <paramref name="sized"/> (concrete
    /// input shapes): the graph inputs plus the activation arena of its <see cref="InferencePlan"/> (batch norm folded,
    /// activations fused, buffers reused by liveness, in place where safe, views for reshapes). Graph outputs are inside
    /// the arena until the end.
    /// </summary>
    public static long PeakActivationBytes(Graph.Graph sized)
    {
        var plan = new InferencePlan(sized).For(sized.Inputs.Select(v => v.Shape).ToArray());
        return plan.InputBytes + plan.ArenaBytes;
    }

    /// <summary>Median and p90 wall time of <see cref="Executor.Run(Tensor[])"/> over <paramref name="runs"/> runs after warm-up.</summary>
    public static LatencyStats MeasureLatency(Graph.Graph graph, Shape inputShape, int runs = 20, int warmup = 3)
    {
        if (runs < 1) throw new ShrinkException($"Latency needs at least 1 timed run, got {runs}.");
        if (warmup < 0) throw new ShrinkException($"Warm-up runs must be 0 or more, got {warmup}.");
        var executor = new Executor(graph);
        var input = new Tensor(inputShape);
        Init.Uniform(input, -1, 1, new Random(0));
        for (int i = 0; i < warmup; i++) executor.Run(input);
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            executor.Run(input);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return new LatencyStats(inputShape[0], Percentile(times, 0.5), Percentile(times, 0.9), times[0], runs);
    }

    private static double Percentile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    private static long Bytes(Shape s) => Math.Max(0, s.Length) * sizeof(float);
}

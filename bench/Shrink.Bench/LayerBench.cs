using System.Diagnostics;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;
using Shrink.Zoo;

namespace Shrink.Bench;

/// <summary>
/// `Shrink.Bench layers [model] [batch] [reps] [filter]`: every distinct Conv (with its group), BatchNormalization and
/// Clip of the model's training step, run alone through its op at the given batch: median ms of forward and backward
/// (Conv: data and weight gradient apart), and the same times the number of such nodes in the model (per step). Kind
/// "pw" = 1×1, "dw" = depthwise, "conv" = the rest. The filter keeps lines whose key contains it (e.g. "pw", "28x28").
/// </summary>
public static class LayerBench
{
    public static void RunArgs(string[] args)
    {
        string model = args.Length > 0 ? args[0] : "mobilenet_v2";
        int batch = args.Length > 1 ? int.Parse(args[1]) : 128;
        int reps = args.Length > 2 ? int.Parse(args[2]) : 5;
        string? filter = args.Length > 3 ? args[3] : null;
        var graph = ModelZoo.Create(model);
        var cases = new Dictionary<string, (Node Node, int Count)>();
        foreach (var node in graph.TopologicalOrder())
        {
            if (node.Op is not (Conv or BatchNormalization or Clip)) continue;
            string key = Key(node);
            if (filter != null && !key.Contains(filter, StringComparison.Ordinal)) continue;
            cases[key] = cases.TryGetValue(key, out var e) ? (e.Node, e.Count + 1) : (node, 1);
        }
        var totals = new Dictionary<string, double>();
        Console.WriteLine($"{"layer",-34} {"n",2} {"fwd",8} {"bwd-data",9} {"bwd-wt",8}   (ms, median of {reps}; x n per step)");
        foreach (var (key, (node, count)) in cases)
        {
            var (f, bd, bw) = Measure(node, batch, reps);
            Console.WriteLine($"{key,-34} {count,2} {f,8:F2} {bd,9:F2} {bw,8:F2}   step {count * (f + bd + bw),8:F1}");
            string kind = key[..key.IndexOf(' ')];
            totals[kind + " fwd"] = totals.GetValueOrDefault(kind + " fwd") + count * f;
            totals[kind + " bwd"] = totals.GetValueOrDefault(kind + " bwd") + count * (bd + bw);
        }
        double all = totals.Values.Sum();
        foreach (var (k, v) in totals.OrderByDescending(p => p.Value))
            Console.WriteLine($"  {k,-14} {v,8:F1} ms {100 * v / all,5:F1}%");
        Console.WriteLine($"  {"total",-14} {all,8:F1} ms per step");
    }

    private static string Key(Node node)
    {
        var x = node.Inputs[0].Shape;
        string shape = $"{x[1]}x{x[2]}x{x[3]}";
        switch (node.Op)
        {
            case Conv conv:
                var w = node.Inputs[1].Shape;
                string kind = conv.Group > 1 && conv.Group == x[1] ? "dw" : w[2] == 1 && w[3] == 1 ? "pw" : "conv";
                return $"{kind} {shape}->{w[0]} k{w[2]}s{conv.Strides[0]}";
            case BatchNormalization: return $"bn {shape}";
            default: return $"clip {shape}";
        }
    }

    private static (double Fwd, double Data, double Weight) Measure(Node node, int batch, int reps)
    {
        var op = node.Op;
        var rng = new Random(1);
        var inputs = node.Inputs.Select((v, i) => i == 0 ? new Tensor(v.Shape.WithBatch(batch)) : new Tensor(v.Shape)).ToArray();
        foreach (var t in inputs) Init.Uniform(t, -1, 1, rng);
        if (op is BatchNormalization) { inputs[4].Span.Fill(1f); }
        var outputs = node.Outputs.Select(v => new Tensor(v.Shape.WithBatch(batch))).ToArray();
        var dy = outputs.Select(o => { var t = new Tensor(o.Shape); Init.Uniform(t, -1, 1, rng); return t; }).ToArray();
        var grads = inputs.Select(t => (Tensor?)new Tensor(t.Shape)).ToArray();
        using var ctx = new OpContext(training: true);
        double Time(Action a)
        {
            a();
            var t = new double[reps];
            for (int r = 0; r < reps; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                a();
                t[r] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            Array.Sort(t);
            return t[reps / 2];
        }
        double f = Time(() => op.Forward(ctx, inputs, outputs));
        if (op is Conv)
        {
            double bd = Time(() => op.Backward(ctx, inputs, outputs, dy, [grads[0], null]));
            double bw = Time(() => op.Backward(ctx, inputs, outputs, dy, [null, grads[1]]));
            return (f, bd, bw);
        }
        if (op is BatchNormalization)
        {
            // Keep the running variance sane: forward in training updates it in place.
            double b = Time(() => op.Backward(ctx, inputs, outputs, dy, grads));
            return (f, b, 0);
        }
        return (f, Time(() => op.Backward(ctx, inputs, outputs, dy, grads)), 0);
    }
}

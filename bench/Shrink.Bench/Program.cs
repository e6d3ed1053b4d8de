using Shrink.Execution;
using Shrink.Profiling;
using Shrink.Tensors;
using Shrink.Zoo;

if (Environment.GetEnvironmentVariable("SHRINK_THREADS") is { } th) Shrink.Kernels.KernelParallel.MaxThreads = int.Parse(th);
// Usage: Shrink.Bench [--quick] [--json] [--no-torch] [--infer-only] [--rounds N] | ab <model> <batch> [rounds] [runs] | wino [batch] [rounds] | gemm [m,n,k...] | lowrank [...] | profile <model> <batch> [train|infer] [steps] | tape-ab <model> <batch> <pairs> | sensab <model> [images] [layers]
if (args.Length > 0 && args[0] == "gemm") { Shrink.Bench.GemmBench.RunArgs(args[1..]); return; }
if (args.Length > 0 && args[0] == "lowrank") { Shrink.Bench.LowRankBench.RunArgs(args[1..]); return; }
if (args.Length > 0 && args[0] == "sensab") { Shrink.Bench.SensitivityBench.RunArgs(args[1..]); return; }
if (args.Length > 0 && args[0] == "wgprobe") { Shrink.Bench.KernelAb.Probe(args[1..]); return; }
if (args.Length > 0 && args[0] == "kab") { Shrink.Bench.KernelAb.Kernels(args[1..]); return; }
if (args.Length > 0 && args[0] == "trainab") { Shrink.Bench.KernelAb.Train(args[1..]); return; }
if (args.Length > 0 && args[0] == "layers") { Shrink.Bench.LayerBench.RunArgs(args[1..]); return; }
if (args.Length > 0 && args[0] == "train")
{
    // Shrink.Bench train <model> <batch> <steps> [rounds]: images/s (median step) and tracked peak MB per round.
    int rounds = args.Length > 4 ? int.Parse(args[4]) : 1;
    for (int i = 0; i < rounds; i++)
    {
        var (ips, peak) = Bench.MeasureTraining(args[1], int.Parse(args[2]), int.Parse(args[3]));
        Console.WriteLine($"{args[1]} train bs{args[2]}: {ips:F1} images/s, peak {peak / 1e6:F0} MB");
    }
    return;
}
if (args.Length > 0 && args[0] == "tape-ab")
{
    // tape-ab <model> <batch> <pairs>: training steps alternating the plain economical tape (A: no recomputation, no
    // in-place gradients) and the current one (B) in one process; median wall and CPU ms per step, tracked peak of each.
    string model = args[1];
    int batch = int.Parse(args[2]), pairs = int.Parse(args[3]);
    var (graph, trainer, images, labels) = Bench.SyntheticTraining(model, batch);
    var wall = new[] { new List<double>(), new List<double>() };
    var cpu = new[] { new List<double>(), new List<double>() };
    var peak = new long[2];
    var proc = System.Diagnostics.Process.GetCurrentProcess();
    for (int i = 0; i < 2 * pairs + 2; i++)
    {
        int b = i % 2;
        Tape.Recomputation = Tape.InPlaceGradients = b == 1;
        MemoryTracker.Reset();
        proc.Refresh();
        var c0 = proc.TotalProcessorTime;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        trainer.Step(images, labels);
        double ms = sw.Elapsed.TotalMilliseconds;
        proc.Refresh();
        if (i < 2) continue; // warm-up of each
        wall[b].Add(ms);
        cpu[b].Add((proc.TotalProcessorTime - c0).TotalMilliseconds);
        peak[b] = Math.Max(peak[b], MemoryTracker.PeakBytes);
    }
    static double Med(List<double> l) { var s = l.OrderBy(v => v).ToList(); return s[s.Count / 2]; }
    for (int b = 0; b < 2; b++)
        Console.WriteLine($"{(b == 0 ? "A plain " : "B recompute+in-place")}: wall {Med(wall[b]):F1} ms ({batch * 1000 / Med(wall[b]):F1} images/s), cpu {Med(cpu[b]):F1} ms, tracked pooled peak {peak[b] / 1e6:F0} MB");
    Console.WriteLine($"B/A wall {Med(wall[1]) / Med(wall[0]):F3}, cpu {Med(cpu[1]) / Med(cpu[0]):F3}");
    return;
}
if (args.Length > 0 && args[0] == "dw")
{
    // A/B of the depthwise kernels on MobileNet v2's (28×28 input) depthwise convs: row kernel vs flat-plane kernel,
    // 16 images, one thread, alternating, median of 7.
    int imgs = 16;
    foreach (var (c, hw, s) in new[] { (32, 28, 1), (96, 28, 1), (144, 28, 1), (144, 28, 2), (192, 14, 1), (192, 14, 2), (384, 7, 1), (576, 7, 1), (576, 7, 2), (960, 4, 1) })
    {
        int o = (hw + 2 - 3) / s + 1;
        var g = new Shrink.Kernels.Window2d(3, 3, s, s, 1, 1, 1, 1, o, o);
        var x = new float[imgs * c * hw * hw]; var w = new float[c * 9]; var y = new float[imgs * c * o * o]; var dw = new float[c * 9]; var dx = new float[x.Length];
        var r = new Random(1); for (int i = 0; i < x.Length; i++) x[i] = r.NextSingle(); for (int i = 0; i < w.Length; i++) w[i] = r.NextSingle(); for (int i = 0; i < y.Length; i++) y[i] = r.NextSingle();
        int inI = c * hw * hw, outI = c * o * o;
        double Time(Action a) { var sw = System.Diagnostics.Stopwatch.StartNew(); a(); return sw.Elapsed.TotalMilliseconds; }
        var t = new List<double>[6]; for (int i = 0; i < 6; i++) t[i] = [];
        for (int rep = 0; rep < 7; rep++)
        {
            t[0].Add(Time(() => { for (int n = 0; n < imgs; n++) Shrink.Kernels.DepthwiseConv.ForwardRows(x.AsSpan(n * inI, inI), c, hw, hw, w, default, 1, g, y.AsSpan(n * outI, outI)); }));
            t[1].Add(Time(() => { for (int n = 0; n < imgs; n++) Shrink.Kernels.DepthwiseConv.Forward(x.AsSpan(n * inI, inI), c, hw, hw, w, default, 1, g, y.AsSpan(n * outI, outI)); }));
            t[2].Add(Time(() => { for (int n = 0; n < imgs; n++) Shrink.Kernels.DepthwiseConv.BackwardDataRows(y.AsSpan(n * outI, outI), w, c, hw, hw, 1, g, dx.AsSpan(n * inI, inI)); }));
            t[3].Add(Time(() => { for (int n = 0; n < imgs; n++) Shrink.Kernels.DepthwiseConv.BackwardData(y.AsSpan(n * outI, outI), w, c, hw, hw, 1, g, dx.AsSpan(n * inI, inI)); }));
            t[4].Add(Time(() => { for (int n = 0; n < imgs; n++) Shrink.Kernels.DepthwiseConv.BackwardWeightRows(x.AsSpan(n * inI, inI), y.AsSpan(n * outI, outI), c, hw, hw, 1, g, dw); }));
            t[5].Add(Time(() => { for (int n = 0; n < imgs; n++) Shrink.Kernels.DepthwiseConv.BackwardWeight(x.AsSpan(n * inI, inI), y.AsSpan(n * outI, outI), c, hw, hw, 1, g, dw); }));
        }
        double M(List<double> l) { l.Sort(); return l[l.Count / 2]; }
        Console.WriteLine($"dw {c}x{hw}x{hw} s{s}: fwd {M(t[0]),7:F2} -> {M(t[1]),7:F2} ms  data {M(t[2]),7:F2} -> {M(t[3]),7:F2}  weight {M(t[4]),7:F2} -> {M(t[5]),7:F2}");
    }
    return;
}
if (args.Length > 0 && args[0] == "convs")
{
    // convs [model]: every distinct conv of the model at batch 128, forward, data gradient, weight gradient.
    foreach (var c in Bench.ModelConvs(args.Length > 1 ? args[1] : "resnet18"))
    {
        double f = Bench.MeasureConv(c, quick: true);
        double bd = Bench.MeasureConvBackward(c, quick: true, weight: false);
        double bw = Bench.MeasureConvBackward(c, quick: true, data: false);
        double gflop = 2.0 * 128 * c.Cout * Math.Pow((c.H + 2 * c.Pad - c.Kernel) / c.Stride + 1, 2) * c.Cin * c.Kernel * c.Kernel / 1e9;
        Console.WriteLine($"{c.Key,-24} fwd {f,8:F2} ms ({gflop / f * 1000,6:F1} GF/s)  data {bd,8:F2} ms ({gflop / bd * 1000,6:F1} GF/s)" +
            $"  weight {bw,8:F2} ms ({gflop / bw * 1000,6:F1} GF/s)");
    }
    return;
}
if (args.Length > 0 && args[0] == "wino")
{
    // wino [batch] [rounds]: A/B of Winograd vs im2col + GEMM (Winograd.Enabled toggled in alternate rounds, same
    // process) on the 3×3 stride-1 convs of ResNet-18 and VGG-11: forward and data gradient, median of round medians.
    int batch = args.Length > 1 ? int.Parse(args[1]) : 128;
    int rounds = args.Length > 2 ? int.Parse(args[2]) : 3;
    var shapes = new List<(string Model, Shrink.Kernels.ConvDims D)>();
    foreach (string model in new[] { "resnet18", "vgg11" })
        foreach (var node in ModelZoo.Create(model).TopologicalOrder())
            if (node.Op is Shrink.Ops.Conv conv && node.Inputs[1].Shape[2] == 3 && conv.Strides[0] == 1)
            {
                var xs = node.Inputs[0].Shape;
                var d = conv.Measure(xs.WithBatch(batch), node.Inputs[1].Shape, node.Outputs[0].Shape.WithBatch(batch));
                if (!shapes.Any(e => e.D == d)) shapes.Add((model, d));
            }
    foreach (var (model, d) in shapes)
    {
        var x = new float[(long)d.N * d.InImage]; var w = new float[d.Cout * d.K]; var y = new float[(long)d.N * d.OutImage];
        var rng = new Random(1);
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() - 0.5f;
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextSingle() - 0.5f;
        double T(Action a) { a(); var t = new List<double>(); for (int r = 0; r < 5; r++) { var sw = System.Diagnostics.Stopwatch.StartNew(); a(); t.Add(sw.Elapsed.TotalMilliseconds); } t.Sort(); return t[2]; }
        var fwd = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        var bwd = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        for (int r = 0; r < 2 * rounds; r++)
        {
            bool on = r % 2 == 1;
            Shrink.Kernels.Winograd.Enabled = on;
            fwd[on].Add(T(() => Shrink.Kernels.ConvGemm.Forward(d, x, w, default, y)));
            bwd[on].Add(T(() => Shrink.Kernels.ConvGemm.BackwardData(d, y, w, x)));
        }
        Shrink.Kernels.Winograd.Enabled = true;
        double M(List<double> l) { l.Sort(); return l[l.Count / 2]; }
        double gflop = 2.0 * d.N * d.Cout * d.P * d.K / 1e9;
        Console.WriteLine($"{model,-8} {d.Cin,3}x{d.H,2}x{d.W,-2}->{d.Cout,3} bs{d.N}: fwd {M(fwd[false]),7:F2} -> {M(fwd[true]),7:F2} ms ({gflop / M(fwd[true]) * 1000,5:F0} GF/s eff)"
            + $"  data {M(bwd[false]),7:F2} -> {M(bwd[true]),7:F2} ms   winograd used: {Shrink.Kernels.Winograd.Preferred(d)}/{Shrink.Kernels.Winograd.PreferredForData(d)}");
    }
    return;
}
if (args.Length > 0 && args[0] == "parts")
{
    // parts: batch-1 im2col vs pre-packed GEMM time per ResNet-18 3×3 conv shape (cin, hw, cout, stride).
    foreach (var (cin, hw, cout, s) in new[] { (64, 28, 64, 1), (64, 28, 128, 2), (128, 14, 128, 1), (256, 7, 256, 1), (512, 4, 512, 1) })
    {
        int o = (hw + 2 - 3) / s + 1, k = cin * 9, n = o * o;
        var geo = new Shrink.Kernels.Window2d(3, 3, s, s, 1, 1, 1, 1, o, o);
        var x = new float[cin * hw * hw]; var col = new float[k * n]; var w = new float[cout * k]; var y = new float[cout * n];
        new Random(1).NextBytes(new byte[1]);
        for (int i = 0; i < w.Length; i++) w[i] = (i % 7) * 0.01f;
        var pw = Shrink.Kernels.Gemm.PackA(false, cout, k, w, 0, k);
        double T(Action a) { for (int i = 0; i < 3; i++) a(); var t = new List<double>(); for (int r = 0; r < 41; r++) { var sw = System.Diagnostics.Stopwatch.StartNew(); a(); t.Add(sw.Elapsed.TotalMilliseconds); } t.Sort(); return t[20]; }
        double ti = T(() => Shrink.Kernels.Im2Col.Forward(x, cin, hw, hw, geo, col, n));
        double tg = T(() => Shrink.Kernels.Gemm.Sgemm(pw, false, n, 1f, col, n, 0f, y, n));
        double tu = T(() => Shrink.Kernels.Gemm.Sgemm(false, false, cout, n, k, 1f, w, k, col, n, 0f, y, n));
        Console.WriteLine($"{cin}x{hw}->{cout} s{s}: im2col {ti:F3} ms, prepacked gemm {tg:F3} ms ({2.0 * cout * n * k / tg / 1e6:F0} GF/s), unpacked {tu:F3} ms");
    }
    return;
}
if (args.Length > 0 && args[0] == "ab")
{
    // ab <model> <batch> [rounds] [runs]: one executor; alternates weights pre-packed / repacked per round (same process).
    string model = args.Length > 1 ? args[1] : "resnet18";
    int batch = args.Length > 2 ? int.Parse(args[2]) : 1;
    int rounds = args.Length > 3 ? int.Parse(args[3]) : 6;
    int runs = args.Length > 4 ? int.Parse(args[4]) : 30;
    var graph = ModelZoo.Create(model);
    var ex = new Executor(graph);
    var x = new Tensor(graph.Inputs[0].Shape.WithBatch(batch));
    Init.Uniform(x, -1, 1, new Random(3));
    var med = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
    for (int r = 0; r < 2 * rounds; r++)
    {
        bool on = r % 2 == 0;
        Shrink.Kernels.ConvGemm.UsePrepacked = on;
        for (int i = 0; i < 3; i++) ex.Run(x);
        var t = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            ex.Run(x);
            t.Add(sw.Elapsed.TotalMilliseconds);
        }
        t.Sort();
        med[on].Add(t[t.Count / 2]);
    }
    Shrink.Kernels.ConvGemm.UsePrepacked = true;
    foreach (var on in new[] { false, true })
    {
        var l = med[on].OrderBy(v => v).ToList();
        Console.WriteLine($"{model} bs{batch} prepacked={on}: median of round medians {l[l.Count / 2]:F2} ms; rounds {string.Join(" ", med[on].Select(v => v.ToString("F2")))}");
    }
    return;
}
if (args.Length > 0 && args[0] == "profile")
{
    string model = args.Length > 1 ? args[1] : "resnet18";
    int batch = args.Length > 2 ? int.Parse(args[2]) : 128;
    string mode = args.Length > 3 ? args[3] : "train";
    int steps = args.Length > 4 ? int.Parse(args[4]) : 3;
    var timer = new OpTimer();
    if (mode == "train")
    {
        Bench.MeasureTraining(model, batch, 1);
        var (_, trainer, images, labels) = Bench.SyntheticTraining(model, batch);
        trainer.Step(images, labels);
        var times = new List<double>();
        OpTimer.Active = timer;
        for (int i = 0; i < steps; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            trainer.Step(images, labels);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        OpTimer.Active = null;
        times.Sort();
        Console.WriteLine($"{model} train bs{batch}: median step {times[times.Count / 2]:F1} ms = {batch * 1000 / times[times.Count / 2]:F1} images/s; steps {string.Join(" ", times.Select(t => t.ToString("F0")))}");
        Console.WriteLine($"untimed (tape bookkeeping, gradient buffers, pool): {times.Sum() - timer.Entries.Sum(e => e.Milliseconds):F1} ms over {steps} steps");
    }
    else
    {
        var graph = ModelZoo.Create(model);
        var ex = new Executor(graph);
        var x = new Tensor(graph.Inputs[0].Shape.WithBatch(batch));
        Init.Uniform(x, -1, 1, new Random(3));
        for (int i = 0; i < 3; i++) ex.Run(x);
        var times = new List<double>();
        OpTimer.Active = timer;
        for (int i = 0; i < steps; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            ex.Run(x);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        OpTimer.Active = null;
        times.Sort();
        Console.WriteLine($"{model} infer bs{batch}: median {times[times.Count / 2]:F2} ms = {batch * 1000 / times[times.Count / 2]:F1} images/s");
    }
    Console.WriteLine(timer.Summary());
    Console.WriteLine(timer.Detail(args.Length > 5 ? int.Parse(args[5]) : 25));
    return;
}
int roundsArg = Array.IndexOf(args, "--rounds");
var result = Bench.RunAll(new BenchOptions
{
    Quick = args.Contains("--quick"), Torch = !args.Contains("--no-torch"), InferenceOnly = args.Contains("--infer-only"),
    Rounds = roundsArg >= 0 && roundsArg + 1 < args.Length ? int.Parse(args[roundsArg + 1]) : null,
});
if (args.Contains("--json")) Console.WriteLine(result.ToJson().ToJsonString());

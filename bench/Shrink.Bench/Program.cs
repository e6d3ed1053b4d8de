using Shrink.Execution;
using Shrink.Profiling;
using Shrink.Tensors;
using Shrink.Zoo;

if (Environment.GetEnvironmentVariable("SHRINK_THREADS") is { } th) Shrink.Kernels.KernelParallel.MaxThreads = int.Parse(th);
// Usage: Shrink.Bench [--quick] [--json] [--no-torch] [--infer-only] [--rounds N] | ab <model> <batch> [rounds] [runs] | gemm [m,n,k...] | lowrank [...] | profile <model> <batch> [train|infer] [steps]
if (args.Length > 0 && args[0] == "gemm") { Shrink.Bench.GemmBench.RunArgs(args[1..]); return; }
if (args.Length > 0 && args[0] == "lowrank") { Shrink.Bench.LowRankBench.RunArgs(args[1..]); return; }
if (args.Length > 0 && args[0] == "convs")
{
    foreach (var c in Bench.ResNet18Convs())
    {
        double f = Bench.MeasureConv(c, quick: true);
        double b = Bench.MeasureConvBackward(c, quick: true);
        double gflop = 2.0 * 128 * c.Cout * Math.Pow((c.H + 2 * c.Pad - c.Kernel) / c.Stride + 1, 2) * c.Cin * c.Kernel * c.Kernel / 1e9;
        Console.WriteLine($"{c.Key,-24} fwd {f,8:F2} ms ({gflop / f * 1000,6:F1} GF/s)  bwd {b,8:F2} ms ({2 * gflop / b * 1000,6:F1} GF/s)");
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
    var graph = ModelZoo.Create(model);
    var timer = new OpTimer();
    if (mode == "train")
    {
        Bench.MeasureTraining(model, batch, 1);
        var trainer = new Shrink.Training.Trainer(graph, new Shrink.Execution.Losses.CrossEntropyLoss(),
            new Shrink.Execution.Optimizers.Sgd(graph.TrainableParameters, momentum: 0.9), new Shrink.Execution.Schedules.ConstantLr(0.01));
        var images = new Tensor(graph.Inputs[0].Shape.WithBatch(batch));
        Init.Uniform(images, -1, 1, new Random(3));
        var labels = Enumerable.Range(0, batch).Select(i => i % 10).ToArray();
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
    }
    else
    {
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
    Console.WriteLine(timer.Detail(25));
    return;
}
int roundsArg = Array.IndexOf(args, "--rounds");
var result = Bench.RunAll(new BenchOptions
{
    Quick = args.Contains("--quick"), Torch = !args.Contains("--no-torch"), InferenceOnly = args.Contains("--infer-only"),
    Rounds = roundsArg >= 0 && roundsArg + 1 < args.Length ? int.Parse(args[roundsArg + 1]) : null,
});
if (args.Contains("--json")) Console.WriteLine(result.ToJson().ToJsonString());

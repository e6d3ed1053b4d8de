using System.Diagnostics;
using Shrink.Execution;
using Shrink.Kernels;
using Shrink.Tensors;
using Shrink.Zoo;

namespace Shrink.Bench;

/// <summary>
/// In-process A/B timing of the AVX2 (Vector256) fast paths against what ran before them, alternating old and new so
/// that a noisy machine hits both alike. <c>kab</c> times single kernels on MobileNet v2's shapes; <c>trainab</c> times
/// whole training steps. Switches: dw256 (depthwise), pwgrad (pointwise weight gradient), pwdirect (pointwise forward
/// and data gradient), wino32 (forward / data-gradient Winograd from 32 channels on AVX2), all.
/// </summary>
internal static class KernelAb
{
    public static void Set(string name, bool on)
    {
        if (name is "dw256" or "all") FlatPlane.Blocked256 = on;
        if (name is "pwgrad" or "all") PointwiseWeightGradient.Enabled256 = on;
        if (name is "pwdirect" or "all") PointwiseDirect.Enabled = on;
        if (name is "pwnarrow") PointwiseDirect.EnabledNarrow = on;
        if (name is "clip" or "all") Shrink.Ops.Clip.Fused = on;
        if (name is "clipfwd" or "all") Shrink.Execution.Tape.FuseClipForward = on;
        if (name is "wgrad") ConvGemm.WeightGradientV2 = on;
        if (name is "winowgrad") Winograd.WeightEnabled = on;
        if (name is "wino32") Winograd.Narrow256 = on;
    }

    private static double Med(List<double> l) { var s = l.OrderBy(v => v).ToList(); return s[s.Count / 2]; }

    private static double Time(Action a)
    {
        long t0 = Stopwatch.GetTimestamp();
        a();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    /// <summary>trainab &lt;model&gt; &lt;batch&gt; &lt;pairs&gt; &lt;switch&gt;: training steps alternating switch off (A) and on (B).</summary>
    public static void Train(string[] args)
    {
        string model = args[0], sw = args.Length > 3 ? args[3] : "all";
        int batch = int.Parse(args[1]), pairs = int.Parse(args[2]);
        var (_, trainer, images, labels) = Shrink.Profiling.Bench.SyntheticTraining(model, batch);
        var t = new[] { new List<double>(), new List<double>() };
        var cpu = new[] { new List<double>(), new List<double>() };
        var proc = Process.GetCurrentProcess();
        for (int i = 0; i < 2 * pairs + 2; i++)
        {
            int b = i % 2;
            Set(sw, b == 1);
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            double ms = Time(() => trainer.Step(images, labels));
            proc.Refresh();
            if (i >= 2) { t[b].Add(ms); cpu[b].Add((proc.TotalProcessorTime - c0).TotalMilliseconds); }
        }
        Set(sw, true);
        Console.WriteLine($"{model} bs{batch} switch {sw}: A(off) {Med(t[0]):F0} ms = {batch * 1000 / Med(t[0]):F1} images/s, "
            + $"B(on) {Med(t[1]):F0} ms = {batch * 1000 / Med(t[1]):F1} images/s, speed-up {Med(t[0]) / Med(t[1]):F3}");
        Console.WriteLine($"  cpu: A {Med(cpu[0]):F0} ms, B {Med(cpu[1]):F0} ms, speed-up {Med(cpu[0]) / Med(cpu[1]):F3}");
        Console.WriteLine($"  A: {string.Join(" ", t[0].Select(v => v.ToString("F0")))}");
        Console.WriteLine($"  B: {string.Join(" ", t[1].Select(v => v.ToString("F0")))}");
        Console.WriteLine($"  A cpu: {string.Join(" ", cpu[0].Select(v => v.ToString("F0")))}");
        Console.WriteLine($"  B cpu: {string.Join(" ", cpu[1].Select(v => v.ToString("F0")))}");
    }

    /// <summary>wgprobe [batch] [pairs]: forward, data gradient and weight gradient of 3×3 stride-1 convs (ResNet-18 /
    /// ResNet-20 / VGG-11 shapes and the narrower cores of factorised models), im2col + GEMM (A) against Winograd called
    /// directly (B), alternating; speed-ups of the medians of CPU time — what the Winograd dispatch rules are set from.
    /// Run it with DOTNET_TieredCompilation=0: its dozen calls per kernel are too few for tiered JIT to reach optimised code
    /// (the first shapes then read Winograd 10× slower than it is).</summary>
    public static void Probe(string[] args)
    {
        int batch = args.Length > 0 ? int.Parse(args[0]) : 128, pairs = args.Length > 1 ? int.Parse(args[1]) : 5;
        var rng = new Random(1);
        float[] R(long n) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = rng.NextSingle() - 0.5f; return a; }
        var proc = Process.GetCurrentProcess();
        double Cpu(Action a)
        {
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            a();
            proc.Refresh();
            return (proc.TotalProcessorTime - c0).TotalMilliseconds;
        }
        foreach (var (cin, hw, cout) in new[] { (16, 28, 16), (16, 28, 16), (32, 28, 32), (32, 14, 32), (48, 14, 48), (16, 14, 32), (32, 7, 64),
            (32, 14, 64), (64, 7, 64), (64, 28, 64), (128, 14, 128), (256, 7, 256), (512, 4, 512), (64, 14, 128), (128, 7, 256) })
        {
            var d = new ConvDims(batch, cin, hw, hw, cout, 1, new Window2d(3, 3, 1, 1, 1, 1, 1, 1, hw, hw));
            var x = R((long)d.N * d.InImage); var dy = R((long)d.N * d.OutImage); var w = R((long)d.Cout * d.K);
            var y = new float[dy.Length]; var dx = new float[x.Length]; var dw = new float[w.Length];
            var work = new (string Name, Action Im2col, Action Winograd)[]
            {
                ("fwd", () => ConvGemm.Forward(d, x, w, default, y), () => Winograd.Forward(d, x, w, default, y)),
                ("data", () => ConvGemm.BackwardData(d, dy, w, dx), () => Winograd.BackwardData(d, dy, w, dx)),
                ("weight", () => ConvGemm.BackwardWeight(d, x, dy, dw, default), () => Winograd.BackwardWeight(d, x, dy, dw)),
            };
            var line = new List<string>();
            foreach (var (name, im2col, winograd) in work)
            {
                var cpu = new[] { new List<double>(), new List<double>() };
                Winograd.Enabled = false;
                for (int r = 0; r < 2 * pairs + 2; r++)
                {
                    double ms = Cpu(r % 2 == 0 ? im2col : winograd);
                    if (r >= 2) cpu[r % 2].Add(ms);
                }
                Winograd.Enabled = true;
                line.Add($"{name} {Med(cpu[0]),6:F1} -> {Med(cpu[1]),6:F1} ms ({Med(cpu[0]) / Med(cpu[1]),4:F2}x)");
            }
            Console.WriteLine($"{cin,3}->{cout,-3} {hw,2}x{hw,-2} bs{batch}: {string.Join("   ", line)}");
        }
    }

    /// <summary>kab &lt;switch&gt; [images] [rounds]: the kernels behind the switch on MobileNet v2's shapes, off vs on.</summary>
    public static void Kernels(string[] args)
    {
        string sw = args.Length > 0 ? args[0] : "all";
        int imgs = args.Length > 1 ? int.Parse(args[1]) : 16, rounds = args.Length > 2 ? int.Parse(args[2]) : 7;
        var rng = new Random(1);
        float[] R(long n) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = rng.NextSingle() - 0.5f; return a; }
        var cases = new List<(string Name, Action Run)>();
        if (sw is "dw256" or "all")
            foreach (var (c, hw, s) in new[] { (32, 28, 1), (96, 28, 1), (144, 28, 1), (144, 28, 2), (192, 14, 1), (192, 14, 2), (384, 7, 1), (576, 7, 1), (576, 7, 2), (960, 4, 1) })
            {
                int o = (hw + 2 - 3) / s + 1;
                var d = new ConvDims(imgs, c, hw, hw, c, c, new Window2d(3, 3, s, s, 1, 1, 1, 1, o, o));
                var x = R((long)imgs * d.InImage); var w = R(c * 9); var y = R((long)imgs * d.OutImage); var dw = new float[c * 9]; var dx = new float[x.Length];
                cases.Add(($"dw {c}x{hw} s{s} fwd", () => ConvGemm.Forward(d, x, w, default, y)));
                cases.Add(($"dw {c}x{hw} s{s} data", () => ConvGemm.BackwardData(d, y, w, dx)));
                cases.Add(($"dw {c}x{hw} s{s} weight", () => ConvGemm.BackwardWeight(d, x, y, dw, default)));
            }
        if (sw is "pwgrad" or "pwdirect" or "pwnarrow" or "all")
            foreach (var (cin, hw, cout) in new[] { (32, 28, 16), (16, 28, 96), (96, 28, 24), (24, 28, 144), (144, 28, 24), (144, 14, 32), (32, 14, 192), (192, 14, 32), (192, 7, 64), (64, 7, 384), (576, 7, 96), (96, 7, 576), (160, 4, 960), (960, 4, 160), (960, 4, 320), (320, 4, 1280) })
            {
                var d = new ConvDims(imgs, cin, hw, hw, cout, 1, new Window2d(1, 1, 1, 1, 0, 0, 1, 1, hw, hw));
                var x = R((long)imgs * d.InImage); var w = R(cout * cin); var y = R((long)imgs * d.OutImage); var dw = new float[cout * cin]; var dx = new float[x.Length];
                if (sw is "pwdirect" or "pwnarrow" or "all")
                {
                    cases.Add(($"pw {cin}x{hw}->{cout} fwd", () => ConvGemm.Forward(d, x, w, default, y)));
                    cases.Add(($"pw {cin}x{hw}->{cout} data", () => ConvGemm.BackwardData(d, y, w, dx)));
                }
                if (sw is "pwgrad" or "all") cases.Add(($"pw {cin}x{hw}->{cout} weight", () => ConvGemm.BackwardWeight(d, x, y, dw, default)));
            }
        if (sw is "wgrad")
            foreach (var (cin, hw, cout, st) in new[] { (64, 28, 64, 1), (64, 28, 128, 2), (128, 14, 128, 1), (128, 14, 256, 2), (256, 7, 256, 1), (256, 7, 512, 2), (512, 4, 512, 1) })
            {
                int o = (hw + 2 - 3) / st + 1;
                var d = new ConvDims(imgs, cin, hw, hw, cout, 1, new Window2d(3, 3, st, st, 1, 1, 1, 1, o, o));
                var x = R((long)imgs * d.InImage); var y = R((long)imgs * d.OutImage); var dw = new float[cout * d.K];
                double gf = 2.0 * cout * d.K * d.P * imgs / 1e6;
                cases.Add(($"3x3 {cin}x{hw}->{cout} s{st} weight ({gf / 1000:F1} GF)", () => ConvGemm.BackwardWeight(d, x, y, dw, default)));
            }
        // Warm-up of both sides until the tiered JIT has promoted the kernels (several seconds on a busy machine).
        for (int pass = 0; pass < 3; pass++)
        {
            foreach (var (_, run) in cases)
                for (int r = 0; r < 4; r++) { Set(sw, r % 2 == 1); run(); }
            Thread.Sleep(700);
        }
        foreach (var (name, run) in cases)
        {
            var t = new[] { new List<double>(), new List<double>() };
            var cpu = new[] { new List<double>(), new List<double>() };
            var proc = Process.GetCurrentProcess();
            for (int r = 0; r < 2 * rounds + 2; r++)
            {
                int b = r % 2;
                Set(sw, b == 1);
                proc.Refresh();
                var c0 = proc.TotalProcessorTime;
                double ms = Time(run);
                proc.Refresh();
                if (r >= 2) { t[b].Add(ms); cpu[b].Add((proc.TotalProcessorTime - c0).TotalMilliseconds); }
            }
            Set(sw, true);
            Console.WriteLine($"{name,-28} off {Med(t[0]),8:F2} ms  on {Med(t[1]),8:F2} ms  x{Med(t[0]) / Med(t[1]),5:F2}"
                + $"   cpu off {Med(cpu[0]),8:F1} on {Med(cpu[1]),8:F1} x{Med(cpu[0]) / Med(cpu[1]),5:F2}");
        }
    }
}

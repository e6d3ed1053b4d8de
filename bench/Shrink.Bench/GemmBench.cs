using System.Diagnostics;
using System.Runtime.InteropServices;
using Shrink.Kernels;

namespace Shrink.Bench;

/// <summary>SGEMM throughput (GFLOP/s, median of several runs) of Shrink's kernel vs OpenBLAS's cblas_sgemm,
/// measured side by side in one process. OpenBLAS is loaded dynamically and is optional.</summary>
public static unsafe class GemmBench
{
    public readonly record struct Result(string Shape, double Shrink, double OpenBlas);

    private const string OpenBlasPath = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0";
    private static delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> s_cblas;

    public static (int m, int n, int k, bool tA, bool tB)[] DefaultShapes =>
    [
        (1024, 1024, 1024, false, false), (256, 256, 256, false, false), (2048, 2048, 2048, false, false),
        (1, 1000, 512, false, true), (64, 3136, 64, false, false), (128, 784, 1152, false, false),
        (16, 784, 8, false, false), (1024, 1024, 1024, true, true),
    ];

    /// <summary>Command line: no arguments = <see cref="DefaultShapes"/>; otherwise shapes "m,n,k[,tA,tB]" (tA/tB = 0/1).</summary>
    public static List<Result> RunArgs(string[] args)
    {
        if (args.Length == 0) return Run();
        var shapes = args.Select(s => s.Split(',').Select(int.Parse).ToArray())
            .Select(v => (v[0], v[1], v[2], v.Length > 3 && v[3] != 0, v.Length > 4 && v[4] != 0)).ToArray();
        return Run(0.4, shapes);
    }

    public static List<Result> Run(double secondsPerShape = 0.6, (int m, int n, int k, bool tA, bool tB)[]? shapes = null)
    {
        if (s_cblas == null && Environment.GetEnvironmentVariable("NO_OPENBLAS") == null && NativeLibrary.TryLoad(OpenBlasPath, out var lib))
            s_cblas = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)
                NativeLibrary.GetExport(lib, "cblas_sgemm");
        var results = new List<Result>();
        Console.WriteLine($"threads={KernelParallel.MaxThreads} level={Gemm.ActiveLevel}");
        Console.WriteLine($"{"shape",-28} {"Shrink GF/s",12} {"OpenBLAS GF/s",14} {"ratio",7}");
        foreach (var (m, n, k, tA, tB) in shapes ?? DefaultShapes)
        {
            var rng = new Random(1);
            var a = new float[m * k];
            var b = new float[k * n];
            var c = new float[m * n];
            for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
            for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble() - 0.5f;
            int lda = tA ? m : k, ldb = tB ? k : n;
            double flops = 2.0 * m * n * k;
            double ours = Measure(() => Gemm.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, n), flops, secondsPerShape);
            double theirs = double.NaN;
            if (s_cblas != null)
            {
                theirs = Measure(() =>
                {
                    fixed (float* pa = a, pb = b, pc = c)
                        s_cblas(101, tA ? 112 : 111, tB ? 112 : 111, m, n, k, 1, pa, lda, pb, ldb, 0, pc, n);
                }, flops, secondsPerShape);
            }
            string shape = $"{m}x{n}x{k}{(tA ? " tA" : "")}{(tB ? " tB" : "")}";
            Console.WriteLine($"{shape,-28} {ours,12:F1} {theirs,14:F1} {ours / theirs,7:F2}");
            results.Add(new Result(shape, ours, theirs));
        }
        return results;
    }

    private static double Measure(Action run, double flops, double seconds)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < 0.15) run(); // warm-up: tiered JIT, pack buffers, worker threads
        sw.Restart();
        run();
        double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
        int reps = (int)Math.Clamp(seconds / once, 3, 2000);
        int inner = once < 1e-3 ? (int)Math.Ceiling(1e-3 / once) : 1; // batch tiny calls so the timer resolves them
        reps = Math.Max(3, reps / inner);
        var times = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            sw.Restart();
            for (int i = 0; i < inner; i++) run();
            times[r] = sw.Elapsed.TotalSeconds / inner;
        }
        Array.Sort(times);
        return flops / times[reps / 2] / 1e9;
    }
}

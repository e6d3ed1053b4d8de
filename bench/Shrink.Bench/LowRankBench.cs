using System.Diagnostics;
using Shrink.Compression.LowRank;

namespace Shrink.Bench;

/// <summary>
/// CP-ALS and Tucker-2 timings on random conv weights (Kaiming-uniform scale):
/// `Shrink.Bench lowrank [sweeps] [--full] [--sizes=64,256,512] [--parts]`.
/// For each weight and rank: the time of a 1-sweep run (HOSVD start + one sweep + final error), the time per extra sweep
/// (from runs of 1 and 1 + sweeps sweeps), the relative error; with --full also one run with default options.
/// Tucker-2: HOSVD + up to 5 HOOI sweeps at (out/4, in/4) and (out/2, in/2). The before/after numbers of the GEMM
/// rewrite, measured against the pre-rewrite code, are recorded in docs/lowrank.md.
/// </summary>
public static class LowRankBench
{
    public static void RunArgs(string[] args)
    {
        int sweeps = args.Length > 0 && int.TryParse(args[0], out int s) ? s : 2;
        bool full = args.Contains("--full");
        if (args.Contains("--parts")) { Parts(); return; }
        int[] sizes = args.Where(a => a.StartsWith("--sizes=", StringComparison.Ordinal))
            .Select(a => a["--sizes=".Length..].Split(',').Select(int.Parse).ToArray()).FirstOrDefault() ?? [64, 256, 512];
        Console.WriteLine($"threads={Environment.ProcessorCount}; medians, seconds");
        Console.WriteLine($"{"case",-30} {"1-sweep",8} {"/sweep",8} {"error",9}");
        foreach (int n in sizes)
        {
            var w = Weight(n, n, 3, 3, seed: n);
            foreach (int r in new[] { 32, 128, 256 })
            {
                double e = 0;
                double t1 = Median(3, () => e = CpAls.Decompose(w, r, new CpOptions { MaxIterations = 1, Tolerance = 0, WorkBudget = 0 }).RelativeError);
                double tn = Median(3, () => e = CpAls.Decompose(w, r, new CpOptions { MaxIterations = 1 + sweeps, Tolerance = 0, WorkBudget = 0 }).RelativeError);
                double per = Math.Max(tn - t1, 1e-9) / sweeps;
                Console.WriteLine($"{$"CP {n}x{n}x3x3 R={r}",-30} {t1,8:F3} {per,8:F4} {e,9:F6}");
                if (full)
                {
                    var sw = Stopwatch.StartNew();
                    var cp = CpAls.Decompose(w, r);
                    Console.WriteLine($"{"  default options",-30} {sw.Elapsed.TotalSeconds,8:F2} s, {cp.Iterations} sweeps, converged={cp.Converged}, budget spent={cp.BudgetSpent}, error {cp.RelativeError:F4}");
                }
            }
            foreach (int div in new[] { 4, 2 })
            {
                int rk = n / div;
                double e = 0;
                double t = Median(3, () => e = Tucker2.Decompose(w, rk, rk, 5).RelativeError);
                Console.WriteLine($"{$"Tucker2 {n}x{n}x3x3 ({rk},{rk})",-30} {t,8:F3} {"",8} {e,9:F6}");
            }
        }
    }

    /// <summary>Building blocks: the double GEMM of a 512×512×3×3 R=256 MTTKRP, a 512 mode Gram, and MathNet's 512×512 symmetric EVD.</summary>
    private static void Parts()
    {
        var w = Weight(512, 512, 3, 3, seed: 1);
        var kr = new double[4608 * 256];
        var m = new double[512 * 256];
        new Random(2).NextBytes(new byte[1]);
        for (int i = 0; i < kr.Length; i++) kr[i] = Math.Sin(i);
        double t = Median(5, () => Shrink.Kernels.Dgemm.Multiply(false, false, 512, 256, 4608, 1, w.Data, 4608, kr, 256, 0, m, 256));
        Console.WriteLine($"dgemm 512x256x4608: {t * 1e3:F1} ms = {2.0 * 512 * 256 * 4608 / t / 1e9:F1} GFLOP/s");
        double[] g = [];
        t = Median(3, () => g = w.ModeGram(0));
        Console.WriteLine($"mode-0 Gram 512: {t * 1e3:F1} ms");
        var gm = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(512, 512, (p, q) => g[p * 512 + q]);
        t = Median(3, () => gm.Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric));
        Console.WriteLine($"MathNet symmetric EVD 512: {t * 1e3:F1} ms");
    }

    private static DenseTensor Weight(int o, int i, int kh, int kw, int seed)
    {
        var rng = new Random(seed);
        var t = new DenseTensor([o, i, kh, kw]);
        double bound = 1 / Math.Sqrt(i * kh * kw);
        for (int k = 0; k < t.Length; k++) t.Data[k] = (float)((rng.NextDouble() * 2 - 1) * bound);
        return t;
    }

    private static double Median(int runs, Action a)
    {
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}

using System.Diagnostics;
using Shrink.Compression.LowRank;
using L = Shrink.Bench.Legacy;

namespace Shrink.Bench;

/// <summary>
/// CP-ALS and Tucker-2 timings on random conv weights (Kaiming-uniform scale), the code before the GEMM rewrite
/// (bench/Shrink.Bench/Legacy) and the current one side by side in one process:
/// `Shrink.Bench lowrank [sweeps] [--full] [--sizes=64,256,512] [--parts]`.
/// For each weight and rank: the time of a 1-sweep run (HOSVD start + one sweep + final error), the time per extra sweep
/// (from runs of 1 and 1 + sweeps sweeps), the relative errors of both; with --full also one run of the new code with
/// default options. Tucker-2: HOSVD + up to 5 HOOI sweeps at (out/4, in/4) and (out/2, in/2).
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
        Console.WriteLine($"threads={Environment.ProcessorCount}; before = main@257857a (bench/Shrink.Bench/Legacy), after = this build; medians, seconds");
        Console.WriteLine($"{"case",-30} {"1-sweep old",12} {"new",8} {"/sweep old",11} {"new",8} {"speedup",8} {"err old",9} {"err new",9}");
        foreach (int n in sizes)
        {
            var w = Weight(n, n, 3, 3, seed: n);
            var lw = new L.DenseTensor(w.Dims, (double[])w.Data.Clone());
            int reps = n >= 512 ? 1 : 3;
            foreach (int r in new[] { 32, 128, 256 })
            {
                double e0 = 0, e1 = 0;
                double o1 = Median(reps, () => e0 = L.CpAls.Decompose(lw, r, new L.CpOptions { MaxIterations = 1, Tolerance = 0 }).RelativeError);
                double n1 = Median(3, () => e1 = CpAls.Decompose(w, r, new CpOptions { MaxIterations = 1, Tolerance = 0, TimeBudgetSeconds = 0 }).RelativeError);
                double on = Median(reps, () => e0 = L.CpAls.Decompose(lw, r, new L.CpOptions { MaxIterations = 1 + sweeps, Tolerance = 0 }).RelativeError);
                double nn = Median(3, () => e1 = CpAls.Decompose(w, r, new CpOptions { MaxIterations = 1 + sweeps, Tolerance = 0, TimeBudgetSeconds = 0 }).RelativeError);
                double po = Math.Max(on - o1, 1e-9) / sweeps, pn = Math.Max(nn - n1, 1e-9) / sweeps;
                Console.WriteLine($"{$"CP {n}x{n}x3x3 R={r}",-30} {o1,12:F3} {n1,8:F3} {po,11:F4} {pn,8:F4} {po / pn,7:F1}x {e0,9:F6} {e1,9:F6}");
                if (full)
                {
                    var sw = Stopwatch.StartNew();
                    var cp = CpAls.Decompose(w, r);
                    Console.WriteLine($"{"  default options (new)",-30} {sw.Elapsed.TotalSeconds,8:F2} s, {cp.Iterations} sweeps, converged={cp.Converged}, timed out={cp.TimedOut}, error {cp.RelativeError:F4}");
                }
            }
            foreach (int div in new[] { 4, 2 })
            {
                int rk = n / div;
                double e0 = 0, e1 = 0;
                double to = Median(reps, () => e0 = L.Tucker2.Decompose(lw, rk, rk, 5).RelativeError);
                double tn = Median(3, () => e1 = Tucker2.Decompose(w, rk, rk, 5).RelativeError);
                Console.WriteLine($"{$"Tucker2 {n}x{n}x3x3 ({rk},{rk})",-30} {to,12:F3} {tn,8:F3} {"",11} {"",8} {to / tn,7:F1}x {e0,9:F6} {e1,9:F6}");
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

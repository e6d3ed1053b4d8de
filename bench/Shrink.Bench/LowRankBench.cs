using System.Diagnostics;
using Shrink.Compression.LowRank;

namespace Shrink.Bench;

/// <summary>
/// CP-ALS and Tucker-2 timings on random conv weights (Kaiming-uniform scale): `Shrink.Bench lowrank [sweeps] [--full]`.
/// For each weight and rank: the time of a 1-sweep run (HOSVD start + one sweep + final error), the median time per
/// extra sweep (from runs of 1 and 1 + sweeps sweeps) and, with --full, one run with the default options (iterations,
/// error, seconds). Tucker-2: HOSVD + 5 HOOI sweeps at (out/4, in/4) and (out/2, in/2).
/// </summary>
public static class LowRankBench
{
    public static void RunArgs(string[] args)
    {
        int sweeps = args.Length > 0 && int.TryParse(args[0], out int s) ? s : 4;
        bool full = args.Contains("--full");
        if (args.Contains("--parts")) { Parts(); return; }
        int[] sizes = args.Where(a => a.StartsWith("--sizes=", StringComparison.Ordinal))
            .Select(a => a["--sizes=".Length..].Split(',').Select(int.Parse).ToArray()).FirstOrDefault() ?? [64, 256, 512];
        Console.WriteLine($"{"case",-26} {"1 sweep s",10} {"per sweep s",12} {"full: its",10} {"err",8} {"s",8}");
        foreach (int n in sizes)
        {
            var w = Weight(n, n, 3, 3, seed: n);
            foreach (int r in new[] { 32, 128, 256 })
            {
                double t1 = Median(3, () => CpAls.Decompose(w, r, new CpOptions { MaxIterations = 1, Tolerance = 0, TimeBudgetSeconds = 0 }));
                double tn = Median(1, () => CpAls.Decompose(w, r, new CpOptions { MaxIterations = 1 + sweeps, Tolerance = 0, TimeBudgetSeconds = 0 }));
                string tail = "";
                if (full)
                {
                    var sw = Stopwatch.StartNew();
                    var cp = CpAls.Decompose(w, r);
                    tail = $"{cp.Iterations,10} {cp.RelativeError,8:F4} {sw.Elapsed.TotalSeconds,8:F2}";
                }
                Console.WriteLine($"{$"CP {n}x{n}x3x3 R={r}",-26} {t1,10:F3} {(tn - t1) / sweeps,12:F4} {tail}");
            }
            foreach (int div in new[] { 4, 2 })
            {
                int rk = n / div;
                Tucker2Result? t = null;
                double tt = Median(n >= 512 ? 1 : 3, () => t = Tucker2.Decompose(w, rk, rk, 5));
                Console.WriteLine($"{$"Tucker2 {n}x{n}x3x3 ({rk},{rk})",-26} {tt,10:F3} {"",12} {t!.Sweeps,10} {t.RelativeError,8:F4}");
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

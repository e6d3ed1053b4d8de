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

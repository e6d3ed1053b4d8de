using System.Diagnostics;
using Shrink.Compression.LowRank;
using Shrink.Conductor;
using Shrink.Data;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Bench;

/// <summary>
/// <c>sensab &lt;model&gt; [images] [layers]</c>: the sensitivity curves' measurements, whole-model evaluation against
/// <see cref="SuffixEvaluator"/>, per layer: 8 factorised versions of it (ranks 1–8 of Tucker-2 or SVD, composed
/// beforehand, not timed), each measured on the same random images. CPU seconds of each, and a check that both read
/// the same accuracy. <c>layers</c> is a comma list of names (default: every layer the composer would analyse).
/// </summary>
public static class SensitivityBench
{
    public static void RunArgs(string[] args)
    {
        string name = args[0];
        int images = args.Length > 1 ? int.Parse(args[1]) : 1000;
        var model = ModelZoo.Create(name, seed: 1);
        foreach (var p in model.Parameters.Where(p => p.Shape.Rank == 1 && p.Data.Span.IndexOfAnyExcept(0f) < 0 && p.Name.EndsWith("weight", StringComparison.Ordinal)))
            p.Data.Fill(1); // residual blocks start as the identity: give them a say
        var pixels = new byte[images * 28 * 28];
        new Random(5).NextBytes(pixels);
        var data = new Dataset("random", pixels, Enumerable.Range(0, images).Select(i => i % 10).ToArray(), 1, 28, 28, 10);
        var norm = Normalization.Compute(data);
        var layers = Composer.Candidates(model).Where(l => l.Optimize).ToList();
        if (args.Length > 2) layers = layers.Where(l => args[2].Split(',').Contains(l.Name)).ToList();

        var proc = Process.GetCurrentProcess();
        double Cpu() { proc.Refresh(); return proc.TotalProcessorTime.TotalSeconds; }
        double wholeTotal = 0, suffixTotal = 0;
        Console.WriteLine($"{name}, {images} images, 8 ranks per layer; CPU seconds");
        foreach (var layer in layers)
        {
            var versions = Enumerable.Range(1, 8).Select(r =>
            {
                var g = model.Clone();
                LowRankPasses.Apply(g, new LowRankPlan([KeyValuePair.Create(layer.Name, layer.Method == LowRankMethod.Svd ? LayerRank.Svd(r) : LayerRank.Tucker2(r, r))]));
                return g;
            }).ToList();
            double t0 = Cpu();
            var whole = versions.Select(g => Evaluation.Evaluate(g, data, norm).AccuracyPercent).ToList();
            double t1 = Cpu();
            using var suffix = SuffixEvaluator.TryCreate(model, layer.Name, data, norm);
            var part = versions.Select(g => suffix?.AccuracyPercent(g) ?? Evaluation.Evaluate(g, data, norm).AccuracyPercent).ToList();
            double t2 = Cpu();
            wholeTotal += t1 - t0;
            suffixTotal += t2 - t1;
            Console.WriteLine($"{layer.Name,-22} whole {t1 - t0,7:F2}  suffix {t2 - t1,7:F2}  ({(t1 - t0) / (t2 - t1):F2}×){(whole.SequenceEqual(part) ? "" : "  ACCURACIES DIFFER")}");
        }
        Console.WriteLine($"{"total",-22} whole {wholeTotal,7:F2}  suffix {suffixTotal,7:F2}  ({wholeTotal / suffixTotal:F2}×)");
    }
}

using Shrink.Compression.LowRank;
using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Conductor;

/// <summary>
/// Builds the composed list: every conv and dense layer of the model with the decision to optimise or freeze it. Rules,
/// in order: grouped/depthwise convs are frozen (already cheap; the passes do not factorise them); the first conv is
/// frozen (it sees raw pixels and holds few weights); layers under <see cref="TinyFraction"/> of the model's parameters
/// are frozen (nothing to gain); layers with no parameter-saving rank are frozen; then the sensitivity curve is measured
/// and a layer whose accuracy collapses even at its break-even rank is frozen, as is the classifier when it is
/// sensitive (more than the allowed drop at its middle rank). Convs get CP where CP fits (CP-ALS is neither degenerate
/// nor worse than a Tucker-2 of the same size at the layer's energy rank, with a relative error ≤ <see cref="CpMaxError"/>), Tucker-2 otherwise; 1x1 convs and dense
/// layers get SVD.
/// </summary>
public static class Composer
{
    /// <summary>Layers holding less than this fraction of the model's parameters are frozen.</summary>
    public const double TinyFraction = 0.01;

    /// <summary>A layer losing more than this many points (no training) at its break-even rank is frozen.</summary>
    public const double CollapseDrop = 25;

    /// <summary>
    /// CP is kept for a conv only when its relative error at the layer's energy rank is at most this: a poorly fitting CP
    /// is also hard to fine-tune (its four-factor chain amplifies SGD steps), where Tucker-2 recovers smoothly.
    /// </summary>
    public const double CpMaxError = 0.3;

    /// <summary>The structural part of the composed list (no measurement): geometry, ladder, method guess and the structural rules.</summary>
    public static List<LayerChoice> Candidates(Graph.Graph model)
    {
        var layers = new List<LayerChoice>();
        long total = Math.Max(1, model.ParameterCount);
        bool seenConv = false;
        var classifier = Classifier(model);
        foreach (var node in model.TopologicalOrder())
        {
            LayerChoice? c = null;
            if (node.Op is Conv conv && node.ParameterInput(1) is { } w && w.Shape.Rank == 4)
            {
                bool first = !seenConv;
                seenConv = true;
                var g = LowRankPass.Geometry(node);
                bool pointwise = g.KernelH == 1 && g.KernelW == 1;
                long p = node.Inputs.Where(v => v.Parameter is not null).Sum(v => (long)v.Parameter!.Data.Length);
                c = new LayerChoice
                {
                    Name = node.Name, Kind = "conv", Out = g.Out, In = g.In, KernelH = g.KernelH, KernelW = g.KernelW,
                    H = g.H, W = g.W, OutH = g.OutH, OutW = g.OutW, HasBias = node.Inputs.Count > 2, Params = p,
                    Macs = Math.Max(0, LowRankCost.ConvMacs(g)), Method = pointwise ? LowRankMethod.Svd : LowRankMethod.Cp,
                };
                string? why = conv.Group != 1 ? $"grouped conv (group {conv.Group}): already cheap"
                    : LowRankPass.WhyNotConv(node) is { } n ? n
                    : first ? "first conv: sees the raw pixels and holds few weights" : null;
                c = Decide(c, why, total, LowRankCost.BreakEvenRank(g, c.Method == LowRankMethod.Cp ? LowRankMethod.Tucker2 : c.Method));
            }
            else if (node.Op is Gemm gemm && !gemm.TransA && node.ParameterInput(1) is { } b && b.Shape.Rank == 2)
            {
                int outF = gemm.TransB ? b.Shape[0] : b.Shape[1], inF = gemm.TransB ? b.Shape[1] : b.Shape[0];
                long p = node.Inputs.Where(v => v.Parameter is not null).Sum(v => (long)v.Parameter!.Data.Length);
                c = new LayerChoice
                {
                    Name = node.Name, Kind = "linear", Out = outF, In = inF, HasBias = node.Inputs.Count > 2, Params = p,
                    Macs = LowRankCost.LinearMacs(outF, inF), Method = LowRankMethod.Svd,
                };
                c = Decide(c, null, total, LowRankCost.BreakEvenRank(outF, inF));
                if (node == classifier) c = c with { Reason = c.Optimize ? "classifier" : c.Reason };
            }
            if (c is not null) layers.Add(c);
        }
        return layers;
    }

    private static LayerChoice Decide(LayerChoice c, string? why, long total, int breakEven)
    {
        if (why is null && c.Params < TinyFraction * total) why = $"tiny: {c.Params} parameters, {100.0 * c.Params / total:F2}% of the model";
        if (why is null && breakEven < 2) why = "no rank below full saves parameters";
        if (why is not null) return c with { Optimize = false, Reason = why };
        // CP's useful ranks reach further than its break-even against Tucker-2's; the ladder stops at the layer's own break-even.
        int top = c.Kind == "conv" && c.Method == LowRankMethod.Cp ? CpBreakEven(c) : breakEven;
        return c with { Optimize = true, Ladder = LayerChoice.MakeLadder(Math.Max(1, top)), Reason = "optimised" };
    }

    private static int CpBreakEven(LayerChoice c)
    {
        long original = LowRankCost.ConvParams(c.Geometry, false);
        int r = 1;
        while (LowRankCost.CpParams(c.Geometry, r + 1, false) < original) r++;
        return r;
    }

    /// <summary>The dense layer whose output reaches the graph output through parameter-free nodes only (null if none).</summary>
    public static Node? Classifier(Graph.Graph model)
    {
        if (model.Outputs.Count != 1) return null;
        var v = model.Outputs[0];
        while (v.Producer is { } p)
        {
            if (p.Op is Gemm or Conv) return p.Op is Gemm ? p : null;
            if (p.Inputs.Count(i => i.Parameter is null) != 1) return null;
            v = p.Inputs.First(i => i.Parameter is null);
        }
        return null;
    }

    /// <summary>
    /// Measures the sensitivity curves of the optimisable layers (accuracy in points from <paramref name="measure"/>,
    /// only that layer factorised at <paramref name="points"/> ladder ranks, no training), picks CP or Tucker-2 per conv
    /// and applies the sensitivity rules. <paramref name="baseline"/> is the original's accuracy on the same images.
    /// </summary>
    public static List<LayerChoice> Analyze(Graph.Graph model, FactorCache cache, Func<Graph.Graph, double> measure, double baseline,
        double maxDrop, int points, Action<LayerChoice>? onLayer = null, CancellationToken cancel = default)
    {
        var classifier = Classifier(model)?.Name;
        var result = new List<LayerChoice>();
        foreach (var c0 in Candidates(model))
        {
            cancel.ThrowIfCancellationRequested();
            var c = c0;
            if (!c.Optimize)
            {
                result.Add(c);
                onLayer?.Invoke(c);
                continue;
            }
            if (c.Kind == "conv" && c.Method == LowRankMethod.Cp)
            {
                // CP where it fits: ask the CP pass at the layer's energy rank; it falls back to Tucker-2 when CP is degenerate or worse.
                var node = model.FindNode(c.Name)!;
                int energy = LowRankPasses.EnergyRank(node, LowRankMethod.Cp, 0.9)?.Rank ?? c.Ladder[c.Ladder.Length / 2];
                int probe = c.Ladder[c.IndexOf(Math.Min(energy, c.Ladder[^1]))];
                var report = cache.Report(c.Name, LayerRank.Cp(probe));
                if (report.Applied.Method == LowRankMethod.Tucker2 || report.RelativeError > CpMaxError)
                {
                    int top = LowRankCost.BreakEvenRank(c.Geometry, LowRankMethod.Tucker2);
                    string why = report.Applied.Method == LowRankMethod.Tucker2 ? report.Note ?? "CP fell back"
                        : $"CP error {report.RelativeError:G3} at rank {probe} is above {CpMaxError}";
                    c = c with { Method = LowRankMethod.Tucker2, Ladder = LayerChoice.MakeLadder(Math.Max(1, top)), Reason = $"Tucker-2: {why}" };
                }
                else c = c with { Reason = $"CP (error {report.RelativeError:G3} at rank {probe})" };
            }
            var indices = Enumerable.Range(0, Math.Max(1, points))
                .Select(k => points <= 1 ? c.Top : (int)Math.Round((double)k * c.Top / (points - 1)))
                .Distinct().Order().ToArray();
            var drops = new double[indices.Length];
            for (int k = 0; k < indices.Length; k++)
            {
                cancel.ThrowIfCancellationRequested();
                var (g, _) = cache.Compose(new Dictionary<string, LayerRank> { [c.Name] = c.ToLayerRank(c.Ladder[indices[k]]) });
                drops[k] = baseline - measure(g);
            }
            c = c with { Measured = indices, Curve = LayerChoice.Interpolate(c.Ladder.Length, indices, drops) };
            if (c.DropAt(c.Top) > CollapseDrop)
                c = c with { Optimize = false, Reason = $"too sensitive: loses {c.DropAt(c.Top):F1} points even at rank {c.Ladder[^1]}" };
            else if (c.Name == classifier && c.DropAt(c.Top / 2) > maxDrop)
                c = c with { Optimize = false, Reason = $"classifier is sensitive: loses {c.DropAt(c.Top / 2):F1} points at rank {c.Ladder[c.Top / 2]}" };
            result.Add(c);
            onLayer?.Invoke(c);
        }
        return result;
    }
}

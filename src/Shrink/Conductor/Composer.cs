using Shrink.Compression.LowRank;
using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Conductor;

/// <summary>
/// Builds the composed list: every conv and dense layer of the model with the decision to optimise or freeze it. Rules,
/// in order: grouped/depthwise convs are frozen (already cheap; the passes do not factorise them); the first conv is
/// frozen (it sees raw pixels and holds few weights); the smallest layers, as long as together they hold under
/// <see cref="TinyFraction"/> of the model's cost under the objective, are frozen (nothing to gain); layers with no parameter-saving rank are frozen; then the sensitivity curve is measured
/// and a layer whose accuracy collapses even at its break-even rank is frozen, as is the classifier when it is
/// sensitive (more than the allowed drop at its middle rank). Convs get CP where CP fits (CP-ALS is neither degenerate
/// nor worse than a Tucker-2 of the same size at the layer's energy rank, with a relative error ≤ <see cref="CpMaxError"/>), Tucker-2 otherwise; 1x1 convs and dense
/// layers get SVD.
/// </summary>
public static class Composer
{
    /// <summary>The smallest layers are frozen as long as together they hold at most this fraction of the model's cost (parameters for size).</summary>
    public const double TinyFraction = 0.01;

    /// <summary>A layer losing more than this many points (no training) at its break-even rank is frozen.</summary>
    public const double CollapseDrop = 25;

    /// <summary>
    /// CP is kept for a conv only when its relative error at the layer's energy rank is at most this: a poorly fitting CP
    /// is also hard to fine-tune (its four-factor chain amplifies SGD steps), where Tucker-2 recovers smoothly.
    /// </summary>
    public const double CpMaxError = 0.3;

    /// <summary>
    /// The structural part of the composed list (no measurement): geometry, ladder, method guess and the structural rules,
    /// the tiny rule judged under <paramref name="objective"/>.
    /// </summary>
    public static List<LayerChoice> Candidates(Graph.Graph model, Objective objective = Objective.Size)
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
                c = Decide(c, why, LowRankCost.BreakEvenRank(g, c.Method == LowRankMethod.Cp ? LowRankMethod.Tucker2 : c.Method));
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
                c = Decide(c, null, LowRankCost.BreakEvenRank(outF, inF));
                if (node == classifier) c = c with { Reason = c.Optimize ? "classifier" : c.Reason };
            }
            if (c is not null) layers.Add(c);
        }
        return FreezeTiny(layers, total, objective);
    }

    /// <summary>
    /// The tiny rule: the smallest still-optimisable layers are frozen as long as, together, they hold at most
    /// <see cref="TinyFraction"/> of the model's cost under the objective — its parameters for size, the MACs of its
    /// layers for MACs and latency, the mean of both shares for size+macs (a 28×28 conv of ResNet-18 holds 0.3% of the
    /// parameters but 6% of the MACs). Judged on the sum, not per layer: a dozen layers of 0.9% each are 10% of the
    /// model — a third of it once the rest is compressed 3× — and are worth factorising.
    /// </summary>
    private static List<LayerChoice> FreezeTiny(List<LayerChoice> layers, long totalParams, Objective objective)
    {
        double totalMacs = Math.Max(1, layers.Sum(l => l.Macs));
        double ParamShare(LayerChoice l) => (double)l.Params / totalParams;
        double MacShare(LayerChoice l) => l.Macs / totalMacs;
        double Share(LayerChoice l) => objective switch
        {
            Objective.Size => ParamShare(l),
            Objective.SizeAndMacs => (ParamShare(l) + MacShare(l)) / 2,
            _ => MacShare(l),
        };
        double sum = 0;
        var tiny = new HashSet<string>(StringComparer.Ordinal);
        // Layers frozen for having no saving rank count too (and are reported as tiny when they are).
        foreach (var l in layers.Where(l => l.Optimize || l.Reason == NoSaving).OrderBy(Share).ThenBy(l => l.Params))
        {
            if (sum + Share(l) > TinyFraction) break;
            sum += Share(l);
            tiny.Add(l.Name);
        }
        string What(LayerChoice l) => objective == Objective.Size
            ? $"{l.Params} parameters, {100 * ParamShare(l):F2}% of the model"
            : $"{l.Params} parameters ({100 * ParamShare(l):F2}%) and {l.Macs:N0} MACs ({100 * MacShare(l):F2}%), {100 * Share(l):F2}% of the model's cost";
        return layers.Select(l => tiny.Contains(l.Name)
            ? l with
            {
                Optimize = false, Ladder = [],
                Reason = $"tiny: {What(l)} (the smallest layers, {100 * sum:F2}% together, are left as they are)",
            }
            : l).ToList();
    }

    /// <summary>
    /// A lower bound on what any search can leave of <paramref name="model"/>: the parameters and MACs per sample with every
    /// layer the structural rules of <see cref="Candidates"/> leave optimisable at the bottom of its ladder, by the cheapest
    /// of its methods there, and everything else as it is. (Sensitivity may freeze more layers, which only raises it.)
    /// </summary>
    public static (long Params, long Macs) Floor(Graph.Graph model, long macs, Objective objective = Objective.Size)
    {
        var layers = Candidates(model, objective).Where(l => l.Optimize).ToList();
        long Cheapest(LayerChoice l, Func<LayerChoice, long> cost) =>
            l.Kind == "conv" && l.Method == LowRankMethod.Cp ? Math.Min(cost(l), cost(l with { Method = LowRankMethod.Tucker2 })) : cost(l);
        long savedParams = layers.Sum(l => Math.Max(0, l.Params - Cheapest(l, c => c.FactoredParams(c.Ladder[0]))));
        long savedMacs = layers.Sum(l => Math.Max(0, l.Macs - Cheapest(l, c => c.FactoredMacs(c.Ladder[0]))));
        return (model.ParameterCount - savedParams, macs - savedMacs);
    }

    private static LayerChoice Decide(LayerChoice c, string? why, int breakEven)
    {
        if (why is null && breakEven < 2) why = NoSaving;
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

    private const string NoSaving = "no rank below full saves parameters";

    /// <summary>Reason given to an optimisable layer left frozen because the time for sensitivity ran out.</summary>
    public const string NotAnalysed = "not analysed";

    /// <summary>
    /// Measures the sensitivity curves of the optimisable layers (accuracy in points from <paramref name="measure"/>, given
    /// the layer and the model with only that layer factorised, at <paramref name="points"/> ladder ranks, no training;
    /// one layer's measurements come one after the other), picks CP or Tucker-2 per conv
    /// and applies the sensitivity rules. <paramref name="baseline"/> is the original's accuracy on the same images.
    /// Layers are analysed largest first; once <paramref name="outOfTime"/> says so (checked between layers, after at
    /// least one was analysed), the rest stay frozen as <see cref="NotAnalysed"/>. The list comes back in graph order.
    /// </summary>
    public static List<LayerChoice> Analyze(Graph.Graph model, FactorCache cache, Func<string, Graph.Graph, double> measure, double baseline,
        double maxDrop, int points, Action<LayerChoice>? onLayer = null, Func<bool>? outOfTime = null, Objective objective = Objective.Size,
        CancellationToken cancel = default)
    {
        var classifier = Classifier(model)?.Name;
        var candidates = Candidates(model, objective);
        var result = new LayerChoice[candidates.Count];
        int analysed = 0;
        foreach (int at in Enumerable.Range(0, candidates.Count).OrderBy(i => candidates[i].Optimize ? 0 : 1).ThenByDescending(i => candidates[i].Params).ThenBy(i => i))
        {
            cancel.ThrowIfCancellationRequested();
            var c = candidates[at];
            if (c.Optimize && analysed > 0 && outOfTime?.Invoke() == true)
                c = c with { Optimize = false, Reason = $"{NotAnalysed}: the time budget's share for sensitivity was spent" };
            if (!c.Optimize)
            {
                result[at] = c;
                onLayer?.Invoke(c);
                continue;
            }
            analysed++;
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
                drops[k] = baseline - measure(c.Name, g);
            }
            c = c with { Measured = indices, Curve = LayerChoice.Interpolate(c.Ladder.Length, indices, drops) };
            if (c.DropAt(c.Top) > CollapseDrop)
                c = c with { Optimize = false, Reason = $"too sensitive: loses {c.DropAt(c.Top):F1} points even at rank {c.Ladder[^1]}" };
            else if (c.Name == classifier && c.DropAt(c.Top / 2) > maxDrop)
                c = c with { Optimize = false, Reason = $"classifier is sensitive: loses {c.DropAt(c.Top / 2):F1} points at rank {c.Ladder[c.Top / 2]}" };
            result[at] = c;
            onLayer?.Invoke(c);
        }
        return [.. result];
    }
}

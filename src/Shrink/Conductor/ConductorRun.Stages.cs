using Shrink.Graph;

namespace Shrink.Conductor;

internal sealed partial class ConductorRun
{
    /// <summary>Stage 1 plans with at most this many times the allowed drop, summed over the no-training sensitivity curves (fine-tuning recovers most of it).</summary>
    public const double Stage1Allowance = 2.0;

    // ---- Stage 1: exploration ----

    /// <summary>
    /// Initial ranks: every layer at its break-even rank, then <see cref="Descend"/> while the summed sensitivity stays
    /// within <see cref="Stage1Allowance"/> × the allowed drop.
    /// </summary>
    private Dictionary<string, int> InitialRanks() =>
        Descend(Optimised.ToDictionary(l => l.Name, l => l.Ladder[^1]), Stage1Allowance * Aim);

    /// <summary>
    /// Greedily takes the notch down that saves the most cost per point of predicted drop, from <paramref name="ranks"/>,
    /// while the summed no-training sensitivity stays within <paramref name="allowance"/>.
    /// </summary>
    private Dictionary<string, int> Descend(IReadOnlyDictionary<string, int> ranks, double allowance) =>
        Descend(Optimised.ToList(), ranks, allowance, LayerCost);

    /// <summary>
    /// <see cref="Descend(IReadOnlyDictionary{string, int}, double)"/> over <paramref name="layers"/>, with
    /// <paramref name="cost"/>(layer, ladder index) the objective's price of a layer, moving at most
    /// <paramref name="maxLayers"/> layers away from <paramref name="ranks"/>.
    /// </summary>
    internal static Dictionary<string, int> Descend(IReadOnlyList<LayerChoice> layers, IReadOnlyDictionary<string, int> ranks, double allowance,
        Func<LayerChoice, int, double> cost, int maxLayers = int.MaxValue)
    {
        var idx = layers.ToDictionary(l => l.Name, l => l.IndexOf(ranks[l.Name]));
        var moved = new HashSet<string>();
        while (true)
        {
            double sum = layers.Sum(l => l.DropAt(idx[l.Name]));
            LayerChoice? pick = null;
            double bestScore = double.NegativeInfinity;
            foreach (var l in layers)
            {
                int i = idx[l.Name];
                if (i == 0 || (moved.Count >= maxLayers && !moved.Contains(l.Name))) continue;
                double extra = l.DropAt(i - 1) - l.DropAt(i);
                if (sum + extra > allowance) continue;
                double score = (cost(l, i) - cost(l, i - 1)) / (Math.Max(0, extra) + 0.01);
                if (score > bestScore)
                {
                    bestScore = score;
                    pick = l;
                }
            }
            if (pick is null) break;
            idx[pick.Name]--;
            moved.Add(pick.Name);
        }
        return layers.ToDictionary(l => l.Name, l => l.Ladder[idx[l.Name]]);
    }

    /// <summary>
    /// After a round that met the constraint with room to spare: descend further until the summed sensitivity, scaled by
    /// α fitted to the measured rounds, predicts 0.9 × the aim (delta less the margin).
    /// </summary>
    private Dictionary<string, int> Tighten(IReadOnlyDictionary<string, int> ranks)
    {
        var next = Descend(ranks, 0.9 * Aim / Alpha());
        if (!next.SequenceEqual(ranks)) return next;
        // The measurement says there is room the predictor does not see: take the single cheapest notch anyway.
        return Descend(ranks, SensitivitySum(ranks) + Optimised.Where(l => l.IndexOf(ranks[l.Name]) > 0)
            .Select(l => l.DropAt(l.IndexOf(ranks[l.Name]) - 1) - l.DropAt(l.IndexOf(ranks[l.Name]))).DefaultIfEmpty(0).Min());
    }

    /// <summary>
    /// Gives rank back where accuracy is lost most cheaply: with α fitted to the measured rounds, the summed sensitivity
    /// should fall to 0.9 × the aim / α; notches go up one at a time on the layer whose next notch removes the most predicted
    /// drop per unit of cost (always at least one notch).
    /// </summary>
    private Dictionary<string, int> Relax(IReadOnlyDictionary<string, int> ranks)
    {
        var layers = Optimised.ToList();
        var idx = layers.ToDictionary(l => l.Name, l => l.IndexOf(ranks[l.Name]));
        double target = 0.9 * Aim / Alpha();
        for (int moved = 0; ; moved++)
        {
            if (moved > 0 && layers.Sum(l => l.DropAt(idx[l.Name])) <= target) break;
            LayerChoice? pick = null;
            double bestScore = double.NegativeInfinity;
            foreach (var l in layers)
            {
                int i = idx[l.Name];
                if (i >= l.Top) continue;
                double gain = l.DropAt(i) - l.DropAt(i + 1);
                double score = (gain + 1e-3) / Math.Max(1e-12, LayerCost(l, i + 1) - LayerCost(l, i));
                if (score > bestScore)
                {
                    bestScore = score;
                    pick = l;
                }
            }
            if (pick is null) break;
            idx[pick.Name]++;
        }
        return layers.ToDictionary(l => l.Name, l => l.Ladder[idx[l.Name]]);
    }

    private void Stage1Step()
    {
        int round = State.Step;
        var ranks = State.Ranks.Count == 0 ? InitialRanks() : new Dictionary<string, int>(State.Ranks);
        double sens = SensitivitySum(ranks);
        Report("stage1", round, _budget.Stage1Rounds, $"composing; predicted no-training drop {sens:F2} points, fine-tuning {_budget.Stage1Steps} steps", ranks);
        var (g, _) = _cache.Compose(Plan(ranks));
        Refit(g, ranks.Keys);
        string? tuneNote = FineTune(g, _budget.Stage1Steps, SeedFor(1, round), Deadline(AnnealShare));
        if (tuneNote is not null) Report("stage1", round, _budget.Stage1Rounds, tuneNote, ranks);
        var (acc, margin) = MeasureCandidate(g);
        double drop = State.Original!.ValidationAccuracy - acc;
        double cost = CostRatio(g);
        bool ok = Within(drop, margin);
        State.History.Add(new StateRecord
        {
            Stage = "stage1", Step = round, Ranks = ranks, SensitivitySum = sens, PredictedDrop = sens * Alpha(), CostRatio = cost,
            SizeMb = Profiling.Profiler.SizeMb(g), Macs = Profiling.Profiler.Profile(g).MacsPerSample,
            Measured = true, Accuracy = acc, Drop = drop, Margin = margin, Accepted = ok,
            Note = (ok ? "meets the accuracy constraint" : "too much accuracy lost") + (tuneNote is null ? "" : $"; {tuneNote}"),
        });
        Report("stage1", round, _budget.Stage1Rounds, (ok ? $"meets the constraint, cost {cost:P1} of the original" : $"drop above {_c.MaxAccuracyDrop}")
            + (margin > 0 ? $" (margin {margin:F2})" : ""), ranks, acc, drop, ok ? cost : null);
        var record = State.History[^1];
        if (Better(record, State.Best)) Remember(g, record);
        // Stage 1 searches: a failing round gives rank back (after a feasible round too: the measured pair brackets the
        // allowed drop and α, fitted to both, aims between them — as long as that is predicted cheaper than the feasible
        // round); a passing round with room to spare takes more away; it ends when the next ranks were measured before or
        // rounds run out.
        var relaxed = ok ? null : Relax(ranks);
        var next = !ok ? (WorthRelaxing(State.Best, relaxed is null ? 1 : PredictedCostRatio(relaxed)) ? relaxed : null)
            : drop < 0.7 * Aim ? Tighten(ranks) : null;
        bool measuredBefore = next is not null && State.History.Any(h => h.Stage == "stage1" && StateRecord.Key(h.Ranks) == StateRecord.Key(next));
        // Another round is started only if, taking as long as this one, it ends within the budget's Stage 1 share.
        bool outOfTime = Deadline(Stage1Share) is double end && Elapsed + _stepClock.Elapsed.TotalSeconds > end;
        if (next is not null && !measuredBefore && round + 1 < _budget.Stage1Rounds && outOfTime)
            Note("stage1", FormattableString.Invariant($"time budget: Stage 1 ended after {round + 1} round(s) (another would pass {Stage1Share:P0} of the budget); it keeps the best round so far"));
        else if (next is not null && !measuredBefore && round + 1 < _budget.Stage1Rounds)
        {
            State.Ranks = next;
            State.Step++;
            return;
        }
        ok = State.Best!.Accepted;
        g = LoadModel(State.BestModel!);
        var best = State.Best!;
        State.Stage1 = Metrics(g, best.Accuracy);
        State.Stage1Met = ok;
        State.Stage1Ranks = new Dictionary<string, int>(best.Ranks);
        State.Ranks = new Dictionary<string, int>(best.Ranks);
        State.CurrentAccuracy = best.Accuracy;
        State.CurrentEnergy = Energy(best.CostRatio, best.Drop, best.Margin);
        State.ResultMargin = best.Margin;
        State.CurrentModel = State.BestModel;
        if (_dir is not null) Onnx.OnnxModel.Save(g, Path.Combine(_dir, Stage1File));
        bool reached = _c.TargetsReached(State.Stage1.SizeMb, State.Stage1.Macs, State.Stage1.LatencyMs);
        // A dry run goes through every stage whatever Stage 1 found: its purpose is to check the setup end to end.
        State.Stage = !ok && !_c.DryRun ? "done" : _budget.Stage2Steps > 0 && !reached ? "stage2" : "final";
        State.Step = 0;
    }

    /// <summary>
    /// Whether Stage 1 should measure ranks relaxed after a failing round, predicted to cost <paramref name="relaxedCost"/>:
    /// always while no round met the constraint; after one did, only when the relaxed ranks would be cheaper than it.
    /// </summary>
    internal static bool WorthRelaxing(StateRecord? best, double relaxedCost) => best is not { Accepted: true } || relaxedCost < best.CostRatio;

    /// <summary>A feasible round beats an infeasible one; among feasible rounds the cheaper wins, among infeasible the more accurate.</summary>
    private static bool Better(StateRecord a, StateRecord? b) =>
        b is null || (a.Accepted && (!b.Accepted || a.CostRatio < b.CostRatio)) || (!a.Accepted && !b.Accepted && a.Accuracy > b.Accuracy);

    private void Remember(Graph.Graph g, StateRecord record)
    {
        State.Best = record;
        State.BestModel = StoreModel(g, "best");
    }

    // ---- Stage 2: annealing ----

    /// <summary>
    /// The annealer of Stage 2. Its temperatures follow the size of a move: from the mean cost change of one notch at the
    /// ranks Stage 1 ended with (a 20-layer network's notch moves the cost by a few tenths of a percent, a 3-layer one's by
    /// several percent; a fixed temperature would let the former accept nearly every uphill move and waste its few
    /// measurements). Runs checkpointed before Stage 1 ranks were kept use the former fixed 0.03 → 0.001.
    /// </summary>
    private Annealer MakeAnnealer()
    {
        var (t0, t1) = State.Stage1Ranks is { } r && NotchCost(r) is > 0 and var notch ? Annealer.Temperatures(notch) : (0.03, 0.001);
        return new(Optimised.Select(l => l.Ladder.Length).ToArray(), _c.Seed, t0, t1, downBias: 0.65);
    }

    /// <summary>
    /// How often each layer is proposed: in proportion to what one of its notches changes in the cost at the current ranks
    /// (the mean of the notch down and up), floored at a tenth of the mean so that no layer is never tried. On ResNet-20 a
    /// notch of a 16-channel conv moves the size by ~0.1%, one of a 64-channel conv by ~0.8%: drawn uniformly, half the
    /// few measurements of Stage 2 went to layers that could hardly pay.
    /// </summary>
    private double[] ProposalWeights(List<LayerChoice> layers, IReadOnlyDictionary<string, int> ranks)
    {
        var w = layers.Select(l => NotchCost(l, l.IndexOf(ranks[l.Name])) ?? 0).ToArray();
        double floor = 0.1 * (w.Length == 0 ? 0 : w.Average());
        return w.Select(x => Math.Max(x, floor)).ToArray();
    }

    /// <summary>Mean change of the cost ratio (closed form; MACs for latency) when one layer moves one notch from <paramref name="ranks"/>.</summary>
    private double NotchCost(IReadOnlyDictionary<string, int> ranks) =>
        Optimised.Where(l => ranks.ContainsKey(l.Name)).SelectMany(l => NotchChanges(l, l.IndexOf(ranks[l.Name]))).DefaultIfEmpty(0).Average();

    /// <summary>Mean change of the cost ratio when <paramref name="l"/> moves one notch from ladder index <paramref name="i"/> (null when it cannot move).</summary>
    private double? NotchCost(LayerChoice l, int i) => NotchChanges(l, i).ToList() is { Count: > 0 } d ? d.Average() : null;

    /// <summary>The cost-ratio changes of <paramref name="l"/>'s notch down and notch up from ladder index <paramref name="i"/> (those that exist).</summary>
    private IEnumerable<double> NotchChanges(LayerChoice l, int i)
    {
        if (i > 0) yield return Math.Abs(LayerCost(l, i) - LayerCost(l, i - 1));
        if (i < l.Top) yield return Math.Abs(LayerCost(l, i + 1) - LayerCost(l, i));
    }

    private void Stage2Step()
    {
        int step = State.Step, steps = _budget.Stage2Steps;
        int measured = State.Measurements("stage2");
        double timeFraction = _budget.Time is TimeSpan t ? State.TotalSeconds / t.TotalSeconds : 0;
        string? stop = step >= steps ? "proposal budget spent"
            : measured >= _budget.Stage2Measurements ? "measurement budget spent"
            : timeFraction >= AnnealShare ? "time budget nearly spent"
            : null;
        if (stop is not null)
        {
            if (timeFraction >= AnnealShare && step < steps && measured < _budget.Stage2Measurements)
                State.Notes.Add(FormattableString.Invariant($"time budget: annealing ended at {AnnealShare:P0} of the budget after {step} proposals ({measured} measured)"));
            Report("stage2", steps - 1, steps, $"annealing ends: {stop}");
            State.Stage = "final";
            return;
        }
        var layers = Optimised.ToList();
        var current = State.Ranks;
        var annealer = MakeAnnealer();
        if (AllNeighboursMeasured(layers, current))
        {
            Report("stage2", steps - 1, steps, "annealing ends: every neighbour of the current state was measured from it");
            State.Stage = "final";
            return;
        }
        double progress = Math.Max(Math.Max((double)step / steps, (double)measured / Math.Max(1, _budget.Stage2Measurements)), timeFraction / AnnealShare);
        double temperature = annealer.Temperature(progress);
        var proposal = annealer.Propose(layers.Select(l => l.IndexOf(current[l.Name])).ToArray(), step, ProposalWeights(layers, current));
        if (proposal is null)
        {
            State.Stage = "final";
            return;
        }
        var cand = layers.Select((l, i) => (l.Name, Rank: l.Ladder[proposal[i]])).ToDictionary(x => x.Name, x => x.Rank);
        string changed = layers.First(l => cand[l.Name] != current[l.Name]).Name;
        double currentDrop = State.Original!.ValidationAccuracy - State.CurrentAccuracy;
        double sens = SensitivitySum(cand);
        double predicted = currentDrop + Alpha() * (sens - SensitivitySum(current));
        double predictedCost = PredictedCostRatio(cand);
        string key = StateRecord.Key(cand);
        // Every measured state is cached: a move measured before from the same state is not paid for again.
        string from = StateRecord.Key(current);
        var known = State.History.LastOrDefault(h => h.Measured && h.Stage == "stage2" && h.From == from && StateRecord.Key(h.Ranks) == key);
        // The cost is known before measuring: a move whose cost alone fails this step's Metropolis draw (and cannot become the
        // best feasible state, being dearer than it) would be rejected whatever its accuracy.
        double costBound = predictedCost * (1 - 1e-3);
        bool costFails = _c.Objective != Objective.Latency && (State.Best is null || costBound >= State.Best.CostRatio)
            && annealer.RejectsAtLeast(State.CurrentEnergy, costBound, temperature, step);
        string? screen = known is not null ? $"measured before from here: drop {known.Drop:F2}, {(known.Accepted ? "accepted" : "rejected")}"
            : costFails ? $"its cost {predictedCost:P1} alone fails the acceptance draw at T={temperature:G2}"
            : predicted > Aim + Noise() + PredictionSlack() ? $"predicted drop {predicted:F2} beyond {Aim:F2} (+{Noise():F2} noise, +{PredictionSlack():F2} prediction error)"
            : Energy(predictedCost, predicted - Noise() - PredictionSlack(), LatestMargin) > State.CurrentEnergy + 3 * temperature ? "energy too high even if the prediction errs low"
            : null;
        if (screen is not null)
        {
            State.History.Add(new StateRecord
            {
                Stage = "stage2", Step = step, Ranks = cand, SensitivitySum = sens, PredictedDrop = predicted, CostRatio = predictedCost, Note = $"screened: {screen}",
            });
            Report("stage2", step, steps, $"{changed} {current[changed]}→{cand[changed]} screened ({screen})", cand, best: State.Best?.CostRatio);
            State.Step++;
            return;
        }
        var g = Derive(LoadModel(State.CurrentModel!), cand, [changed]);
        string? tuneNote = FineTune(g, _budget.Stage2FineTuneSteps, SeedFor(2, step), Deadline(AnnealShare));
        var (acc, margin) = MeasureCandidate(g);
        double drop = State.Original.ValidationAccuracy - acc;
        double cost = CostRatio(g);
        string confirm = "";
        if (!Within(drop, margin) && Within(drop - Noise(), margin) && (State.Best is null || cost < State.Best.CostRatio))
        {
            // Short fine-tunes estimate; a promising state just outside delta is confirmed by a longer one.
            FineTune(g, 2 * _budget.Stage2FineTuneSteps, SeedFor(4, step), Deadline(AnnealShare));
            double before = acc;
            (acc, margin) = MeasureCandidate(g);
            confirm = $"; confirmed by a longer fine-tune: {before:F2}% → {acc:F2}%";
            drop = State.Original.ValidationAccuracy - acc;
        }
        double energy = Energy(cost, drop, margin);
        bool accepted = annealer.Accept(State.CurrentEnergy, energy, temperature, step);
        var record = new StateRecord
        {
            Stage = "stage2", Step = step, Ranks = cand, From = from, SensitivitySum = sens, PredictedDrop = predicted, CostRatio = cost,
            SizeMb = Profiling.Profiler.SizeMb(g), Macs = Profiling.Profiler.Profile(g).MacsPerSample, Measured = true, Accuracy = acc, Drop = drop, Margin = margin, Accepted = accepted, Note = (accepted ? "accepted" : "rejected") + confirm + (tuneNote is null ? "" : $"; {tuneNote}"),
        };
        State.History.Add(record);
        if (accepted)
        {
            State.Ranks = cand;
            State.CurrentAccuracy = acc;
            State.CurrentEnergy = energy;
            State.CurrentModel = StoreModel(g, "current");
        }
        if (Within(drop, margin) && (State.Best is null || cost < State.Best.CostRatio))
        {
            State.Best = record;
            State.BestModel = accepted ? State.CurrentModel : StoreModel(g, "best");
        }
        Report("stage2", step, steps, $"{changed} {current[changed]}→{cand[changed]} {(accepted ? "accepted" : "rejected")} at T={temperature:G2}, cost {cost:P1}{confirm}",
            cand, acc, drop, State.Best?.CostRatio);
        State.Step++;
        if (State.Best is { Measured: true, Stage: "stage2" } b && _c.TargetsReached(b.SizeMb, b.Macs, double.MaxValue) && _c.TargetLatencyMs is null)
        {
            Report("stage2", step, steps, "target reached");
            State.Stage = "final";
        }
    }

    /// <summary>
    /// One standard error (points) of an accuracy measured on the validation images: predictions within this of the allowed
    /// drop are worth measuring, since the prediction is itself anchored on such a measurement.
    /// </summary>
    private double Noise()
    {
        double p = Math.Clamp(State.CurrentAccuracy / 100, 0.01, 0.99);
        return 100 * Math.Sqrt(p * (1 - p) / Math.Max(1, _validation.Count));
    }

    private bool AllNeighboursMeasured(List<LayerChoice> layers, IReadOnlyDictionary<string, int> current)
    {
        string from = StateRecord.Key(current);
        var measured = State.History.Where(h => h.Measured && h.Stage == "stage2" && h.From == from).Select(h => StateRecord.Key(h.Ranks)).ToHashSet();
        foreach (var l in layers)
        {
            int i = l.IndexOf(current[l.Name]);
            foreach (int j in new[] { i - 1, i + 1 })
            {
                if (j < 0 || j > l.Top) continue;
                var n = new Dictionary<string, int>(current) { [l.Name] = l.Ladder[j] };
                if (!measured.Contains(StateRecord.Key(n))) return false;
            }
        }
        return true;
    }

    /// <summary>
    /// How far the predictor may be trusted: until three Stage 2 states are measured, the allowed drop itself (the
    /// no-training curves say little about what fine-tuning recovers); then the RMS error of its predictions so far.
    /// </summary>
    private double PredictionSlack()
    {
        var measured = State.History.Where(h => h.Stage == "stage2" && h.Measured).ToList();
        if (measured.Count < 3) return Math.Max(_c.MaxAccuracyDrop, 0.5);
        return Math.Sqrt(measured.Average(h => (h.PredictedDrop - h.Drop) * (h.PredictedDrop - h.Drop)));
    }

    /// <summary>
    /// The candidate model: the original with <paramref name="ranks"/> composed from the factor cache, every parameter
    /// taken from <paramref name="current"/> (fine-tuned) where it exists with the same name and shape — except the
    /// factors of the <paramref name="changed"/> layers, which start afresh from the original layer's factorisation.
    /// </summary>
    private Graph.Graph Derive(Graph.Graph current, IReadOnlyDictionary<string, int> ranks, IReadOnlyCollection<string> changed)
    {
        var (g, _) = _cache.Compose(Plan(ranks));
        var from = current.Parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        string[] fresh = changed.SelectMany(c => new[] { $"{c}.cp.", $"{c}.tucker.", $"{c}.svd." }).ToArray();
        foreach (var p in g.Parameters)
        {
            if (fresh.Any(f => p.Name.StartsWith(f, StringComparison.Ordinal))) continue;
            if (from.TryGetValue(p.Name, out var q) && q.Data.Shape == p.Data.Shape) p.Data.CopyFrom(q.Data);
        }
        Refit(g, changed);
        return g;
    }

    /// <summary>Least-squares re-fit of the last factor of <paramref name="layers"/> against the original's outputs (cheap recovery).</summary>
    private void Refit(Graph.Graph g, IReadOnlyCollection<string> layers)
    {
        if (_budget.RefitSamples > 0) LeastSquaresRefit.Apply(g, _original, layers, _train, _norm, _budget.RefitSamples, _budget.BatchSize);
    }

    // ---- final fine-tune ----

    /// <summary>
    /// The final fine-tune's steps: the budget's, or as many as fit before <see cref="FineTuneShare"/> of the time budget
    /// at the pace of the fine-tunes so far (a full schedule of fewer steps anneals the learning rate properly, where a
    /// cut one would stop at a high rate).
    /// </summary>
    private int FinalStepsWithinBudget()
    {
        if (Deadline(FineTuneShare) is not double end || State.FineTuneSteps == 0) return _budget.FinalSteps;
        double perStep = State.FineTuneSeconds / State.FineTuneSteps;
        double left = end - Elapsed;
        return (int)Math.Clamp(Math.Floor(left / Math.Max(1e-6, perStep)), 0, _budget.FinalSteps);
    }

    private void FinalStep()
    {
        var best = State.Best!;
        var g = LoadModel(State.BestModel!);
        int steps = FinalStepsWithinBudget();
        if (steps < _budget.FinalSteps)
            Note("final", steps == 0 ? "time budget: no time left for the final fine-tune; the best state is kept as measured"
                : $"time budget: final fine-tune shortened to {steps} of {_budget.FinalSteps} steps");
        Report("final", 0, 1, $"fine-tuning the best state for {steps} steps", best.Ranks, best.Accuracy, best.Drop, best.CostRatio);
        if (FineTune(g, steps, SeedFor(3, 0), Deadline(FineTuneShare)) is { } tuneNote) Report("final", 0, 1, tuneNote);
        var (acc, margin) = MeasureCandidate(g);
        if (acc < best.Accuracy && !Within(State.Original!.ValidationAccuracy - acc, margin))
        {
            g = LoadModel(State.BestModel!); // the longer fine-tune made it worse and broke the constraint: keep the measured state
            (acc, margin) = (best.Accuracy, best.Margin);
        }
        State.FinalGain = acc - best.Accuracy;
        SetResult(g, best.Ranks, acc, margin);
        Report("final", 0, 1, "done", best.Ranks, acc, State.Original!.ValidationAccuracy - acc, best.CostRatio);
        State.Stage = _budget.SqueezeRounds > 0 ? "squeeze" : "done";
        State.Step = 0;
    }

    /// <summary>
    /// The result so far: <paramref name="g"/> at <paramref name="ranks"/> after the final fine-tune, measured at
    /// <paramref name="accuracy"/> with <paramref name="margin"/>. It belongs to the last stage that ran: Stage 2's
    /// result, or at level 1 Stage 1's.
    /// </summary>
    private void SetResult(Graph.Graph g, IReadOnlyDictionary<string, int> ranks, double accuracy, double margin)
    {
        State.ResultMargin = margin;
        if (State.History.Any(h => h.Stage == "stage2")) State.Stage2 = Metrics(g, accuracy);
        else State.Stage1 = Metrics(g, accuracy);
        State.Ranks = new Dictionary<string, int>(ranks);
        State.CurrentAccuracy = accuracy;
        State.CurrentModel = StoreModel(g, "final");
        State.BestModel = State.CurrentModel;
    }

    // ---- the squeeze ----

    /// <summary>A state whose layers differ from the result's in more than this many is not given a second chance: each
    /// changed layer starts afresh from its factorisation, and on ResNet-20 nine or twelve at once lost 0.55–0.71 points
    /// more than predicted even after the full fine-tune.</summary>
    public const int MaxSqueezeLayers = 2;

    /// <summary>
    /// Unspent share of the allowed drop that makes the squeeze spend it when no near miss is left (<see cref="SpendSlack"/>).
    /// </summary>
    public const double SlackWorthSpending = 0.4;

    /// <summary>
    /// One round of the squeeze: a second chance for a near miss, or else a descent into the unspent allowance. Short
    /// fine-tunes read low (ResNet-20 level 2: 100-step estimates 0.24–0.56 points under their 200-step confirmations,
    /// which the 600-step final fine-tune beat by another 0.24), so a result fine-tuned in full tends to leave part of the
    /// allowed drop unspent, and states measured as just outside it may well be inside. The cheapest state measured during
    /// the search that is cheaper than the result, failed by less than what the final fine-tune added to the result's own
    /// measurement, and differs from the result in at most <see cref="MaxSqueezeLayers"/> layers is built from the
    /// result's weights (its changed layers freshly factorised and re-fitted), fine-tuned as long as the result, and kept
    /// only if it meets the constraint. Without such a near miss, a result that leaves at least
    /// <see cref="SlackWorthSpending"/> of the allowed drop unspent tries <see cref="SpendSlack"/>'s state the same way.
    /// </summary>
    private void SqueezeStep()
    {
        int round = State.Step, rounds = _budget.SqueezeRounds;
        var ranks = State.Ranks;
        double resultDrop = State.Original!.ValidationAccuracy - State.CurrentAccuracy, slack = _c.MaxAccuracyDrop - resultDrop - State.ResultMargin;
        bool worthSpending = slack >= SlackWorthSpending * _c.MaxAccuracyDrop;
        var nearMiss = State.FinalGain > 0 ? SecondChance(State.History, ranks, State.Best!.CostRatio, State.FinalGain, _c.MaxAccuracyDrop) : null;
        var spend = nearMiss is null && worthSpending ? SpendSlack(ranks, resultDrop, slack) : null;
        var next = nearMiss ?? spend;
        const string outOfTime = "time budget: no time for another full fine-tune";
        string? stop = round >= rounds ? $"{rounds} round(s) done"
            : _c.TargetsReached(Result.SizeMb, Result.Macs, Result.LatencyMs) ? "targets reached"
            : next is null ? $"{NoNearMiss()}, and {NoDescent()}"
            : FinalStepsWithinBudget() < _budget.FinalSteps ? outOfTime
            : null;
        string NoNearMiss() => State.FinalGain <= 0 ? "the final fine-tune gained nothing over the search's measurement"
            : FormattableString.Invariant($"no measured state cheaper than the result failed by less than the final fine-tune's gain ({State.FinalGain:F2} points)");
        string NoDescent() => worthSpending
            ? FormattableString.Invariant($"no untried descent of at most {MaxSqueezeLayers} layers fits into the {slack:F2} unspent points")
            : FormattableString.Invariant($"the {Math.Max(0, slack):F2} unspent points are less than {SlackWorthSpending * 100:F0}% of the allowed drop");
        if (stop is not null)
        {
            if (stop == outOfTime) State.Notes.Add($"{stop} (squeeze round {round + 1})");
            Report("squeeze", round, rounds, $"ends: {stop}");
            State.Stage = "done";
            return;
        }
        var changed = Optimised.Where(l => next!.Ranks[l.Name] != ranks[l.Name]).Select(l => l.Name).ToList();
        string moves = string.Join(", ", changed.Select(n => $"{n} {ranks[n]}→{next!.Ranks[n]}"));
        string chance = nearMiss is not null
            ? FormattableString.Invariant($"second chance for {nearMiss.Stage} step {nearMiss.Step + 1} ({moves}; measured drop {nearMiss.Drop:F2} + margin {nearMiss.Margin:F2})")
            : FormattableString.Invariant($"spending {slack:F2} unspent points ({moves}; predicted drop {spend!.PredictedDrop:F2})");
        Report("squeeze", round, rounds, $"{chance}; fine-tuning {_budget.FinalSteps} steps", next!.Ranks);
        var g = Derive(LoadModel(State.CurrentModel!), next.Ranks, changed);
        string? tuneNote = FineTune(g, _budget.FinalSteps, SeedFor(5, round), Deadline(FineTuneShare));
        var (acc, margin) = MeasureCandidate(g);
        double drop = State.Original.ValidationAccuracy - acc;
        double cost = CostRatio(g);
        bool ok = Within(drop, margin);
        var record = next with
        {
            Stage = "squeeze", Step = round, From = StateRecord.Key(ranks), CostRatio = cost, SizeMb = Profiling.Profiler.SizeMb(g),
            Macs = Profiling.Profiler.Profile(g).MacsPerSample, Measured = true, Accuracy = acc, Drop = drop, Margin = margin, Accepted = ok,
            Note = FormattableString.Invariant($"{chance}: after the final fine-tune drop {drop:F2} + margin {margin:F2}, cost {cost:P1} of the original — ")
                + (ok ? "kept" : "not kept") + (tuneNote is null ? "" : $"; {tuneNote}"),
        };
        State.History.Add(record);
        if (ok)
        {
            State.Best = record;
            SetResult(g, record.Ranks, acc, margin);
        }
        Report("squeeze", round, rounds, ok ? $"kept, cost {cost:P1} of the original" : FormattableString.Invariant($"drop {drop:F2} + margin {margin:F2}: the result stays"),
            record.Ranks, acc, drop, State.Best!.CostRatio);
        State.Step++;
    }

    /// <summary>
    /// The squeeze's descent into <paramref name="slack"/> unspent points of the allowed drop (called when that is at least
    /// <see cref="SlackWorthSpending"/> of it) from the result, which measured <paramref name="resultDrop"/>:
    /// <see cref="Descend"/>, moving at most <see cref="MaxSqueezeLayers"/> layers, while α × the added sensitivity stays
    /// within half the slack (a quarter, an eighth when that state was tried before) — half, because each moved layer
    /// restarts from its factorisation, which the no-training curves do not price. Null when there is no untried such state.
    /// </summary>
    private StateRecord? SpendSlack(IReadOnlyDictionary<string, int> result, double resultDrop, double slack)
    {
        var tried = Squeezed(State.History);
        tried.Add(StateRecord.Key(result));
        double sens = SensitivitySum(result), alpha = Alpha();
        foreach (double share in new[] { 0.5, 0.25, 0.125 })
        {
            var ranks = Descend(Optimised.ToList(), result, sens + share * slack / alpha, LayerCost, MaxSqueezeLayers);
            if (tried.Contains(StateRecord.Key(ranks))) continue;
            double s = SensitivitySum(ranks);
            return new StateRecord { Stage = "squeeze", Ranks = ranks, SensitivitySum = s, PredictedDrop = resultDrop + alpha * (s - sens) };
        }
        return null;
    }

    /// <summary>
    /// The squeeze's next candidate (<see cref="SqueezeStep"/>): among the states measured by Stage 1 and 2, the cheapest one
    /// cheaper than the result (<paramref name="resultCost"/>) that misses <paramref name="maxDrop"/> by less than
    /// <paramref name="gain"/>, differs from <paramref name="result"/> in at most <see cref="MaxSqueezeLayers"/> layers and
    /// was not given its chance before; null when there is none.
    /// </summary>
    internal static StateRecord? SecondChance(IReadOnlyList<StateRecord> history, IReadOnlyDictionary<string, int> result, double resultCost, double gain, double maxDrop)
    {
        var tried = Squeezed(history);
        return history
            .Where(h => h.Measured && h.Stage is ("stage1" or "stage2") && h.CostRatio < resultCost && h.Drop + h.Margin - gain <= maxDrop
                && h.Ranks.Count(kv => result.GetValueOrDefault(kv.Key) != kv.Value) <= MaxSqueezeLayers && !tried.Contains(StateRecord.Key(h.Ranks)))
            .MinBy(h => h.CostRatio);
    }

    /// <summary>The states the squeeze has measured (each is tried once).</summary>
    private static HashSet<string> Squeezed(IEnumerable<StateRecord> history) =>
        history.Where(h => h.Stage == "squeeze").Select(h => StateRecord.Key(h.Ranks)).ToHashSet();

    /// <summary>The metrics of the result so far (the last stage that ran).</summary>
    private ModelMetrics Result => State.Stage2 ?? State.Stage1!;
}

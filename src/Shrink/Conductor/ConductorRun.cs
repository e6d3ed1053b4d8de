using System.Diagnostics;
using Shrink.Compression.LowRank;
using Shrink.Data;
using Shrink.Execution;
using Shrink.Graph;
using Shrink.IO;
using Shrink.Onnx;
using Shrink.Profiling;
using Shrink.Training;

namespace Shrink.Conductor;

/// <summary>
/// One optimisation run: setup (splits, the original's metrics, constraint checks, sensitivity and the composed list),
/// then stage steps — Stage 1 rounds, Stage 2 annealing steps, the final fine-tune — each followed by a checkpoint, and
/// the result written to the run directory. Stages live in ConductorRun.Stages.cs.
/// </summary>
internal sealed partial class ConductorRun
{
    public const string OriginalFile = "original.onnx";
    public const string ModelFile = "model.onnx";
    public const string Stage1File = "stage1.onnx";
    private static readonly string[] RunModelPrefixes = ["best", "current", "final"];
    /// <summary>Energy per point of accuracy drop beyond the allowed one (cost ratios are in (0, 1]).</summary>
    public const double Penalty = 1.0;

    private readonly Constraints _c;
    private readonly OptimizeOptions _o;
    private readonly Budget _budget;
    private readonly string? _dir;
    private readonly DataSplits _data;
    private readonly Normalization _norm;
    private readonly Dataset _train, _validation, _sensitivity, _test;
    private readonly Dictionary<string, Graph.Graph> _memory = [];
    private Graph.Graph _original;
    private FactorCache _cache;
    private Executor? _teacher;
    private TeacherLogits? _teacherLogits;
    private bool _teacherTooLarge;
    /// <summary>Which validation images the original gets right (null with a custom metric): the pairs of every margin.</summary>
    private bool[]? _originalVerdicts;
    private RunState? _state;
    private int _stepsThisProcess;
    /// <summary>Time of the step under way (setup before the first checkpoint), added to the stage's seconds when it ends.</summary>
    private readonly Stopwatch _stepClock = new();

    /// <summary>Shares of <c>--time-budget</c>: sensitivity stops analysing layers at the first, Stage 1 starts no round it
    /// cannot finish by the second, annealing proposes nothing after the third, and fine-tunes stop at the last.</summary>
    public const double SensitivityShare = 0.4, Stage1Share = 0.7, AnnealShare = 0.85, FineTuneShare = 0.95;

    public ConductorRun(Graph.Graph model, DataSplits data, Constraints constraints, OptimizeOptions options, RunState? state)
    {
        _c = constraints;
        _o = options;
        _budget = (options.Budget ?? Budget.For(constraints)) with { Time = constraints.TimeBudget ?? options.Budget?.Time };
        _dir = options.OutputDirectory;
        _state = state;
        _data = data;
        Evaluation.CheckFits(model, data.Train);
        _norm = data.ComputeNormalization();
        var (train, validation) = data.Validation is { } v ? (data.Train, v) : data.Train.SplitValidation(0.1, constraints.Seed);
        _train = train;
        _validation = validation.Subset(_budget.ValidationSamples, constraints.Seed);
        _sensitivity = validation.Subset(_budget.SensitivitySamples, constraints.Seed + 1);
        _test = constraints.DryRun ? data.Test.Subset(1000, constraints.Seed) : data.Test;
        _original = model;
        _cache = new FactorCache(model, options.CpOptions);
    }

    private RunState State => _state!;

    public OptimizationResult Execute()
    {
        bool createdDir = _dir is not null && !Directory.Exists(_dir);
        if (_dir is not null)
        {
            try { Directory.CreateDirectory(_dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ShrinkException($"Cannot create the run directory '{_dir}': {e.Message}");
            }
            if (_state is null)
            {
                if (File.Exists(Path.Combine(_dir, RunState.FileName)))
                    throw new ShrinkException($"'{_dir}' already holds a run; continue it with --resume {_dir}, or choose another --out.");
                OnnxModel.Save(_original, Path.Combine(_dir, OriginalFile));
            }
            // Both a fresh and a resumed run work on the model as stored, so they compute exactly the same things.
            _original = OnnxModel.Load(Path.Combine(_dir, OriginalFile));
            _cache = new FactorCache(_original, _o.CpOptions);
        }
        _teacher = new Executor(_original);
        if (_state is null)
        {
            try
            {
                Start();
            }
            catch (ConstraintException) when (_dir is not null)
            {
                // Constraints found impossible against the model: leave no trace of a run that never started.
                File.Delete(Path.Combine(_dir, OriginalFile));
                if (createdDir && !Directory.EnumerateFileSystemEntries(_dir).Any()) Directory.Delete(_dir);
                throw;
            }
        }
        else
        {
            if (State.OriginalVerdicts is { } v) _originalVerdicts = RunState.UnpackVerdicts(v, _validation.Count);
            Report("resume", 0, 0, $"resuming at {State.Stage} step {State.Step + 1}");
        }
        while (true)
        {
            _o.Cancel.ThrowIfCancellationRequested();
            _stepClock.Restart();
            string stage = State.Stage;
            switch (stage)
            {
                case "stage1": Stage1Step(); break;
                case "stage2": Stage2Step(); break;
                case "final": FinalStep(); break;
                case "squeeze": SqueezeStep(); break;
                case "done": return Finish();
                default: throw new ShrinkException($"Run state names an unknown stage '{stage}'.");
            }
            State.StageSeconds[stage] = State.StageSeconds.GetValueOrDefault(stage) + _stepClock.Elapsed.TotalSeconds;
            _stepClock.Reset();
            Checkpoint();
        }
    }

    // ---- setup ----

    private void Start()
    {
        _stepClock.Restart();
        Report("setup", 0, 0, $"{_original.Name}: {_train.Count} train / {_validation.Count} validation / {_test.Count} test images");
        (double baseline, _originalVerdicts) = MeasureValidation(_original);
        var original = Metrics(_original, baseline);
        _c.ValidateAgainst(original.SizeMb, original.Macs, original.LatencyMs);
        var (floorParams, floorMacs) = Composer.Floor(_original, original.Macs, _c.Objective);
        _c.ValidateReachable(original.SizeMb - (original.Params - floorParams) * sizeof(float) / 1e6, floorMacs);
        Report("setup", 0, 0, $"original: validation {baseline:F2}%, test {original.TestAccuracy:F2}%, {original.SizeMb:F3} MB, {original.Macs:N0} MACs");
        double setupSeconds = _stepClock.Elapsed.TotalSeconds;
        double sensBase = Measure(_original, _sensitivity);
        Func<bool>? outOfTime = _budget.Time is TimeSpan t ? () => _stepClock.Elapsed.TotalSeconds >= SensitivityShare * t.TotalSeconds : null;
        // With top-1 accuracy, a layer's measurements run only the part of the model downstream of it.
        using var suffixes = new SuffixEvaluator.OneLayerAtATime(_original, _sensitivity, _norm, g => Measure(g, _sensitivity), _o.Cancel);
        var layers = Composer.Analyze(_original, _cache, _o.Metric is null ? suffixes.AccuracyPercent : (_, g) => Measure(g, _sensitivity),
            sensBase, _c.MaxAccuracyDrop, _budget.SensitivityPoints,
            l => Report("sensitivity", 0, 0, l.Optimize
                ? $"{l.Name}: {l.Reason}; drop {l.DropAt(0):F1}→{l.DropAt(l.Top):F1} points over ranks {l.Ladder[0]}..{l.Ladder[^1]}"
                : $"{l.Name}: frozen ({l.Reason})"), outOfTime, _c.Objective, _o.Cancel);
        suffixes.Dispose(); // the kept activations are not needed past the curves
        var notes = new List<string>();
        int unanalysed = layers.Count(l => l.Reason.StartsWith(Composer.NotAnalysed, StringComparison.Ordinal));
        if (unanalysed > 0)
        {
            notes.Add(FormattableString.Invariant($"time budget: sensitivity stopped at {SensitivityShare:P0} of the budget; {unanalysed} layer(s) were not analysed and stay frozen"));
            Report("sensitivity", 0, 0, notes[^1]);
        }
        if (!layers.Any(l => l.Optimize))
            throw new ShrinkException($"Nothing in '{_original.Name}' can be factorised: {string.Join("; ", layers.Select(l => $"{l.Name}: {l.Reason}"))}.");
        _state = new RunState
        {
            Model = _o.ModelName ?? _original.Name,
            Dataset = _data.Name,
            DatasetSource = _data.Source,
            Constraints = _c,
            Layers = layers,
            Original = original,
            OriginalVerdicts = _originalVerdicts is null ? null : RunState.PackVerdicts(_originalVerdicts),
            Stage = "stage1",
            Notes = notes,
        };
        State.StageSeconds["setup"] = setupSeconds;
        State.StageSeconds["sensitivity"] = _stepClock.Elapsed.TotalSeconds - setupSeconds;
        _stepClock.Reset();
        Checkpoint();
    }

    // ---- time ----

    /// <summary>Seconds spent by the run so far, this step included.</summary>
    private double Elapsed => (_state?.TotalSeconds ?? 0) + _stepClock.Elapsed.TotalSeconds;

    /// <summary>The point (run seconds) at <paramref name="share"/> of the time budget; null without one.</summary>
    private double? Deadline(double share) => _budget.Time is TimeSpan t ? share * t.TotalSeconds : null;

    private void Note(string stage, string note)
    {
        State.Notes.Add(note);
        Report(stage, 0, 0, note);
    }

    // ---- measurement ----

    private double Measure(Graph.Graph g, Dataset d) =>
        _o.Metric?.Invoke(g, d, _norm) ?? Evaluation.Evaluate(g, d, _norm, cancel: _o.Cancel).AccuracyPercent;

    /// <summary>Accuracy (percent) of <paramref name="g"/> on the validation images and, with top-1 accuracy, its verdict on each.</summary>
    private (double Accuracy, bool[]? Verdicts) MeasureValidation(Graph.Graph g)
    {
        if (_o.Metric is not null) return (Measure(g, _validation), null);
        var verdicts = new bool[_validation.Count];
        return (Evaluation.Evaluate(g, _validation, _norm, cancel: _o.Cancel, hits: verdicts).AccuracyPercent, verdicts);
    }

    /// <summary>
    /// A candidate's validation accuracy and the points held back from the allowed drop for it: the safety margin's
    /// number of standard errors of its drop paired with the original's verdicts (0 with a custom metric).
    /// </summary>
    private (double Accuracy, double Margin) MeasureCandidate(Graph.Graph g)
    {
        var (accuracy, verdicts) = MeasureValidation(g);
        if (verdicts is null || _originalVerdicts is null) return (accuracy, 0);
        return (accuracy, _c.SafetyMargin * PairedDrop.Of(_originalVerdicts, verdicts).StandardError);
    }

    /// <summary>Whether a measured <paramref name="drop"/> with its <paramref name="margin"/> is within the allowed drop.</summary>
    private bool Within(double drop, double margin) => drop + margin <= _c.MaxAccuracyDrop;

    /// <summary>
    /// The drop the planners aim under: the allowed one less the margin of the latest measurement (none before the
    /// first), at least 0.05 points.
    /// </summary>
    private double Aim => Math.Max(_c.MaxAccuracyDrop - LatestMargin, 0.05);

    private double LatestMargin => _state?.History.LastOrDefault(h => h.Measured)?.Margin ?? 0;

    private ModelMetrics Metrics(Graph.Graph g, double validationAccuracy)
    {
        var p = Profiler.Profile(g, batchSize: 1, latencyRuns: _budget.LatencyRuns);
        return new ModelMetrics(validationAccuracy, Measure(g, _test), p.SizeMb, p.MacsPerSample, p.Parameters, p.MemoryMb, p.LatencyBatch1?.MedianMs ?? 0);
    }

    /// <summary>The cost of <paramref name="g"/> relative to the original under the objective (measured, not predicted).</summary>
    private double CostRatio(Graph.Graph g)
    {
        var o = State.Original!;
        double Params() => (double)g.ParameterCount / Math.Max(1, o.Params);
        double Macs() => (double)Profiler.Profile(g).MacsPerSample / Math.Max(1, o.Macs);
        return _c.Objective switch
        {
            Objective.Size => Params(),
            Objective.Macs => Macs(),
            Objective.SizeAndMacs => (Params() + Macs()) / 2,
            _ => Profiler.MeasureLatency(g, g.Inputs[0].Shape.WithBatch(1), Math.Max(5, _budget.LatencyRuns)).MedianMs / Math.Max(1e-9, o.LatencyMs),
        };
    }

    /// <summary>Closed-form cost ratio of <paramref name="ranks"/> (latency is predicted from MACs).</summary>
    private double PredictedCostRatio(IReadOnlyDictionary<string, int> ranks) =>
        1 - Optimised.Sum(l => LayerCost(l, l.Top + 1) - LayerCost(l, l.IndexOf(ranks[l.Name])));

    /// <summary>
    /// What layer <paramref name="l"/> costs under the objective at ladder index <paramref name="i"/> (<c>Top + 1</c>: the
    /// original layer), as a fraction of the original model's total: its parameters for size, its MACs for MACs and for
    /// latency (predicted from MACs), the mean of the two fractions for size+macs. Additive over layers.
    /// </summary>
    private double LayerCost(LayerChoice l, int i)
    {
        var o = State.Original!;
        bool original = i > l.Top;
        double p = (original ? l.Params : l.FactoredParams(l.Ladder[i])) / (double)Math.Max(1, o.Params);
        double m = (original ? l.Macs : l.FactoredMacs(l.Ladder[i])) / (double)Math.Max(1, o.Macs);
        return _c.Objective switch
        {
            Objective.Size => p,
            Objective.SizeAndMacs => (p + m) / 2,
            _ => m,
        };
    }

    private double SensitivitySum(IReadOnlyDictionary<string, int> ranks) =>
        Optimised.Sum(l => l.DropAt(l.IndexOf(ranks[l.Name])));

    private double Energy(double costRatio, double drop, double margin) => costRatio + Penalty * Math.Max(0, drop + margin - _c.MaxAccuracyDrop);

    /// <summary>How measured drops after fine-tuning relate to the summed no-training sensitivity (least squares through 0).</summary>
    private double Alpha()
    {
        double sxy = 0, sxx = 0;
        foreach (var h in State.History.Where(h => h.Measured && h.SensitivitySum > 0))
        {
            sxy += h.SensitivitySum * h.Drop;
            sxx += h.SensitivitySum * h.SensitivitySum;
        }
        return sxx == 0 ? 0.5 : Math.Clamp(sxy / sxx, 0.05, 2);
    }

    private IEnumerable<LayerChoice> Optimised => State.Layers.Where(l => l.Optimize);

    private Dictionary<string, LayerRank> Plan(IReadOnlyDictionary<string, int> ranks) =>
        Optimised.ToDictionary(l => l.Name, l => l.ToLayerRank(ranks[l.Name]));

    // ---- fine-tuning ----

    private int SeedFor(int stage, int step) => new SeededRandom(_c.Seed, 0x5EED, stage, step).Next(int.MaxValue);

    /// <summary>
    /// Knowledge distillation from the original plus cross-entropy on the train split, <paramref name="steps"/> SGD steps.
    /// A fine-tune whose loss turns NaN/Inf (factorisations can start with badly scaled factors) restarts from the same
    /// weights at a tenth of the learning rate; if that diverges too, the model is left as it was before and a note returned.
    /// </summary>
    private string? FineTune(Graph.Graph g, int steps, int seed, double? deadline = null)
    {
        if (steps <= 0) return null;
        var start = g.Parameters.Select(p => p.Data.Clone()).ToArray();
        foreach (float lr in new[] { _budget.LearningRate, _budget.LearningRate / 10 })
        {
            try
            {
                int done = FineTune(g, steps, seed, lr, deadline);
                string? cut = done < steps ? $"fine-tune cut at {done} of {steps} steps (time budget)" : null;
                string? diverged = lr == _budget.LearningRate ? null : $"fine-tune diverged at lr {_budget.LearningRate}; redone at {lr}";
                return cut is null ? diverged : diverged is null ? cut : $"{diverged}; {cut}";
            }
            catch (ShrinkException e) when (e.Message.Contains("The loss became", StringComparison.Ordinal))
            {
                foreach (var (p, w) in g.Parameters.Zip(start)) p.Data.CopyFrom(w);
            }
        }
        return "fine-tune diverged even at a tenth of the learning rate; weights left as factorised";
    }

    /// <summary>The original's logits on the training images, computed at the first fine-tune (null while too large to keep).</summary>
    private TeacherLogits? TrainingLogits()
    {
        if (_teacherLogits is null && !_teacherTooLarge)
        {
            var clock = Stopwatch.StartNew();
            _teacherLogits = TeacherLogits.TryCompute(_teacher!, _train, _norm, _original.Outputs[0].Shape[1], cancel: _o.Cancel);
            _teacherTooLarge = _teacherLogits is null;
            Report("teacher", 0, 0, _teacherTooLarge ? "the original's logits on the training images are too many to keep: the teacher runs with every batch"
                : $"the original's logits on the {_train.Count} training images, kept for every fine-tune ({clock.Elapsed.TotalSeconds:F1} s)");
        }
        return _teacherLogits;
    }

    /// <summary>Runs up to <paramref name="steps"/> steps (fewer when the run passes <paramref name="deadline"/> seconds); returns the steps done.</summary>
    private int FineTune(Graph.Graph g, int steps, int seed, float learningRate, double? deadline)
    {
        var clock = Stopwatch.StartNew();
        var o = new TrainingOptions
        {
            LearningRate = learningRate, Schedule = "cosine", LabelSmoothing = 0, Seed = seed, Teacher = _original,
            BatchSize = _budget.BatchSize,
        };
        var trainer = new Trainer(g, TrainingRun.CreateLoss(o), TrainingRun.CreateOptimizer(g, o), TrainingRun.CreateSchedule(o, steps), seed);
        var loader = new DataLoader(_train, new DataLoaderOptions
        {
            BatchSize = _budget.BatchSize, Shuffle = true, Seed = seed, DropLast = _train.Count >= 2 * _budget.BatchSize, Normalization = _norm,
        });
        var table = TrainingLogits();
        int done = 0;
        for (int epoch = 0; done < steps; epoch++)
        {
            foreach (var batch in loader.Epoch(epoch))
            {
                _o.Cancel.ThrowIfCancellationRequested();
                using var teacherLogits = table is null ? _teacher!.Run(batch.Images) : table.Rows(batch.Indices);
                trainer.Step(batch.Images, batch.Labels, teacherLogits);
                if (++done == steps || (deadline is double d && Elapsed >= d)) break;
            }
            if (deadline is double d2 && Elapsed >= d2) break;
        }
        if (_state is not null)
        {
            State.FineTuneSteps += done;
            State.FineTuneSeconds += clock.Elapsed.TotalSeconds;
        }
        return done;
    }

    // ---- models of the run: files in the run directory, or memory ----

    private string StoreModel(Graph.Graph g, string prefix)
    {
        string name = $"{prefix}-{++State.FileCounter:D4}.onnx";
        if (_dir is null) _memory[name] = g.Clone();
        else OnnxModel.Save(g, Path.Combine(_dir, name));
        return name;
    }

    private Graph.Graph LoadModel(string name)
    {
        if (_dir is null) return _memory.TryGetValue(name, out var g) ? g.Clone() : throw new ShrinkException($"Model '{name}' of the run is missing.");
        string path = Path.Combine(_dir, name);
        if (!File.Exists(path)) throw new ShrinkException($"The run directory lacks '{name}', which its state refers to; it cannot continue.");
        return OnnxModel.Load(path);
    }

    private void Checkpoint()
    {
        if (_dir is not null)
        {
            State.Save(_dir);
            var keep = new HashSet<string>(StringComparer.Ordinal) { OriginalFile, ModelFile, Stage1File };
            if (State.CurrentModel is { } c) keep.Add(c);
            if (State.BestModel is { } b) keep.Add(b);
            // Only the run's own numbered models are ever deleted, never other files someone keeps in the folder.
            foreach (string prefix in RunModelPrefixes)
                foreach (string f in Directory.GetFiles(_dir, $"{prefix}-*.onnx"))
                    if (!keep.Contains(Path.GetFileName(f))) File.Delete(f);
        }
        else
        {
            foreach (string k in _memory.Keys.ToArray())
                if (k != State.CurrentModel && k != State.BestModel) _memory.Remove(k);
        }
        _stepsThisProcess++;
        if (_o.StopAfterSteps is int stop && _stepsThisProcess >= stop)
            throw new OperationCanceledException($"Stopped after {stop} checkpointed steps (test hook).");
    }

    private void Report(string stage, int step, int steps, string message, IReadOnlyDictionary<string, int>? ranks = null,
        double? accuracy = null, double? drop = null, double? best = null) =>
        _o.Progress?.Report(new ConductorProgress(stage, step, steps, ranks is null ? "" : RanksSummary(ranks), accuracy, drop, best, message,
            TimeSpan.FromSeconds(Elapsed)));

    private string RanksSummary(IReadOnlyDictionary<string, int> ranks) =>
        string.Join(" ", Optimised.Select(l => $"{l.Name}:{ranks[l.Name]}"));

    // ---- result ----

    private OptimizationResult Finish()
    {
        var model = LoadModel(State.CurrentModel!);
        var ranks = State.Ranks;
        var rows = State.Layers.Select(l =>
        {
            if (!l.Optimize) return new LayerReportRow(l.Name, l.Kind, false, "", l.Params, l.Params, l.Reason);
            var r = _cache.Report(l.Name, l.ToLayerRank(ranks[l.Name]));
            string? stage1 = State.Stage2 is not null && State.Stage1Ranks?.TryGetValue(l.Name, out int r1) == true
                ? _cache.Report(l.Name, l.ToLayerRank(r1)).Applied.ToString() : null;
            return new LayerReportRow(l.Name, l.Kind, true, r.Applied.ToString(), r.ParamsBefore, r.ParamsAfter, r.Note is null ? l.Reason : $"{l.Reason}; {r.Note}", stage1);
        }).ToList();
        // Latency is compared side by side at the end (warm, alternating, the lower of two medians each), not across
        // the minutes between setup and now.
        if (_budget.LatencyRuns > 0)
        {
            var shape = _original.Inputs[0].Shape.WithBatch(1);
            double before = double.MaxValue, after = double.MaxValue;
            for (int k = 0; k < 2; k++)
            {
                before = Math.Min(before, Profiler.MeasureLatency(_original, shape, _budget.LatencyRuns).MedianMs);
                after = Math.Min(after, Profiler.MeasureLatency(model, shape, _budget.LatencyRuns).MedianMs);
            }
            State.Original = State.Original! with { LatencyMs = before };
            if (State.Stage2 is not null) State.Stage2 = State.Stage2 with { LatencyMs = after };
            else State.Stage1 = State.Stage1! with { LatencyMs = after };
        }
        var result = Result;
        var unmet = new List<string>();
        double drop = State.Original!.ValidationAccuracy - result.ValidationAccuracy;
        double margin = State.ResultMargin;
        if (drop + margin > _c.MaxAccuracyDrop + 1e-9)
            unmet.Add(margin > 0
                ? $"accuracy drop ≤ {_c.MaxAccuracyDrop} points: the best model found loses {drop:F2} points on validation, {drop + margin:F2} with the safety margin ({_c.SafetyMargin:G3} standard errors of that drop)"
                : $"accuracy drop ≤ {_c.MaxAccuracyDrop} points: the best model found loses {drop:F2} points on validation");
        if (_c.TargetSizeMb is double s && result.SizeMb > s) unmet.Add($"target size {s} MB: reached {result.SizeMb:G4} MB");
        if (_c.TargetMacs is long m && result.Macs > m) unmet.Add($"target MACs {m}: reached {result.Macs}");
        if (_c.TargetLatencyMs is double lat && result.LatencyMs > lat) unmet.Add($"target latency {lat} ms: reached {result.LatencyMs:G4} ms");
        var report = new OptimizationReport
        {
            Model = State.Model, Dataset = State.Dataset, Constraints = _c, Original = State.Original!, Stage1 = State.Stage1, Stage2 = State.Stage2,
            ValidationMargin = margin,
            Layers = rows, StageSeconds = new Dictionary<string, double>(State.StageSeconds), Seconds = State.TotalSeconds, Unmet = unmet,
            MeasuredStates = State.History.Count(h => h.Measured), Notes = [.. State.Notes],
            Squeeze = [.. State.History.Where(h => h.Stage == "squeeze").Select(h => h.Note)],
        };
        if (_dir is not null)
        {
            OnnxModel.Save(model, Path.Combine(_dir, ModelFile));
            AtomicFile.WriteText(Path.Combine(_dir, "report.md"), report.ToMarkdown());
            AtomicFile.WriteText(Path.Combine(_dir, "report.json"), report.ToJson().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        }
        return new OptimizationResult(model, Plan(ranks), report);
    }
}

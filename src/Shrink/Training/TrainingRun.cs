using System.Diagnostics;
using Shrink.Data;
using Shrink.Execution.Losses;
using Shrink.Execution.Optimizers;
using Shrink.Execution.Schedules;
using Shrink.Graph;

namespace Shrink.Training;

/// <summary>
/// A training recipe. Defaults: SGD with Nesterov momentum 0.9, weight decay 5e-4, one-cycle LR peaking at
/// <see cref="LearningRate"/> (0.1), label smoothing 0.1, batch 64, 10% of the training split held out for validation.
/// </summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 1;
    public int BatchSize { get; init; } = 64;
    public float LearningRate { get; init; } = 0.1f;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    public bool Nesterov { get; init; } = true;
    public float LabelSmoothing { get; init; } = 0.1f;
    /// <summary>"onecycle", "cosine" (with 1 epoch... of warm-up capped at 5% of steps) or "constant".</summary>
    public string Schedule { get; init; } = "onecycle";
    /// <summary>"sgd" or "adamw".</summary>
    public string Optimizer { get; init; } = "sgd";
    public int Seed { get; init; }
    public Augmentation? Augmentation { get; init; }
    public double ValidationFraction { get; init; } = 0.1;
    /// <summary>Cap on optimizer steps per epoch (quick runs, dry runs); null for full epochs.</summary>
    public int? MaxStepsPerEpoch { get; init; }
    /// <summary>Cap on validation samples evaluated after each epoch; null for the whole split.</summary>
    public int? MaxValidationSamples { get; init; }
    /// <summary>Teacher for knowledge distillation (its logits join the loss); null for plain cross-entropy.</summary>
    public Graph.Graph? Teacher { get; init; }
    public float DistillationTemperature { get; init; } = 4f;
    public float DistillationAlpha { get; init; } = 0.7f;

    /// <summary>
    /// Folder for the run's checkpoint, rewritten after every epoch (the last epoch's model as ONNX, the optimizer
    /// state as .npz, the best epoch's model, and a JSON of the run's progress) and every
    /// <see cref="CheckpointInterval"/> inside an epoch; null for none.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>
    /// How often the checkpoint is also written inside an epoch: after the first step that ends at least this long
    /// after the last checkpoint (epoch end or mid-epoch), and when the run is cancelled mid-epoch, so an interruption
    /// costs minutes rather than an epoch. Zero: after every step; null: at epoch ends only. Not part of the
    /// <see cref="Fingerprint"/>: a resumed run gives the same result whenever its checkpoints were taken.
    /// </summary>
    public TimeSpan? CheckpointInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Continue from the checkpoint in <see cref="CheckpointDirectory"/> when there is one (else start afresh).</summary>
    public bool Resume { get; init; }

    /// <summary>
    /// A digest of every option that changes the result (not the checkpoint folder, interval, resume flag or teacher weights):
    /// a checkpoint is resumed only under the same fingerprint.
    /// </summary>
    public string Fingerprint()
    {
        var a = Augmentation;
        string aug = a is null || !a.IsEnabled ? "none" : FormattableString.Invariant($"pad{a.CropPadding},rrc{a.RandomResizedCrop}:{a.MinCropArea},flip{a.HorizontalFlip}");
        return FormattableString.Invariant(
            $"epochs={Epochs};batch={BatchSize};lr={LearningRate:R};momentum={Momentum:R};wd={WeightDecay:R};nesterov={Nesterov};ls={LabelSmoothing:R};schedule={Schedule.ToLowerInvariant()};optimizer={Optimizer.ToLowerInvariant()};seed={Seed};aug={aug};val={ValidationFraction:R};maxsteps={MaxStepsPerEpoch};maxval={MaxValidationSamples};teacher={(Teacher is null ? "none" : Teacher.Name)};T={DistillationTemperature:R};alpha={DistillationAlpha:R}");
    }
}

/// <summary>Reported after every step (and with <see cref="Validation"/> set at the end of each epoch).</summary>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double Accuracy,
    double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Remaining, float LearningRate, EvalResult? Validation = null);

public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, EvalResult Validation, double Seconds);

/// <summary>
/// The outcome of a run. <paramref name="Seconds"/> is the training time of all epochs (summed over sessions when
/// resumed); <paramref name="ResumedEpochs"/> how many of <paramref name="Epochs"/> came from a checkpoint, and
/// <paramref name="ResumedStep"/> how many steps of the next epoch (a mid-epoch checkpoint).
/// </summary>
public sealed record TrainingResult(IReadOnlyList<EpochRecord> Epochs, EvalResult BestValidation, int BestEpoch, double Seconds,
    int ResumedEpochs = 0, int ResumedStep = 0);

/// <summary>
/// Thrown when a run is cancelled (Ctrl-C): training stopped after the current step, <see cref="CompletedEpochs"/>
/// epochs complete. A run with the same options and <see cref="TrainingOptions.Resume"/> continues from the
/// checkpoint in <see cref="CheckpointDirectory"/> (when there is one): in epoch <see cref="ResumeEpoch"/> (1-based)
/// after its first <see cref="ResumeStep"/> steps.
/// </summary>
public sealed class TrainingInterruptedException(int completedEpochs, int epochs, int step, int stepsPerEpoch,
    int resumeEpoch, int resumeStep, string? checkpointDirectory, CancellationToken token)
    : OperationCanceledException(Describe(completedEpochs, epochs, step, stepsPerEpoch, resumeEpoch, resumeStep, checkpointDirectory), token)
{
    public int CompletedEpochs { get; } = completedEpochs;
    public int Epochs { get; } = epochs;
    public int ResumeEpoch { get; } = resumeEpoch;
    public int ResumeStep { get; } = resumeStep;
    public string? CheckpointDirectory { get; } = checkpointDirectory;

    private static string Describe(int completedEpochs, int epochs, int step, int stepsPerEpoch, int resumeEpoch, int resumeStep, string? directory)
    {
        string where = step == 0
            ? $"Training interrupted after {completedEpochs} of {epochs} epoch(s)"
            : $"Training interrupted in epoch {completedEpochs + 1} of {epochs}, after step {step} of {stepsPerEpoch}";
        if (directory is null) return $"{where}; no checkpoint folder was set, so it cannot be resumed.";
        string resume = resumeEpoch == 1 && resumeStep == 0 ? "no checkpoint was written yet, so resuming starts at epoch 1"
            : resumeStep == 0 ? $"resuming from the checkpoint in '{directory}' starts epoch {resumeEpoch}"
            : resumeStep == stepsPerEpoch ? $"resuming from the checkpoint in '{directory}' validates epoch {resumeEpoch} (all its steps are done)"
            : $"resuming from the checkpoint in '{directory}' continues epoch {resumeEpoch} at step {resumeStep + 1} of {stepsPerEpoch}";
        return $"{where}; {resume}.";
    }
}

/// <summary>
/// Trains a model over epochs of a data set: seeded validation split carved from the training split, z-normalisation
/// from the training split, progress after each step, validation after each epoch, and the best epoch's weights kept
/// (written through <paramref name="onBest"/> when given). With <see cref="TrainingOptions.CheckpointDirectory"/> set,
/// every completed epoch is checkpointed, and a step every <see cref="TrainingOptions.CheckpointInterval"/> in
/// between; <see cref="TrainingOptions.Resume"/> continues from the last checkpoint, mid-epoch ones included. Since
/// the data order is a function of (seed, epoch), the augmentation and dropout of (seed, epoch, position / step) and
/// the schedule of the step count, and a mid-epoch checkpoint keeps the epoch's running loss and accuracy sums, a
/// resumed run equals the uninterrupted one (bit for bit with one kernel thread).
/// </summary>
public static class TrainingRun
{
    /// <summary>Throws a <see cref="ShrinkException"/> naming the first option that cannot work (before any data is loaded).</summary>
    public static void Validate(TrainingOptions options)
    {
        if (options.Epochs < 1) throw new ShrinkException($"Epochs must be at least 1, got {options.Epochs}.");
        if (options.BatchSize < 1) throw new ShrinkException($"Batch size must be at least 1, got {options.BatchSize}.");
        if (!(options.LearningRate > 0)) throw new ShrinkException($"Learning rate must be positive, got {options.LearningRate}.");
        if (options.MaxStepsPerEpoch is < 1) throw new ShrinkException($"Steps per epoch (--max-steps) must be at least 1, got {options.MaxStepsPerEpoch}.");
        if (!(options.WeightDecay >= 0) || double.IsInfinity(options.WeightDecay)) throw new ShrinkException($"Weight decay must be finite and not negative, got {options.WeightDecay}.");
        if (!(options.LabelSmoothing >= 0 && options.LabelSmoothing < 1)) throw new ShrinkException($"Label smoothing must lie in [0, 1), got {options.LabelSmoothing}.");
        // Unknown schedule and optimizer names fail here, before any data is loaded.
        _ = CreateSchedule(options, 1);
        if (options.Optimizer.ToLowerInvariant() is not ("sgd" or "adamw")) throw UnknownOptimizer(options);
        options.Augmentation?.Validate();
        if (options.CheckpointInterval < TimeSpan.Zero) throw new ShrinkException($"The checkpoint interval (--checkpoint-every) must not be negative, got {options.CheckpointInterval}.");
    }

    public static TrainingResult Fit(Graph.Graph graph, DataSplits data, TrainingOptions options,
        IProgress<TrainingProgress>? progress = null, Action<Graph.Graph, EpochRecord>? onBest = null,
        CancellationToken cancel = default)
    {
        Validate(options);
        Evaluation.CheckFits(graph, data.Train);

        var normalization = data.ComputeNormalization();
        var (train, validation) = data.Train.SplitValidation(options.ValidationFraction, options.Seed);
        var loader = new DataLoader(train, new DataLoaderOptions
        {
            BatchSize = options.BatchSize, Shuffle = true, Seed = options.Seed, DropLast = train.Count >= 2 * options.BatchSize,
            Normalization = normalization, Augmentation = options.Augmentation, MaxBatches = options.MaxStepsPerEpoch,
        });
        int stepsPerEpoch = loader.BatchesPerEpoch;
        if (stepsPerEpoch == 0) throw new ShrinkException($"Data set '{train.Name}' has no training samples.");
        int totalSteps = stepsPerEpoch * options.Epochs;
        var trainer = new Trainer(graph, CreateLoss(options), CreateOptimizer(graph, options), CreateSchedule(options, totalSteps), options.Seed);
        var teacher = options.Teacher is null ? null : new Execution.Executor(options.Teacher);

        var epochs = new List<EpochRecord>();
        EvalResult best = default;
        int bestEpoch = -1;
        Dictionary<Parameter, Tensors.Tensor>? bestWeights = null;
        double priorSeconds = 0;
        int firstEpoch = 0;
        PartialEpoch? partial = null;
        var checkpoint = options.CheckpointDirectory is { } dir ? new TrainingCheckpoint(dir) : null;
        string fingerprint = $"{options.Fingerprint()};model={graph.Name}:{graph.ParameterCount};data={train.Name}:{train.Count}:{validation.Count}";
        if (checkpoint is not null && options.Resume && checkpoint.Exists)
        {
            var state = checkpoint.Restore(graph, trainer, fingerprint);
            firstEpoch = state.CompletedEpochs;
            partial = state.Partial;
            if (partial is not null && (partial.Step > stepsPerEpoch || state.StepCount != firstEpoch * stepsPerEpoch + partial.Step))
                throw new ShrinkException($"Checkpoint '{checkpoint.StatePath}' is at step {partial.Step} (step count {state.StepCount}) of epoch {firstEpoch + 1}, " +
                    $"which cannot be: its epochs have {stepsPerEpoch} steps; delete the folder '{checkpoint.Directory}' to start afresh.");
            epochs.AddRange(state.Epochs);
            priorSeconds = state.Seconds;
            if (state.BestEpoch > 0)
            {
                bestEpoch = state.BestEpoch;
                best = state.BestValidation;
                bestWeights = checkpoint.LoadBestWeights(graph);
            }
        }
        int resumed = firstEpoch, resumedStep = partial?.Step ?? 0;
        int sessionStart = firstEpoch * stepsPerEpoch + resumedStep;
        // Where the last checkpoint on disk lets a resumed run continue (0-based epoch, its steps done).
        int savedEpoch = firstEpoch, savedStep = resumedStep;

        var clock = Stopwatch.StartNew();
        var sinceCheckpoint = Stopwatch.StartNew();
        void SavePartial(int epoch, PartialEpoch progressSoFar)
        {
            checkpoint!.Save(graph, trainer, new CheckpointState(epoch, trainer.StepCount, bestEpoch, best, fingerprint,
                options.Seed, priorSeconds + clock.Elapsed.TotalSeconds, epochs, progressSoFar), isBest: false);
            (savedEpoch, savedStep) = (epoch, progressSoFar.Step);
            sinceCheckpoint.Restart();
        }
        // A cancelled run keeps the steps since the last checkpoint when mid-epoch checkpoints are on.
        TrainingInterruptedException Interrupted(int epoch, PartialEpoch progressSoFar)
        {
            if (checkpoint is not null && options.CheckpointInterval is not null && (epoch, progressSoFar.Step) != (savedEpoch, savedStep))
                SavePartial(epoch, progressSoFar);
            return new TrainingInterruptedException(epoch, options.Epochs, progressSoFar.Step, stepsPerEpoch, savedEpoch + 1, savedStep, checkpoint?.Directory, cancel);
        }

        for (int epoch = firstEpoch; epoch < options.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            var start = epoch == firstEpoch ? partial : null;
            double lossSum = start?.LossSum ?? 0, secondsBefore = start?.Seconds ?? 0;
            long correct = start?.Correct ?? 0, seen = start?.Seen ?? 0;
            long seenBefore = seen;
            int step = start?.Step ?? 0;
            PartialEpoch SoFar() => new(step, lossSum, correct, seen, secondsBefore + epochClock.Elapsed.TotalSeconds);
            foreach (var batch in loader.Epoch(epoch, step))
            {
                if (cancel.IsCancellationRequested) throw Interrupted(epoch, SoFar());
                using var teacherLogits = teacher?.Run(batch.Images);
                var r = trainer.Step(batch.Images, batch.Labels, teacherLogits);
                lossSum += r.Loss * r.Count;
                correct += r.Correct;
                seen += r.Count;
                step++;
                if (progress is not null)
                {
                    int at = epoch * stepsPerEpoch + step;
                    double done = at - sessionStart, left = totalSteps - at;
                    var elapsed = clock.Elapsed;
                    progress.Report(new TrainingProgress(epoch + 1, options.Epochs, step, stepsPerEpoch, lossSum / seen,
                        (double)correct / seen, (seen - seenBefore) / epochClock.Elapsed.TotalSeconds, elapsed + TimeSpan.FromSeconds(priorSeconds),
                        TimeSpan.FromSeconds(elapsed.TotalSeconds / done * left), r.LearningRate));
                }
                if (checkpoint is not null && options.CheckpointInterval is { } every && sinceCheckpoint.Elapsed >= every)
                    SavePartial(epoch, SoFar());
            }
            EvalResult val;
            try
            {
                val = Evaluation.Evaluate(graph, validation, normalization, maxSamples: options.MaxValidationSamples, cancel: cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                throw Interrupted(epoch, SoFar());
            }
            var record = new EpochRecord(epoch + 1, lossSum / Math.Max(1, seen), (double)correct / Math.Max(1, seen), val,
                secondsBefore + epochClock.Elapsed.TotalSeconds);
            epochs.Add(record);
            progress?.Report(new TrainingProgress(epoch + 1, options.Epochs, step, stepsPerEpoch, record.TrainLoss, record.TrainAccuracy,
                (seen - seenBefore) / epochClock.Elapsed.TotalSeconds, clock.Elapsed + TimeSpan.FromSeconds(priorSeconds), TimeSpan.Zero,
                trainer.Schedule.LearningRate(trainer.StepCount), val));
            bool isBest = bestEpoch < 0 || val.Accuracy > best.Accuracy;
            if (isBest)
            {
                best = val;
                bestEpoch = epoch + 1;
                bestWeights = graph.Parameters.ToDictionary(p => p, p => p.Data.Clone());
                onBest?.Invoke(graph, record);
            }
            if (checkpoint is not null)
            {
                checkpoint.Save(graph, trainer, new CheckpointState(epoch + 1, trainer.StepCount, bestEpoch, best, fingerprint,
                    options.Seed, priorSeconds + clock.Elapsed.TotalSeconds, epochs), isBest);
                (savedEpoch, savedStep) = (epoch + 1, 0);
                sinceCheckpoint.Restart();
            }
        }
        // Leave the model holding the best epoch's weights.
        if (bestWeights is not null)
            foreach (var (p, w) in bestWeights) p.Data.CopyFrom(w);
        return new TrainingResult(epochs, best, bestEpoch, priorSeconds + clock.Elapsed.TotalSeconds, resumed, resumedStep);
    }

    public static Loss CreateLoss(TrainingOptions o) => o.Teacher is null
        ? new CrossEntropyLoss(o.LabelSmoothing)
        : new DistillationLoss(o.DistillationTemperature, o.DistillationAlpha, o.LabelSmoothing);

    public static Optimizer CreateOptimizer(Graph.Graph graph, TrainingOptions o) => o.Optimizer.ToLowerInvariant() switch
    {
        "sgd" => new Sgd(graph.TrainableParameters, o.Momentum, 0, o.WeightDecay, o.Nesterov && o.Momentum > 0),
        "adamw" => new AdamW(graph.TrainableParameters, weightDecay: o.WeightDecay),
        _ => throw UnknownOptimizer(o),
    };

    private static ShrinkException UnknownOptimizer(TrainingOptions o) => new($"Unknown optimizer '{o.Optimizer}' (use sgd or adamw).");

    public static LrSchedule CreateSchedule(TrainingOptions o, int totalSteps) => o.Schedule.ToLowerInvariant() switch
    {
        // One-cycle needs a few steps per phase; very short runs (dry runs, tiny subsets) warm up for one step instead.
        "onecycle" when totalSteps >= 10 => new OneCycle(o.LearningRate, totalSteps),
        "onecycle" or "cosine" => new CosineWithWarmup(o.LearningRate, Math.Max(1, totalSteps / 20), Math.Max(2, totalSteps + 1)),
        "constant" => new ConstantLr(o.LearningRate),
        _ => throw new ShrinkException($"Unknown schedule '{o.Schedule}' (use onecycle, cosine or constant)."),
    };
}

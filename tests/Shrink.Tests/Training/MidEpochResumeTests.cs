using System.Text.Json.Nodes;
using Shrink.Data;
using Shrink.Graph;
using Shrink.Kernels;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Tests.Training;

/// <summary>
/// Mid-epoch checkpoints: a run interrupted inside an epoch and resumed equals the uninterrupted one (one kernel
/// thread), and checkpoint folders of the epoch-only format (state.json version 1) still resume.
/// </summary>
[Collection("KernelThreads")]
public sealed class MidEpochResumeTests : IDisposable
{
    private const int StepsPerEpoch = 18; // 576 training samples (640 less 10% validation) in batches of 32

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "shrink-midepoch-" + Guid.NewGuid().ToString("N"));
    private readonly int _savedThreads = KernelParallel.MaxThreads;

    public MidEpochResumeTests() => KernelParallel.MaxThreads = 1;

    public void Dispose()
    {
        KernelParallel.MaxThreads = _savedThreads;
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static TrainingOptions Recipe(string model) => new()
    {
        Epochs = 2, BatchSize = 32, LearningRate = 0.05f, Seed = 5, Schedule = "onecycle",
        Augmentation = model == "mlp" ? null : Augmentation.Cifar, MaxValidationSamples = 200,
    };

    private static Shrink.Graph.Graph Create(string name, int seed) => name == "tinybn" ? ResumeTests.TinyBnNet(seed) : ModelZoo.Create(name, seed: seed);

    /// <summary>
    /// Runs until the report of step <paramref name="step"/> of <paramref name="epoch"/> (1-based; step 0: the report of
    /// the epoch's validation, just before its checkpoint) cancels it.
    /// </summary>
    private static TrainingInterruptedException Interrupt(Shrink.Graph.Graph graph, DataSplits data, TrainingOptions options, int epoch, int step)
    {
        using var cts = new CancellationTokenSource();
        var stop = new Progress(p =>
        {
            if (p.Epoch == epoch && (step == 0 ? p.Validation is not null : p.Validation is null && p.Step == step)) cts.Cancel();
        });
        return Assert.Throws<TrainingInterruptedException>(() => TrainingRun.Fit(graph, data, options, stop, cancel: cts.Token));
    }

    /// <summary>The checkpoint holds exactly the place the interruption names, in the format of its kind.</summary>
    private static void AssertCheckpointAt(string dir, TrainingInterruptedException stop, int resumeEpoch, int resumeStep)
    {
        Assert.Equal((resumeEpoch, resumeStep), (stop.ResumeEpoch, stop.ResumeStep));
        Assert.Equal(dir, stop.CheckpointDirectory);
        var state = new TrainingCheckpoint(dir).ReadState();
        Assert.Equal(resumeEpoch - 1, state.CompletedEpochs);
        Assert.Equal((resumeEpoch - 1) * StepsPerEpoch + resumeStep, state.StepCount);
        Assert.Equal(resumeStep == 0 ? (int?)null : resumeStep, state.Partial?.Step);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, TrainingCheckpoint.StateFile)))!;
        Assert.Equal(resumeStep == 0 ? 1 : 2, json["version"]!.GetValue<int>());
        string model = resumeStep == 0 ? $"model-epoch{resumeEpoch - 1}.onnx" : $"model-epoch{resumeEpoch}-step{resumeStep}.onnx";
        Assert.Equal(model, json["model"]!.GetValue<string>());
        // The superseded checkpoints' files are gone.
        Assert.Equal(new[] { model }, Directory.GetFiles(dir, "model-*.onnx").Select(f => Path.GetFileName(f)));
        Assert.Single(Directory.GetFiles(dir, "optimizer-*.npz"));
        Assert.Contains(resumeStep == 0 ? $"starts epoch {resumeEpoch}"
            : resumeStep == StepsPerEpoch ? $"validates epoch {resumeEpoch}"
            : $"continues epoch {resumeEpoch} at step {resumeStep + 1} of {StepsPerEpoch}", stop.Message, StringComparison.Ordinal);
    }

    private static void AssertSameRun(TrainingResult full, Shrink.Graph.Graph whole, TrainingResult resumed, Shrink.Graph.Graph resumedModel)
    {
        Assert.Equal(full.BestEpoch, resumed.BestEpoch);
        Assert.Equal(full.BestValidation, resumed.BestValidation);
        Assert.Equal(full.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.TrainAccuracy, e.Validation)),
            resumed.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.TrainAccuracy, e.Validation)));
        var a = whole.Parameters.ToList();
        var b = resumedModel.Parameters.ToList();
        Assert.Equal(a.Select(p => p.Name), b.Select(p => p.Name));
        for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Data.ToArray(), b[i].Data.ToArray());
    }

    /// <summary>As <see cref="AssertSameRun"/> up to float rounding: same epochs, losses within 1e-4, accuracies within one
    /// sample in 64, weights within 1e-3.</summary>
    private static void AssertSameRunToRounding(TrainingResult full, Shrink.Graph.Graph whole, TrainingResult resumed, Shrink.Graph.Graph resumedModel)
    {
        Assert.Equal(full.Epochs.Select(e => e.Epoch), resumed.Epochs.Select(e => e.Epoch));
        foreach (var (f, r) in full.Epochs.Zip(resumed.Epochs))
        {
            Assert.Equal(f.TrainLoss, r.TrainLoss, 1e-4);
            Assert.Equal(f.TrainAccuracy, r.TrainAccuracy, 1.0 / 64);
            Assert.Equal(f.Validation.Loss, r.Validation.Loss, 1e-4);
            Assert.Equal(f.Validation.Accuracy, r.Validation.Accuracy, 1.0 / 64);
        }
        var a = whole.Parameters.ToList();
        var b = resumedModel.Parameters.ToList();
        Assert.Equal(a.Select(p => p.Name), b.Select(p => p.Name));
        for (int i = 0; i < a.Count; i++)
        {
            float[] x = a[i].Data.ToArray(), y = b[i].Data.ToArray();
            Assert.Equal(x.Length, y.Length);
            for (int j = 0; j < x.Length; j++) Assert.True(Math.Abs(x[j] - y[j]) <= 1e-3f, $"{a[i].Name}[{j}]: {x[j]} vs {y[j]}");
        }
    }

    /// <summary>Where a stop at (epoch, step) leaves the checkpoint: step 0 is after that epoch's end.</summary>
    private static (int Epoch, int Step) ResumePoint(int epoch, int step) => step == 0 ? (epoch + 1, 0) : (epoch, step);

    [Theory]
    [InlineData("tinybn", 1, 5, 2, 3)]  // mid-epoch in epoch 1, then again in epoch 2
    [InlineData("lenet5", 1, 7, 1, 12)] // twice in one epoch, with augmentation
    [InlineData("mlp", 1, 18, 2, 9)]    // after the last step, before validation: the resumed epoch only validates
    [InlineData("tinybn", 1, 0, 2, 4)]  // right after epoch 1's end checkpoint, then mid-epoch
    public void Interrupted_mid_epoch_twice_and_resumed_is_bit_identical(string model, int epoch1, int step1, int epoch2, int step2)
    {
        var data = ResumeTests.Small();
        var options = Recipe(model);
        var reports = new List<TrainingProgress>();
        var whole = Create(model, 3);
        var full = TrainingRun.Fit(whole, data, options with { CheckpointDirectory = Path.Combine(_dir, "whole") }, new Progress(reports.Add));

        string ckpt = Path.Combine(_dir, "ckpt");
        var every = options with { CheckpointDirectory = ckpt, CheckpointInterval = TimeSpan.Zero };
        var stop = Interrupt(Create(model, 3), data, every, epoch1, step1);
        var (e1, s1) = ResumePoint(epoch1, step1);
        AssertCheckpointAt(ckpt, stop, e1, s1);

        // Each session builds the model afresh (another seed even): the checkpoint supplies the weights.
        stop = Interrupt(Create(model, 99), data, every with { Resume = true }, epoch2, step2);
        var (e2, s2) = ResumePoint(epoch2, step2);
        AssertCheckpointAt(ckpt, stop, e2, s2);

        var resumedReports = new List<TrainingProgress>();
        var resumedModel = Create(model, 98);
        var resumed = TrainingRun.Fit(resumedModel, data, every with { Resume = true }, new Progress(resumedReports.Add));
        Assert.Equal((e2 - 1, s2), (resumed.ResumedEpochs, resumed.ResumedStep));
        AssertSameRun(full, whole, resumed, resumedModel);
        var sa = new TrainingCheckpoint(Path.Combine(_dir, "whole")).ReadState();
        var sb = new TrainingCheckpoint(ckpt).ReadState();
        Assert.Equal((sa.CompletedEpochs, sa.StepCount, sa.BestEpoch, sa.BestValidation, sa.Fingerprint, sa.Seed, sa.Partial),
            (sb.CompletedEpochs, sb.StepCount, sb.BestEpoch, sb.BestValidation, sb.Fingerprint, sb.Seed, sb.Partial));

        // Progress after resuming mid-epoch: the epoch's running loss and accuracy go on from where they were, the
        // speed counts this session's images only, and the ETA is finite.
        var first = resumedReports[0];
        Assert.Equal(s2 == StepsPerEpoch ? (e2, StepsPerEpoch) : (e2, s2 + 1), (first.Epoch, first.Step));
        foreach (var r in resumedReports)
        {
            var same = reports.Single(f => (f.Epoch, f.Step, f.Validation is null) == (r.Epoch, r.Step, r.Validation is null));
            Assert.Equal((same.Loss, same.Accuracy, same.LearningRate, same.Validation), (r.Loss, r.Accuracy, r.LearningRate, r.Validation));
            Assert.True(double.IsFinite(r.ImagesPerSecond) && r.ImagesPerSecond >= 0, $"images/s {r.ImagesPerSecond}");
            Assert.True(r.Remaining >= TimeSpan.Zero && r.Remaining < TimeSpan.FromHours(1), $"ETA {r.Remaining}");
        }
    }

    [Fact]
    public void Cancelling_mid_epoch_checkpoints_the_steps_since_the_last_checkpoint()
    {
        var data = ResumeTests.Small();
        var options = Recipe("mlp");
        var whole = Create("mlp", 3);
        var full = TrainingRun.Fit(whole, data, options);

        // A long interval writes no mid-epoch checkpoint by itself, but Ctrl-C keeps the steps taken.
        string ckpt = Path.Combine(_dir, "hourly");
        var hourly = options with { CheckpointDirectory = ckpt, CheckpointInterval = TimeSpan.FromHours(1) };
        AssertCheckpointAt(ckpt, Interrupt(Create("mlp", 3), data, hourly, 2, 11), 2, 11);
        var resumedModel = Create("mlp", 99);
        AssertSameRun(full, whole, TrainingRun.Fit(resumedModel, data, hourly with { Resume = true }), resumedModel);

        // Without an interval only epoch ends are checkpointed, as before mid-epoch checkpoints existed.
        string epochs = Path.Combine(_dir, "epochs");
        var epochOnly = options with { CheckpointDirectory = epochs, CheckpointInterval = null };
        var stop = Interrupt(Create("mlp", 3), data, epochOnly, 1, 6);
        Assert.False(new TrainingCheckpoint(epochs).Exists);
        Assert.Equal((0, 1, 0), (stop.CompletedEpochs, stop.ResumeEpoch, stop.ResumeStep));
        Assert.Contains("in epoch 1 of 2, after step 6 of 18; no checkpoint was written yet, so resuming starts at epoch 1", stop.Message, StringComparison.Ordinal);
        AssertCheckpointAt(epochs, Interrupt(Create("mlp", 3), data, epochOnly, 2, 6), 2, 0);
    }

    /// <summary>
    /// Fixtures/checkpoint-v1 was written by the code before mid-epoch checkpoints (commit c40a009): the tiny
    /// batch-norm net of <see cref="ResumeTests"/> under <see cref="Recipe"/> with augmentation, interrupted after
    /// epoch 1 of 2 with one kernel thread. Resuming it must finish as an uninterrupted run does today: bit for bit on
    /// a machine with the fixture's SIMD tier (AVX-512), to rounding on others (their kernels sum in another order, so
    /// epoch 1's weights and figures in the fixture differ from today's run in the last bits).
    /// </summary>
    [Fact]
    public void A_version_1_checkpoint_of_the_epoch_only_format_resumes()
    {
        string ckpt = Path.Combine(_dir, "v1");
        Directory.CreateDirectory(ckpt);
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "checkpoint-v1")))
            File.Copy(f, Path.Combine(ckpt, Path.GetFileName(f)));
        var state = new TrainingCheckpoint(ckpt).ReadState();
        Assert.Equal((1, 18), (state.CompletedEpochs, state.StepCount));
        Assert.Null(state.Partial);

        var data = ResumeTests.Small();
        var options = Recipe("tinybn");
        var whole = Create("tinybn", 3);
        var full = TrainingRun.Fit(whole, data, options);
        var resumedModel = Create("tinybn", 99);
        var resumed = TrainingRun.Fit(resumedModel, data, options with { CheckpointDirectory = ckpt, Resume = true, CheckpointInterval = TimeSpan.Zero });
        Assert.Equal((1, 0), (resumed.ResumedEpochs, resumed.ResumedStep));
        if (Gemm.ActiveLevel == GemmLevel.Vector512) AssertSameRun(full, whole, resumed, resumedModel);
        else AssertSameRunToRounding(full, whole, resumed, resumedModel);
        // Its epoch-end checkpoint is still written in version 1, which older builds read.
        Assert.Equal(1, JsonNode.Parse(File.ReadAllText(Path.Combine(ckpt, TrainingCheckpoint.StateFile)))!["version"]!.GetValue<int>());
    }

    [Fact]
    public void A_mid_epoch_checkpoint_that_cannot_be_is_refused_with_a_clear_message()
    {
        var data = ResumeTests.Small();
        var options = Recipe("mlp") with { CheckpointDirectory = _dir, CheckpointInterval = TimeSpan.Zero };
        Interrupt(Create("mlp", 3), data, options, 1, 4);
        string path = Path.Combine(_dir, TrainingCheckpoint.StateFile);
        string good = File.ReadAllText(path);

        var json = JsonNode.Parse(good)!;
        json["partial"]!["step"] = 99;
        File.WriteAllText(path, json.ToJsonString());
        var e = Assert.Throws<ShrinkException>(() => TrainingRun.Fit(Create("mlp", 3), data, options with { Resume = true }));
        Assert.Contains("step 99", e.Message, StringComparison.Ordinal);
        Assert.Contains("18 steps", e.Message, StringComparison.Ordinal);

        json = JsonNode.Parse(good)!;
        json.AsObject().Remove("partial");
        File.WriteAllText(path, json.ToJsonString());
        e = Assert.Throws<ShrinkException>(() => TrainingRun.Fit(Create("mlp", 3), data, options with { Resume = true }));
        Assert.Contains("lacks a field", e.Message, StringComparison.Ordinal);

        json = JsonNode.Parse(good)!;
        json["version"] = 3;
        File.WriteAllText(path, json.ToJsonString());
        e = Assert.Throws<ShrinkException>(() => TrainingRun.Fit(Create("mlp", 3), data, options with { Resume = true }));
        Assert.Contains("version 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_negative_checkpoint_interval_is_refused()
    {
        var e = Assert.Throws<ShrinkException>(() => TrainingRun.Validate(new TrainingOptions { CheckpointInterval = TimeSpan.FromSeconds(-1) }));
        Assert.Contains("--checkpoint-every", e.Message, StringComparison.Ordinal);
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

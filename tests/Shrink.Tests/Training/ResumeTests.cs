using Shrink.Data;
using Shrink.Graph;
using Shrink.Kernels;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Tests.Training;

/// <summary>Checkpoint after every epoch and resume: an interrupted and resumed run equals the uninterrupted one.</summary>
[Collection("KernelThreads")]
public sealed class ResumeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "shrink-resume-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    internal static DataSplits Small()
    {
        var data = DatasetCatalog.Load("fashion-mnist");
        return new DataSplits(data.Train.Subset(640, seed: 1), data.Test.Subset(100, seed: 1));
    }

    /// <summary>A small conv net with batch norm (running statistics must survive the checkpoint too).</summary>
    internal static Shrink.Graph.Graph TinyBnNet(int seed)
    {
        var b = new GraphBuilder("tinybn", seed);
        var x = b.Input(1, 28, 28);
        x = b.MaxPool2d(b.Relu(b.BatchNorm2d(b.Conv2d(x, 4, kernel: 3, padding: 1, name: "conv1"), name: "bn1")), 4);
        x = b.Dropout(b.Flatten(x), 0.2f);
        return b.Build(b.Linear(x, 10, name: "fc"));
    }

    public static TheoryData<string> Models() => new() { "lenet5", "mlp", "tinybn" };

    private static Shrink.Graph.Graph Create(string name) => name == "tinybn" ? TinyBnNet(3) : ModelZoo.Create(name, seed: 3);

    [Theory]
    [MemberData(nameof(Models))]
    public void Interrupted_after_epoch_1_of_2_and_resumed_is_bit_identical(string model)
    {
        int saved = KernelParallel.MaxThreads;
        KernelParallel.MaxThreads = 1;
        try
        {
            var data = Small();
            var options = new TrainingOptions
            {
                Epochs = 2, BatchSize = 32, LearningRate = 0.05f, Seed = 5, Schedule = "onecycle",
                Augmentation = model == "lenet5" ? Augmentation.Cifar : null, MaxValidationSamples = 200,
            };

            var whole = Create(model);
            var full = TrainingRun.Fit(whole, data, options with { CheckpointDirectory = Path.Combine(_dir, "a") });

            var ckpt = Path.Combine(_dir, "b");
            var first = Create(model);
            using var cts = new CancellationTokenSource();
            var stopAfterEpoch1 = new Progress(p => { if (p.Validation is not null && p.Epoch == 1) cts.Cancel(); });
            var stop = Assert.Throws<TrainingInterruptedException>(() =>
                TrainingRun.Fit(first, data, options with { CheckpointDirectory = ckpt }, stopAfterEpoch1, cancel: cts.Token));
            Assert.Equal(1, stop.CompletedEpochs);
            Assert.Equal(ckpt, stop.CheckpointDirectory);
            var state = new TrainingCheckpoint(ckpt).ReadState();
            Assert.Equal(1, state.CompletedEpochs);
            Assert.Equal(full.Epochs[0].Validation, state.BestValidation);
            Assert.Equal(5, state.Seed);
            Assert.True(File.Exists(Path.Combine(ckpt, "model-epoch1.onnx")));
            Assert.True(File.Exists(Path.Combine(ckpt, "optimizer-epoch1.npz")));

            // A fresh process would build the model afresh (another seed even): the checkpoint supplies the weights.
            var resumedModel = model == "tinybn" ? TinyBnNet(99) : ModelZoo.Create(model, seed: 99);
            var resumed = TrainingRun.Fit(resumedModel, data, options with { CheckpointDirectory = ckpt, Resume = true });

            Assert.Equal(1, resumed.ResumedEpochs);
            Assert.Equal(full.BestEpoch, resumed.BestEpoch);
            Assert.Equal(full.BestValidation, resumed.BestValidation);
            Assert.Equal(full.Epochs.Select(e => (e.TrainLoss, e.TrainAccuracy, e.Validation)), resumed.Epochs.Select(e => (e.TrainLoss, e.TrainAccuracy, e.Validation)));
            var a = whole.Parameters.ToList();
            var b = resumedModel.Parameters.ToList();
            Assert.Equal(a.Select(p => p.Name), b.Select(p => p.Name));
            for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Data.ToArray(), b[i].Data.ToArray());
            var sa = new TrainingCheckpoint(Path.Combine(_dir, "a")).ReadState();
            var sb = new TrainingCheckpoint(ckpt).ReadState();
            Assert.Equal((sa.CompletedEpochs, sa.StepCount, sa.BestEpoch, sa.BestValidation, sa.Fingerprint, sa.Seed),
                (sb.CompletedEpochs, sb.StepCount, sb.BestEpoch, sb.BestValidation, sb.Fingerprint, sb.Seed));
            Assert.False(File.Exists(Path.Combine(ckpt, "model-epoch1.onnx"))); // superseded by epoch 2's
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void Resuming_from_a_corrupt_optimizer_step_names_the_file_and_entry()
    {
        var data = Small();
        var options = new TrainingOptions { Epochs = 1, BatchSize = 64, MaxStepsPerEpoch = 2, MaxValidationSamples = 64, CheckpointDirectory = _dir };
        TrainingRun.Fit(ModelZoo.Create("mlp"), data, options);
        string file = Path.Combine(_dir, "optimizer-epoch1.npz");
        var flat = Npy.ReadNpz(file).ToDictionary(kv => kv.Key, kv => kv.Value.ToTensor(), StringComparer.Ordinal);
        string key = flat.Keys.First(k => k.EndsWith("::step", StringComparison.Ordinal));
        flat[key] = new Shrink.Tensors.Tensor(new Shrink.Tensors.Shape(0)); // an empty array where a count belongs
        Npy.WriteNpz(file, flat);
        var e = Assert.Throws<ShrinkException>(() => TrainingRun.Fit(ModelZoo.Create("mlp"), data, options with { Resume = true }));
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{key}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resuming_with_other_options_is_refused_with_a_clear_message()
    {
        var data = Small();
        var options = new TrainingOptions { Epochs = 1, BatchSize = 64, MaxStepsPerEpoch = 2, MaxValidationSamples = 64, CheckpointDirectory = _dir };
        TrainingRun.Fit(ModelZoo.Create("mlp"), data, options);
        var e = Assert.Throws<ShrinkException>(() => TrainingRun.Fit(ModelZoo.Create("mlp"), data, options with { Seed = 7, Resume = true }));
        Assert.Contains("seed=0 then, seed=7 now", e.Message, StringComparison.Ordinal);
        var other = Assert.Throws<ShrinkException>(() => TrainingRun.Fit(ModelZoo.Create("lenet5"), data, options with { Resume = true }));
        Assert.Contains("model=", other.Message, StringComparison.Ordinal);
        // A finished run resumed again just returns its result.
        var again = TrainingRun.Fit(ModelZoo.Create("mlp"), data, options with { Resume = true });
        Assert.Equal(1, again.ResumedEpochs);
        Assert.Single(again.Epochs);
    }

    [Fact]
    public void Optimizer_state_round_trips_through_npz()
    {
        var model = ModelZoo.Create("lenet5");
        var data = Small();
        var trainer = new Trainer(model, TrainingRun.CreateLoss(new()), TrainingRun.CreateOptimizer(model, new()), new Shrink.Execution.Schedules.ConstantLr(0.01));
        var loader = new DataLoader(data.Train, new DataLoaderOptions { BatchSize = 16, MaxBatches = 2 });
        foreach (var batch in loader.Epoch(0)) trainer.Step(batch.Images, batch.Labels);
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "opt.npz");
        var before = trainer.Optimizer.Save();
        Npy.WriteNpz(path, before.ToTensors());
        var flat = Npy.ReadNpz(path).ToDictionary(kv => kv.Key, kv => kv.Value.ToTensor());
        var after = Shrink.Execution.Optimizers.OptimizerState.FromTensors("Sgd", flat);
        Assert.Equal(before.StepCount, after.StepCount);
        Assert.Equal(before.Parameters.Keys.Order(), after.Parameters.Keys.Order());
        foreach (var (name, ps) in before.Parameters)
        {
            Assert.Equal(ps.Step, after.Parameters[name].Step);
            foreach (var (buf, t) in ps.Buffers) Assert.Equal(t.ToArray(), after.Parameters[name].Buffers[buf].ToArray());
        }
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

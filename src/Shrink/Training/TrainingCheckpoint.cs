using System.Text.Json;
using System.Text.Json.Nodes;
using Shrink.Data;
using Shrink.Execution.Optimizers;
using Shrink.Graph;
using Shrink.IO;
using Shrink.Onnx;
using Shrink.Tensors;

namespace Shrink.Training;

/// <summary>
/// What a checkpoint's <c>state.json</c> records about a run: after its last completed epoch, and for a checkpoint
/// taken inside the next epoch (<see cref="Partial"/>), how far that epoch got.
/// </summary>
public sealed record CheckpointState(int CompletedEpochs, int StepCount, int BestEpoch, EvalResult BestValidation,
    string Fingerprint, int Seed, double Seconds, IReadOnlyList<EpochRecord> Epochs, PartialEpoch? Partial = null);

/// <summary>
/// The epoch under way in a mid-epoch checkpoint: <see cref="Step"/> of its steps taken, and the running sums its
/// record is made of (training loss × samples, correct predictions, samples, seconds), so that the resumed epoch ends
/// with the record the uninterrupted one would have.
/// </summary>
public sealed record PartialEpoch(int Step, double LossSum, long Correct, long Seen, double Seconds);

/// <summary>
/// A training run's checkpoint folder, rewritten after every epoch and, in between, after a step every so often
/// (<see cref="TrainingOptions.CheckpointInterval"/>):
/// <list type="bullet">
/// <item><c>model-epoch&lt;N&gt;.onnx</c>: the model after the last completed epoch N (weights and batch-norm statistics),
/// or <c>model-epoch&lt;N&gt;-step&lt;K&gt;.onnx</c> after step K of epoch N, still under way;</item>
/// <item><c>optimizer-epoch&lt;N&gt;.npz</c> (<c>optimizer-epoch&lt;N&gt;-step&lt;K&gt;.npz</c>): the optimizer state
/// (<see cref="OptimizerState.ToTensors"/>, kind in the JSON);</item>
/// <item><c>best.onnx</c>: the best validation epoch's model (written at epoch ends only);</item>
/// <item><c>state.json</c>: epoch, step count, best validation accuracy and epoch, options fingerprint, seed, per-epoch
/// history, and in a mid-epoch checkpoint the epoch's progress (<see cref="PartialEpoch"/>).</item>
/// </list>
/// Every file is written to a temporary name and renamed; <c>state.json</c> goes last and names the files it belongs
/// to (superseded ones are deleted after it), so a run killed at any moment leaves a consistent checkpoint.
/// <para>
/// Version 1 of <c>state.json</c> knows only epoch ends; version 2 adds the <c>partial</c> object. Epoch-end
/// checkpoints are still written as version 1, so builds that read only version 1 resume them; both are read.
/// </para>
/// </summary>
public sealed class TrainingCheckpoint
{
    public const string StateFile = "state.json";
    public const string BestFile = "best.onnx";
    private const int EpochVersion = 1;
    private const int PartialVersion = 2;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public TrainingCheckpoint(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = directory;
    }

    public string Directory { get; }

    public string StatePath => Path.Combine(Directory, StateFile);

    public bool Exists => File.Exists(StatePath);

    /// <summary>The default checkpoint folder of a run writing <paramref name="outPath"/>: "&lt;out&gt;.ckpt" beside it.</summary>
    public static string DefaultFor(string outPath) => outPath + ".ckpt";

    private static string Suffix(CheckpointState s) =>
        s.Partial is { } p ? $"epoch{s.CompletedEpochs + 1}-step{p.Step}" : $"epoch{s.CompletedEpochs}";

    /// <summary>
    /// Writes the checkpoint of a completed epoch (and <c>best.onnx</c> when <paramref name="isBest"/>), or with
    /// <see cref="CheckpointState.Partial"/> set, of a step inside the next epoch (never the best: it is not validated).
    /// </summary>
    public void Save(Graph.Graph graph, Trainer trainer, CheckpointState state, bool isBest)
    {
        if (isBest && state.Partial is not null)
            throw new ArgumentException("A mid-epoch checkpoint cannot be the best: only completed epochs are validated.", nameof(isBest));
        System.IO.Directory.CreateDirectory(Directory);
        string modelFile = $"model-{Suffix(state)}.onnx", optimizerFile = $"optimizer-{Suffix(state)}.npz";
        OnnxModel.Save(graph, Path.Combine(Directory, modelFile));
        Npy.WriteNpz(Path.Combine(Directory, optimizerFile), trainer.Optimizer.Save().ToTensors());
        if (isBest) OnnxModel.Save(graph, Path.Combine(Directory, BestFile));

        var epochs = new JsonArray();
        foreach (var e in state.Epochs)
            epochs.Add(new JsonObject
            {
                ["epoch"] = e.Epoch, ["train_loss"] = e.TrainLoss, ["train_accuracy"] = e.TrainAccuracy,
                ["validation_accuracy"] = e.Validation.Accuracy, ["validation_loss"] = e.Validation.Loss,
                ["validation_count"] = e.Validation.Count, ["seconds"] = e.Seconds,
            });
        var json = new JsonObject
        {
            ["version"] = state.Partial is null ? EpochVersion : PartialVersion,
            ["epoch"] = state.CompletedEpochs,
            ["step_count"] = state.StepCount,
            ["best_epoch"] = state.BestEpoch,
            ["best_validation_accuracy"] = state.BestValidation.Accuracy,
            ["best_validation_loss"] = state.BestValidation.Loss,
            ["best_validation_count"] = state.BestValidation.Count,
            ["fingerprint"] = state.Fingerprint,
            ["seed"] = state.Seed,
            ["seconds"] = state.Seconds,
            ["optimizer"] = trainer.Optimizer.Name,
            ["model"] = modelFile,
            ["optimizer_state"] = optimizerFile,
            ["epochs"] = epochs,
        };
        if (state.Partial is { } partial)
            json["partial"] = new JsonObject
            {
                ["step"] = partial.Step, ["train_loss_sum"] = partial.LossSum, ["train_correct"] = partial.Correct,
                ["train_seen"] = partial.Seen, ["seconds"] = partial.Seconds,
            };
        AtomicFile.WriteText(StatePath, json.ToJsonString(Indented));

        // Earlier checkpoints' files are superseded now that the state names this one's.
        foreach (var old in System.IO.Directory.EnumerateFiles(Directory, "*-epoch*.*"))
        {
            string name = Path.GetFileName(old);
            if (name != modelFile && name != optimizerFile && (name.StartsWith("model-epoch", StringComparison.Ordinal) || name.StartsWith("optimizer-epoch", StringComparison.Ordinal)))
                try { File.Delete(old); } catch (IOException) { }
        }
    }

    /// <summary>Reads <c>state.json</c> (no weights); a clear <see cref="ShrinkException"/> when it is unreadable.</summary>
    public CheckpointState ReadState() => ReadState(out _, out _, out _);

    private CheckpointState ReadState(out string modelFile, out string optimizerFile, out string optimizer)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(StatePath));
        }
        catch (JsonException e)
        {
            throw new ShrinkException($"Checkpoint '{StatePath}' is not valid JSON ({e.Message}); delete the folder '{Directory}' to start afresh.", e);
        }
        try
        {
            int version = root!["version"]!.GetValue<int>();
            if (version is not (EpochVersion or PartialVersion))
                throw new ShrinkException($"Checkpoint '{StatePath}' has version {version}, this Shrink reads versions {EpochVersion} and {PartialVersion}.");
            modelFile = root["model"]!.GetValue<string>();
            optimizerFile = root["optimizer_state"]!.GetValue<string>();
            optimizer = root["optimizer"]!.GetValue<string>();
            var epochs = root["epochs"]!.AsArray().Select(e => new EpochRecord(e!["epoch"]!.GetValue<int>(), e["train_loss"]!.GetValue<double>(),
                e["train_accuracy"]!.GetValue<double>(),
                new EvalResult(e["validation_accuracy"]!.GetValue<double>(), e["validation_loss"]!.GetValue<double>(), e["validation_count"]!.GetValue<int>()),
                e["seconds"]!.GetValue<double>())).ToList();
            PartialEpoch? partial = null;
            if (version == PartialVersion)
            {
                var p = root["partial"]!;
                partial = new PartialEpoch(p["step"]!.GetValue<int>(), p["train_loss_sum"]!.GetValue<double>(), p["train_correct"]!.GetValue<long>(),
                    p["train_seen"]!.GetValue<long>(), p["seconds"]!.GetValue<double>());
            }
            return new CheckpointState(root["epoch"]!.GetValue<int>(), root["step_count"]!.GetValue<int>(), root["best_epoch"]!.GetValue<int>(),
                new EvalResult(root["best_validation_accuracy"]!.GetValue<double>(), root["best_validation_loss"]!.GetValue<double>(),
                    root["best_validation_count"]!.GetValue<int>()),
                root["fingerprint"]!.GetValue<string>(), root["seed"]!.GetValue<int>(), root["seconds"]!.GetValue<double>(), epochs, partial);
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new ShrinkException($"Checkpoint '{StatePath}' lacks a field or has a wrong one ({e.Message}); delete the folder '{Directory}' to start afresh.", e);
        }
    }

    /// <summary>
    /// Loads the checkpointed model into <paramref name="graph"/> (weights by parameter name) and
    /// <paramref name="trainer"/> (optimizer state, step count). The run's options must match the fingerprint.
    /// </summary>
    public CheckpointState Restore(Graph.Graph graph, Trainer trainer, string fingerprint)
    {
        var state = ReadState(out string modelFile, out string optimizerFile, out string optimizer);
        if (state.Fingerprint != fingerprint)
            throw new ShrinkException($"The checkpoint in '{Directory}' was made with other options or another model/data set " +
                $"({Difference(state.Fingerprint, fingerprint)}); run with the same options to resume, or delete the folder to start afresh.");
        LoadWeights(graph, Path.Combine(Directory, modelFile));
        string optimizerPath = Path.Combine(Directory, optimizerFile);
        var flat = Npy.ReadNpz(optimizerPath).ToDictionary(kv => kv.Key, kv => kv.Value.ToTensor(), StringComparer.Ordinal);
        trainer.Optimizer.Load(OptimizerState.FromTensors(optimizer, flat, optimizerPath));
        trainer.StepCount = state.StepCount;
        return state;
    }

    /// <summary>The best epoch's weights (from <c>best.onnx</c>), keyed by the parameters of <paramref name="graph"/>.</summary>
    public Dictionary<Parameter, Tensor> LoadBestWeights(Graph.Graph graph)
    {
        string path = Path.Combine(Directory, BestFile);
        if (!File.Exists(path)) throw new ShrinkException($"Checkpoint '{Directory}' has no {BestFile}; delete the folder to start afresh.");
        var saved = OnnxModel.Load(path).Parameters.ToDictionary(p => p.Name, p => p.Data, StringComparer.Ordinal);
        return graph.Parameters.ToDictionary(p => p, p => Find(saved, p, path).Clone());
    }

    private static void LoadWeights(Graph.Graph graph, string path)
    {
        if (!File.Exists(path)) throw new ShrinkException($"Checkpoint model '{path}' is missing; delete the checkpoint folder to start afresh.");
        var saved = OnnxModel.Load(path).Parameters.ToDictionary(p => p.Name, p => p.Data, StringComparer.Ordinal);
        foreach (var p in graph.Parameters) p.Data.CopyFrom(Find(saved, p, path));
    }

    private static Tensor Find(Dictionary<string, Tensor> saved, Parameter p, string path)
    {
        if (!saved.TryGetValue(p.Name, out var t))
            throw new ShrinkException($"Checkpoint model '{path}' has no parameter '{p.Name}': it belongs to another model.");
        if (t.Shape != p.Data.Shape)
            throw new ShapeMismatchException($"Parameter '{p.Name}' is {t.Shape} in checkpoint model '{path}' but {p.Data.Shape} in the model being trained.");
        return t;
    }

    private static string Difference(string saved, string now)
    {
        var a = saved.Split(';');
        var b = now.Split(';');
        var diffs = a.Zip(b).Where(x => x.First != x.Second).Select(x => $"{x.First} then, {x.Second} now").ToList();
        return diffs.Count > 0 ? string.Join(", ", diffs) : "different settings";
    }
}

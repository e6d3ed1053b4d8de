using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Shrink.Data;
using Shrink.Graph;
using Shrink.IO;
using Shrink.Onnx;
using Shrink.Profiling;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Cli.Commands;

/// <summary>
/// <c>shrink train</c>: train (or fine-tune) a model on a data set; the best validation epoch is written as ONNX. A zoo
/// name trains with its recipe (<see cref="Recipes.For"/>); explicit flags override the recipe. With --out, every epoch,
/// and a step every --checkpoint-every (10 minutes) inside one, is checkpointed in "&lt;out&gt;.ckpt/"; --resume
/// continues from the last checkpoint.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var dataset = Options.Dataset();
        var flags = new TrainFlags(withRecipe: true);
        var json = Options.Json();
        var command = new Command("train", "Train a zoo architecture (with its recipe) or fine-tune an ONNX model on a data set") { model, dataset, json };
        flags.AddTo(command);
        command.SetAction(r =>
        {
            string m = r.GetValue(model)!, d = r.GetValue(dataset)!;
            return Run(m, d, flags.ToOptions(r, m, d), r.GetValue(flags.Out), new Output(r.GetValue(json)), ResumeCommand(r));
        });
        return command;
    }

    /// <summary>The options of a run: the zoo recipe for a zoo name (plain defaults for a file), then the explicit flags.</summary>
    public static TrainingOptions Defaults(string model, string dataset) =>
        !ModelResolver.IsFile(model) && ModelZoo.Contains(model) ? Recipes.For(model, dataset) : new TrainingOptions();

    /// <summary>The command line that resumes this one: its own tokens plus --resume.</summary>
    public static string ResumeCommand(ParseResult r)
    {
        var tokens = r.Tokens.Select(t => t.Value).ToList();
        if (!tokens.Contains("--resume")) tokens.Add("--resume");
        return "shrink " + string.Join(" ", tokens.Select(t => t.Length == 0 || t.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '$') ? $"'{t}'" : t));
    }

    public static int Run(string model, string dataset, TrainingOptions options, string? outPath, Output output, string? resumeCommand = null)
    {
        if (outPath is not null && !outPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ShrinkException($"--out '{outPath}' must name an .onnx file.");
        if (options.Resume && outPath is null)
            throw new ShrinkException("--resume needs --out: the checkpoint lives beside the output model, in '<out>.ckpt/'.");
        TrainingRun.Validate(options);
        if (outPath is not null)
        {
            // Hours of training must not end on a path that cannot be written.
            options = options with { CheckpointDirectory = TrainingCheckpoint.DefaultFor(outPath) };
            AtomicFile.EnsureWritable(outPath);
            AtomicFile.EnsureWritable(Path.Combine(options.CheckpointDirectory, "state.json"));
        }
        var data = DatasetCatalog.Load(dataset);
        var graph = ModelResolver.LoadForTraining(model, data.Train, options.Seed);
        if (options is { Resume: true, CheckpointDirectory: { } ckpt } && !new TrainingCheckpoint(ckpt).Exists)
            output.Line($"No checkpoint in '{ckpt}' yet: starting from the first epoch.");
        string aug = options.Augmentation is { IsEnabled: true } a
            ? $"crop pad {a.CropPadding}{(a.RandomResizedCrop ? ", resized crop" : "")}{(a.HorizontalFlip ? ", flip" : "")}" : "no augmentation";
        output.Line($"Training {graph.Name} ({graph.ParameterCount:N0} parameters) on {data.Name}: {data.Train.Count} train / {data.Test.Count} test images, " +
            $"{options.Epochs} epoch(s), batch {options.BatchSize}, {options.Optimizer}{(options.Nesterov ? " nesterov" : "")} lr {options.LearningRate:G3} {options.Schedule}, " +
            $"weight decay {options.WeightDecay:G3}, label smoothing {options.LabelSmoothing:G3}, {aug}, seed {options.Seed}.");

        TrainingResult result;
        try
        {
            result = TrainingRun.Fit(graph, data, options, new ProgressPrinter(graph.Name),
                onBest: outPath is null ? null : (g, _) => OnnxModel.Save(g, outPath), cancel: Options.CancelOnInterrupt());
        }
        catch (TrainingInterruptedException e)
        {
            Console.Error.WriteLine($"shrink: {e.Message}");
            if (e.CheckpointDirectory is not null)
            {
                if (outPath is not null && File.Exists(outPath)) Console.Error.WriteLine($"The best model so far is in {outPath}.");
                Console.Error.WriteLine($"Resume with: {resumeCommand ?? "the same command plus --resume"}");
            }
            else Console.Error.WriteLine("Give --out to checkpoint the run and make it resumable.");
            return CliErrors.Interrupted;
        }
        if (result.ResumedStep > 0)
            output.Line($"Resumed in epoch {result.ResumedEpochs + 1} of {options.Epochs} after step {result.ResumedStep} from '{options.CheckpointDirectory}'.");
        else if (result.ResumedEpochs > 0)
            output.Line($"Resumed after epoch {result.ResumedEpochs} of {options.Epochs} from '{options.CheckpointDirectory}'.");
        // A resumed run whose best epoch came from the checkpoint has not written --out in this session.
        if (outPath is not null && !File.Exists(outPath)) OnnxModel.Save(graph, outPath);
        var test = Evaluation.Evaluate(graph, data.Test, data.ComputeNormalization());
        var profile = Profiler.Profile(graph);

        output.Line($"Best validation accuracy {result.BestValidation.AccuracyPercent:F2}% (epoch {result.BestEpoch}); test accuracy {test.AccuracyPercent:F2}%, loss {test.Loss:F4}; {ProgressPrinter.Format(TimeSpan.FromSeconds(result.Seconds))}.");
        if (outPath is not null) output.Line($"Wrote {outPath}.");
        var o = Output.Metrics(profile, test.AccuracyPercent);
        o["loss"] = Math.Round(test.Loss, 6);
        o["validation_accuracy"] = Math.Round(result.BestValidation.AccuracyPercent, 4);
        o["best_epoch"] = result.BestEpoch;
        o["epochs"] = result.Epochs.Count;
        o["resumed_epochs"] = result.ResumedEpochs;
        o["resumed_step"] = result.ResumedStep;
        o["seconds"] = Math.Round(result.Seconds, 2);
        if (outPath is not null)
        {
            o["model"] = outPath;
            o["checkpoint"] = options.CheckpointDirectory;
        }
        output.Emit(o);
        return 0;
    }
}

/// <summary>
/// The training flags shared by <c>shrink train</c> and <c>shrink zoo train</c>; absent ones keep the recipe's value.
/// <c>shrink train</c> also takes <c>--recipe</c>: start from a zoo architecture's recipe, e.g. to fine-tune a model file.
/// </summary>
public sealed class TrainFlags(bool withRecipe = false)
{
    public Option<string?>? Recipe { get; } = withRecipe
        ? new("--recipe") { Description = "Start from this zoo architecture's recipe (default: the model's own when it is a zoo name)" }
        : null;

    public Option<int?> Epochs { get; } = new("--epochs") { Description = "Epochs (default: the zoo recipe's, else 1)" };
    public Option<int?> BatchSize { get; } = new("--batch-size", "-b") { Description = "Batch size (default: the recipe's, else 64)" };
    public Option<float?> Lr { get; } = new("--lr") { Description = "Peak learning rate (default: the recipe's, else 0.1)" };
    public Option<int> Seed { get; } = Commands.Options.Seed();
    public Option<string?> Out { get; } = new("--out", "-o") { Description = "Where to write the best model (.onnx); the run is checkpointed in <out>.ckpt/" };
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue from the checkpoint in <out>.ckpt/, mid-epoch too (same options and seed give the same result)" };
    public Option<int?> MaxSteps { get; } = new("--max-steps") { Description = "At most this many steps per epoch (quick runs)" };
    public Option<string?> Schedule { get; } = new("--schedule") { Description = "Learning-rate schedule: onecycle, cosine or constant (default: the recipe's, else onecycle)" };
    public Option<string?> Optimizer { get; } = new("--optimizer") { Description = "sgd (Nesterov momentum 0.9) or adamw (default: the recipe's, else sgd)" };
    public Option<double?> WeightDecay { get; } = new("--weight-decay") { Description = "Weight decay (default: the recipe's, else 5e-4)" };
    public Option<float?> LabelSmoothing { get; } = new("--label-smoothing") { Description = "Label smoothing in [0, 1) (default: the recipe's, else 0.1)" };

    public Option<string?> Augment { get; } = new("--augment")
    {
        Description = "none, or a comma list of crop[=PIXELS] (padded random crop; 2 pixels on 28x28, else 4), flip, resized-crop[=MIN_AREA] (default: the recipe's, else none)",
    };

    public Option<string?> CheckpointEvery { get; } = new("--checkpoint-every")
    {
        Description = "With --out, also checkpoint inside an epoch this often, e.g. 30s, 10m, 1h (default 10m)",
    };

    public void AddTo(Command command)
    {
        if (Recipe is not null) command.Options.Add(Recipe);
        foreach (var o in new Option[] { Epochs, BatchSize, Lr, Schedule, Optimizer, WeightDecay, LabelSmoothing, Augment, Seed, Out, Resume, MaxSteps, CheckpointEvery })
            command.Options.Add(o);
    }

    public TrainingOptions ToOptions(ParseResult r, string model, string dataset)
    {
        var d = Recipe is not null && r.GetValue(Recipe) is { } recipe ? Recipes.For(recipe, dataset) : TrainCommand.Defaults(model, dataset);
        return d with
        {
            Epochs = r.GetValue(Epochs) ?? d.Epochs,
            BatchSize = r.GetValue(BatchSize) ?? d.BatchSize,
            LearningRate = r.GetValue(Lr) ?? d.LearningRate,
            Schedule = r.GetValue(Schedule) ?? d.Schedule,
            Optimizer = r.GetValue(Optimizer) ?? d.Optimizer,
            WeightDecay = r.GetValue(WeightDecay) ?? d.WeightDecay,
            LabelSmoothing = r.GetValue(LabelSmoothing) ?? d.LabelSmoothing,
            Augmentation = r.GetValue(Augment) is { } augment ? ParseAugmentation(augment, dataset) : d.Augmentation,
            Seed = r.GetValue(Seed),
            MaxStepsPerEpoch = r.GetValue(MaxSteps) ?? d.MaxStepsPerEpoch,
            Resume = r.GetValue(Resume),
            CheckpointInterval = r.GetValue(CheckpointEvery) is { } every ? Commands.Options.ParseDuration(every, "--checkpoint-every") : d.CheckpointInterval,
        };
    }

    /// <summary>
    /// <c>--augment</c>: "none", or a comma list of <c>crop[=PIXELS]</c>, <c>flip</c> and <c>resized-crop[=MIN_AREA]</c>;
    /// a bare <c>crop</c> pads as the zoo recipes do for <paramref name="dataset"/>. Null for none.
    /// </summary>
    public static Augmentation? ParseAugmentation(string spec, string dataset)
    {
        const string Usage = "use none, or a comma list of crop[=PIXELS], flip, resized-crop[=MIN_AREA]";
        var parts = spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts is ["none"]) return null;
        if (parts.Length == 0) throw new ShrinkException($"--augment '{spec}' is empty ({Usage}).");
        var a = new Augmentation();
        foreach (var part in parts)
        {
            var (key, value) = part.Split('=', 2) is [var k, var v] ? (k.Trim(), v.Trim()) : (part, null);
            a = key.ToLowerInvariant() switch
            {
                "crop" => a with
                {
                    CropPadding = value is null ? Recipes.ConvAugmentation(dataset).CropPadding
                        : int.TryParse(value, CultureInfo.InvariantCulture, out int pad) && pad >= 1 ? pad
                        : throw new ShrinkException($"--augment: crop padding must be a whole number of pixels ≥ 1, got '{value}'."),
                },
                "flip" when value is null => a with { HorizontalFlip = true },
                "resized-crop" => a with
                {
                    RandomResizedCrop = true,
                    MinCropArea = value is null ? a.MinCropArea
                        : double.TryParse(value, CultureInfo.InvariantCulture, out double area) && area > 0 && area <= 1 ? area
                        : throw new ShrinkException($"--augment: the smallest resized-crop area must be a fraction in (0, 1], got '{value}'."),
                },
                _ => throw new ShrinkException($"--augment: unknown augmentation '{part}' ({Usage})."),
            };
        }
        return a;
    }
}

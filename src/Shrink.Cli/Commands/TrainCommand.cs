using System.CommandLine;
using System.Text.Json.Nodes;
using Shrink.Data;
using Shrink.Graph;
using Shrink.Onnx;
using Shrink.Profiling;
using Shrink.Training;

namespace Shrink.Cli.Commands;

/// <summary><c>shrink train</c>: train (or fine-tune) a model on a data set; the best validation epoch is written as ONNX.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var dataset = Options.Dataset();
        var epochs = new Option<int>("--epochs") { Description = "Epochs", DefaultValueFactory = _ => 1 };
        var batch = Options.BatchSize(64);
        var lr = new Option<float>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => 0.1f };
        var seed = Options.Seed();
        var output = new Option<string?>("--out", "-o") { Description = "Where to write the trained model (.onnx)" };
        var maxSteps = new Option<int?>("--max-steps") { Description = "At most this many steps per epoch (quick runs)" };
        var json = Options.Json();
        var command = new Command("train", "Train a zoo architecture or an ONNX model on a data set") { model, dataset, epochs, batch, lr, seed, output, maxSteps, json };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(dataset)!, new TrainingOptions
        {
            Epochs = r.GetValue(epochs),
            BatchSize = r.GetValue(batch),
            LearningRate = r.GetValue(lr),
            Seed = r.GetValue(seed),
            MaxStepsPerEpoch = r.GetValue(maxSteps),
        }, r.GetValue(output), new Output(r.GetValue(json))));
        return command;
    }

    public static int Run(string model, string dataset, TrainingOptions options, string? outPath, Output output)
    {
        if (outPath is not null && !outPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ShrinkException($"--out '{outPath}' must name an .onnx file.");
        var data = DatasetCatalog.Load(dataset);
        var graph = ModelResolver.LoadForTraining(model, data.Train, options.Seed);
        if (outPath is not null && Path.GetDirectoryName(Path.GetFullPath(outPath)) is { } dir) Directory.CreateDirectory(dir);
        output.Line($"Training {graph.Name} ({graph.ParameterCount:N0} parameters) on {data.Name}: {data.Train.Count} train / {data.Test.Count} test images, {options.Epochs} epoch(s), batch {options.BatchSize}.");

        var result = TrainingRun.Fit(graph, data, options, new ProgressPrinter(graph.Name),
            onBest: outPath is null ? null : (g, _) => OnnxModel.Save(g, outPath), cancel: Options.CancelOnCtrlC());
        var test = Evaluation.Evaluate(graph, data.Test, data.ComputeNormalization());
        var profile = Profiler.Profile(graph);

        output.Line($"Best validation accuracy {result.BestValidation.AccuracyPercent:F2}% (epoch {result.BestEpoch}); test accuracy {test.AccuracyPercent:F2}%, loss {test.Loss:F4}; {ProgressPrinter.Format(TimeSpan.FromSeconds(result.Seconds))}.");
        if (outPath is not null) output.Line($"Wrote {outPath}.");
        var o = Output.Metrics(profile, test.AccuracyPercent);
        o["loss"] = Math.Round(test.Loss, 6);
        o["validation_accuracy"] = Math.Round(result.BestValidation.AccuracyPercent, 4);
        o["epochs"] = result.Epochs.Count;
        o["seconds"] = Math.Round(result.Seconds, 2);
        if (outPath is not null) o["model"] = outPath;
        output.Emit(o);
        return 0;
    }
}

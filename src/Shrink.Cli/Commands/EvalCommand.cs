using System.CommandLine;
using Shrink.Data;
using Shrink.Graph;
using Shrink.Profiling;
using Shrink.Training;

namespace Shrink.Cli.Commands;

/// <summary><c>shrink eval</c>: top-1 accuracy and loss of a trained model on a data set's test split.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var model = Options.Model();
        var dataset = Options.Dataset();
        var batch = Options.BatchSize(256);
        var json = Options.Json();
        var command = new Command("eval", "Evaluate a trained model on the test split of a data set") { model, dataset, batch, json };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(dataset)!, r.GetValue(batch), new Output(r.GetValue(json))));
        return command;
    }

    public static int Run(string model, string dataset, int batchSize, Output output)
    {
        if (batchSize < 1) throw new ShrinkException($"--batch-size must be at least 1, got {batchSize}.");
        var data = DatasetCatalog.Load(dataset);
        var graph = ModelResolver.LoadTrained(model, data.Name);
        var result = Evaluation.Evaluate(graph, data.Test, data.ComputeNormalization(), batchSize, cancel: Options.CancelOnInterrupt());
        var profile = Profiler.Profile(graph);
        output.Line($"{graph.Name} on {data.Name} test ({result.Count} images): accuracy {result.AccuracyPercent:F2}%, loss {result.Loss:F4}");
        var o = Output.Metrics(profile, result.AccuracyPercent);
        o["loss"] = Math.Round(result.Loss, 6);
        o["samples"] = result.Count;
        output.Emit(o);
        return 0;
    }
}

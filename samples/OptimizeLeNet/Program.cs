// Optimises a LeNet-5 on Fashion-MNIST from code: the C# face of `shrink optimize`.
//   dotnet run --project samples/OptimizeLeNet -c Release [-- model.onnx [level]]
// Without a model it first trains one for an epoch (about 15 s).
using Shrink.Conductor;
using Shrink.Data;
using Shrink.Onnx;
using Shrink.Training;
using Shrink.Zoo;

var data = DatasetCatalog.Load("fashion-mnist");
var model = args.Length > 0 ? OnnxModel.Load(args[0]) : ModelZoo.Create("lenet5");
if (args.Length == 0) TrainingRun.Fit(model, data, new TrainingOptions { Epochs = 1 });

// The optimisation itself: the model, its data, the constraints — and a progress line per step. A run directory that
// already holds a run (e.g. one stopped with Ctrl-C) is resumed from its last checkpoint instead.
var options = new OptimizeOptions { OutputDirectory = "lenet5-run", Progress = new StderrProgress() };
var result = File.Exists(Path.Combine("lenet5-run", RunState.FileName))
    ? Shrinker.Resume("lenet5-run", data, options)
    : Shrinker.Optimize(model, data, new Constraints { MaxAccuracyDrop = 1, Level = args.Length > 1 ? int.Parse(args[1]) : 1 }, options);

Console.WriteLine(result.Report.ToMarkdown());
Console.WriteLine($"{result.Report.SizeRatio:F2}x smaller, test accuracy {result.Report.Result.TestAccuracy:F2}% " +
                  $"(original {result.Report.Original.TestAccuracy:F2}%); model in lenet5-run/model.onnx");

/// <summary>Prints each step's line on stderr as it happens (Progress&lt;T&gt; would post them to the thread pool, out of order).</summary>
internal sealed class StderrProgress : IProgress<ConductorProgress>
{
    public void Report(ConductorProgress value) => Console.Error.WriteLine(value);
}

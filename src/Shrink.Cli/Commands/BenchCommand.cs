using System.CommandLine;
using Shrink.Profiling;

namespace Shrink.Cli.Commands;

/// <summary>
/// <c>shrink bench</c>: the engine benchmark (SGEMM, ResNet-18 convolutions, training and inference of ResNet-18 and
/// VGG-11-BN), side by side with PyTorch when /usr/bin/python3 has torch. <c>--json</c> prints one object whose
/// <c>ratios</c> member holds the headline ratios.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var json = Options.Json();
        var quick = new Option<bool>("--quick") { Description = "A few iterations per workload: a smoke run, not a measurement" };
        var noTorch = new Option<bool>("--no-torch") { Description = "Skip the PyTorch side" };
        var command = new Command("bench", "Benchmark the engine against PyTorch on this machine") { quick, noTorch, json };
        command.SetAction(r =>
        {
            var output = new Output(r.GetValue(json));
            var result = Bench.RunAll(new BenchOptions { Quick = r.GetValue(quick), Torch = !r.GetValue(noTorch), Log = Console.Error });
            foreach (var (name, value) in result.Ratios)
                output.Line($"{name,-32} {(value is double v ? v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "n/a")}");
            if (result.TorchError is { } err) output.Line($"PyTorch side not run: {err}");
            output.Emit(result.ToJson());
            return 0;
        });
        return command;
    }
}

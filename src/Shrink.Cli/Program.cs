using System.CommandLine;
using Shrink.Cli.Commands;

namespace Shrink.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Shrink: make a trained network smaller and faster under your accuracy, size and latency constraints.");
        foreach (var command in Commands()) root.Subcommands.Add(command);
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        return CliErrors.Guard(() =>
        {
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0 && args.Length > 0)
            {
                foreach (var error in parsed.Errors) Console.Error.WriteLine($"shrink: error: {error.Message}");
                Console.Error.WriteLine("Run 'shrink --help' for usage.");
                return CliErrors.BadInput;
            }
            return parsed.Invoke(config);
        });
    }

    private static IEnumerable<Command> Commands() =>
    [
        TrainCommand.Create(),
        EvalCommand.Create(),
        OptimizeCommand.Create(),
        ZooCommand.Create(),
        ProfileCommand.Create(),
        InferCommand.Create(),
        BenchCommand.Create(),
    ];
}

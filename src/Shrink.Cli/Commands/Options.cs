using System.CommandLine;

namespace Shrink.Cli.Commands;

/// <summary>Options shared by several commands, named as the design's command-line contract names them.</summary>
public static class Options
{
    public static Option<string> Model(string description = "A zoo name (see 'shrink zoo list') or an .onnx file") =>
        new("--model", "-m") { Description = description, Required = true };

    public static Option<string> Dataset(bool required = true) =>
        new("--dataset", "-d")
        {
            Description = "fashion-mnist, mnist, cifar10, cifar100 (under $SHRINK_DATA, ./data or /usr/share/datasets) or a folder",
            Required = required,
        };

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object on stdout (human output goes to stderr)" };

    public static Option<int> BatchSize(int defaultValue) =>
        new("--batch-size", "-b") { Description = "Batch size", DefaultValueFactory = _ => defaultValue };

    public static Option<int> Seed() => new("--seed") { Description = "Random seed", DefaultValueFactory = _ => 0 };

    /// <summary>Ctrl-C cancels the token (once); a second Ctrl-C kills the process as usual.</summary>
    public static CancellationToken CancelOnCtrlC()
    {
        var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (cts.IsCancellationRequested) return;
            e.Cancel = true;
            Console.Error.WriteLine("shrink: stopping after the current step (Ctrl-C again to kill)...");
            cts.Cancel();
        };
        return cts.Token;
    }
}

using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Shrink.Graph;

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

    /// <summary>
    /// Parses the duration given to <paramref name="option"/>: "90m", "2h", "1h30m", "45s" or "600" (seconds). It must
    /// be positive; anything else is a <see cref="ShrinkException"/> naming the option and the value.
    /// </summary>
    public static TimeSpan ParseDuration(string text, string option)
    {
        string t = text.Trim().ToLowerInvariant();
        if (t.Length == 0) throw new ShrinkException($"{option} needs a duration, e.g. 90m, 2h, 1h30m or 45s.");
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double plain))
            return Positive(plain, text, option);
        double seconds = 0;
        int i = 0;
        while (i < t.Length)
        {
            int start = i;
            while (i < t.Length && (char.IsDigit(t[i]) || t[i] == '.')) i++;
            if (start == i || i == t.Length || !double.TryParse(t[start..i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw new ShrinkException($"Cannot read the duration '{text}' given to {option}; write e.g. 90m, 2h, 1h30m or 45s.");
            seconds += t[i++] switch
            {
                'h' => v * 3600,
                'm' => v * 60,
                's' => v,
                _ => throw new ShrinkException($"Cannot read the duration '{text}' given to {option}; units are h, m and s (e.g. 1h30m)."),
            };
        }
        return Positive(seconds, text, option);
    }

    private static TimeSpan Positive(double seconds, string text, string option) =>
        !(seconds > 0) ? throw new ShrinkException($"{option} must be positive, got '{text}'.")
        : seconds >= TimeSpan.MaxValue.TotalSeconds ? throw new ShrinkException($"{option} is too long: '{text}'.")
        : TimeSpan.FromSeconds(seconds);

    private static CancellationTokenSource? s_interrupt;
    private static PosixSignalRegistration? s_terminate;

    /// <summary>
    /// A token that Ctrl-C (SIGINT) or a plain <c>kill</c> (SIGTERM, as a shutdown or a job scheduler sends) cancels, once:
    /// the command then stops after its current step and leaves its checkpoint instead of dying mid-step. A second
    /// signal ends the process as usual. The handlers are installed once per process; each call starts a new token.
    /// </summary>
    public static CancellationToken CancelOnInterrupt()
    {
        var cts = new CancellationTokenSource();
        s_interrupt = cts;
        if (s_terminate is null)
        {
            Console.CancelKeyPress += (_, e) => e.Cancel = Interrupt("Ctrl-C");
            s_terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = Interrupt("SIGTERM"));
        }
        return cts.Token;
    }

    /// <summary>Cancels the current token; false (let the signal end the process) when there is none or it was cancelled already.</summary>
    private static bool Interrupt(string signal)
    {
        var cts = s_interrupt;
        if (cts is null || cts.IsCancellationRequested) return false;
        Console.Error.WriteLine($"shrink: {signal}: stopping after the current step ({signal} again to kill)...");
        cts.Cancel();
        return true;
    }
}

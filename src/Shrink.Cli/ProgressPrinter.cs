using System.Diagnostics;
using Shrink.Training;

namespace Shrink.Cli;

/// <summary>
/// Prints training progress on stderr: a line at most every <see cref="Interval"/> (and always at the end of an
/// epoch), rewritten in place when stderr is a terminal.
/// </summary>
public sealed class ProgressPrinter(string label) : IProgress<TrainingProgress>
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private long _last = Stopwatch.GetTimestamp() - Interval.Ticks * 2;

    public void Report(TrainingProgress p)
    {
        if (p.Validation is { } val)
        {
            Finish();
            Console.Error.WriteLine(
                $"{label} epoch {p.Epoch}/{p.Epochs}: train loss {p.Loss:F4} acc {100 * p.Accuracy:F2}% | validation loss {val.Loss:F4} acc {val.AccuracyPercent:F2}% | {p.ImagesPerSecond:F0} img/s, {Format(p.Elapsed)} elapsed");
            return;
        }
        bool last = p.Step == p.StepsPerEpoch;
        if (!last && Stopwatch.GetElapsedTime(_last) < Interval) return;
        _last = Stopwatch.GetTimestamp();
        string line = $"{label} epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:F4} acc {100 * p.Accuracy:F2}% lr {p.LearningRate:G3} {p.ImagesPerSecond:F0} img/s ETA {Format(p.Remaining)}";
        if (_terminal) Console.Error.Write($"\r{line}\u001b[K");
        else Console.Error.WriteLine(line);
    }

    private void Finish()
    {
        if (_terminal) Console.Error.Write("\r\u001b[K");
    }

    public static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.TotalSeconds:F1}s";
}

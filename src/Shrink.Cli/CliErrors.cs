using Shrink.Graph;

namespace Shrink.Cli;

/// <summary>Turns every failure into one line on stderr and a non-zero exit code: 2 for bad input, 1 for a bug.</summary>
public static class CliErrors
{
    public const int BadInput = 2;
    public const int InternalError = 1;
    public const int Interrupted = 130;

    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"shrink: error: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("shrink: interrupted.");
            return Interrupted;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"shrink: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            if (Environment.GetEnvironmentVariable("SHRINK_DEBUG") == "1") Console.Error.WriteLine(e);
            return InternalError;
        }
    }

    private static bool IsUserError(Exception e) =>
        e is ShrinkException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
            or FormatException or IOException;

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

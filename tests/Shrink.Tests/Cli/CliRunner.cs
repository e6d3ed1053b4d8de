using Shrink.Cli;

namespace Shrink.Tests.Cli;

/// <summary>
/// Every test that runs the command line in-process: they swap Console.Out/Error (process-wide), so they share one
/// collection that runs alone, not in parallel with the other tests.
/// </summary>
[CollectionDefinition("Cli", DisableParallelization = true)]
public sealed class CliCollection;

/// <summary>What one <c>shrink</c> invocation returned and printed.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    /// <summary>The contract for bad input: exit code 2, one "shrink: error:" line on stderr, no stack trace, nothing on stdout.</summary>
    public string AssertBadInput()
    {
        Assert.True(ExitCode == 2, $"exit code {ExitCode}, stderr: {Stderr}");
        var lines = StderrLines;
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}: {Stderr}");
        Assert.StartsWith("shrink: error: ", lines[0]);
        Assert.DoesNotContain("   at ", Stderr);
        Assert.DoesNotContain("Exception", Stderr);
        Assert.Equal("", Stdout);
        return lines[0];
    }
}

internal static class CliRunner
{
    private static readonly Lock Gate = new();

    /// <summary>Runs <c>shrink args...</c> through <see cref="Program.Main"/> with the consoles captured (and restored).</summary>
    public static CliResult Run(params string[] args)
    {
        lock (Gate)
        {
            var stdout = Console.Out;
            var stderr = Console.Error;
            using var o = new StringWriter();
            using var e = new StringWriter();
            Console.SetOut(o);
            Console.SetError(e);
            int code;
            try
            {
                code = Program.Main(args);
            }
            finally
            {
                Console.SetOut(stdout);
                Console.SetError(stderr);
            }
            return new CliResult(code, o.ToString(), e.ToString());
        }
    }
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class CliTempDir : IDisposable
{
    public CliTempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"shrink-cli-{Guid.NewGuid():N}");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Every file under the folder (relative names), for "nothing was written" checks.</summary>
    public string[] Files() => Directory.GetFiles(Path, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(Path, f)).Order().ToArray();

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

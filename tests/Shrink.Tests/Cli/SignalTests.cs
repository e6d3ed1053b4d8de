using System.Diagnostics;
using System.Runtime.InteropServices;
using Shrink.Cli;

namespace Shrink.Tests.Cli;

/// <summary>
/// A plain <c>kill</c> (SIGTERM) of a training run stops it like Ctrl-C: after the current step, with a checkpoint to
/// resume from and the interrupted exit code, instead of the process dying mid-step. Runs the CLI as a child process.
/// </summary>
public sealed partial class SignalTests
{
    private const int SIGTERM = 15;

    /// <summary>libc's kill(2): no dependency on a kill(1) binary, which a minimal machine may lack.</summary>
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [Fact]
    public void Sigterm_stops_training_after_a_step_and_leaves_a_checkpoint()
    {
        if (OperatingSystem.IsWindows()) return; // Windows has no SIGTERM from outside
        using var dir = new CliTempDir();
        string data = Path.Combine(dir.Path, "synthetic");
        CliTrainEvalTests.WriteSyntheticIdx(data, 2000, 50);
        string model = Path.Combine(dir.Path, "mlp.onnx");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Shrink.Cli.dll"), "train", "--model", "mlp", "--dataset", data,
                     "--epochs", "50", "--batch-size", "8", "--out", model })
            start.ArgumentList.Add(a);

        using var cli = Process.Start(start)!;
        var stderr = new System.Text.StringBuilder();
        using var stepping = new ManualResetEventSlim();
        cli.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (e.Data.Contains(" step ", StringComparison.Ordinal)) stepping.Set();
        };
        cli.BeginErrorReadLine();
        _ = cli.StandardOutput.ReadToEndAsync();
        try
        {
            Assert.True(stepping.Wait(TimeSpan.FromSeconds(120)), $"no training step reported:\n{stderr}");
            Assert.Equal(0, Kill(cli.Id, SIGTERM));
            Assert.True(cli.WaitForExit(TimeSpan.FromSeconds(120)), "the run did not stop after SIGTERM");
            cli.WaitForExit(); // drains the output handlers
        }
        finally
        {
            if (!cli.HasExited) cli.Kill(entireProcessTree: true);
        }

        string log;
        lock (stderr) log = stderr.ToString();
        Assert.True(cli.ExitCode == CliErrors.Interrupted, $"exit code {cli.ExitCode}:\n{log}");
        Assert.Contains("shrink: SIGTERM: stopping after the current step", log, StringComparison.Ordinal);
        Assert.Contains("Resume with:", log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(model + ".ckpt", "state.json")), $"no checkpoint:\n{log}");
    }
}

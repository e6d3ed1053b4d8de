using System.Text.Json.Nodes;

namespace Shrink.Tests.Cli;

[Collection("Cli")]
public class CliOptimizeTests
{
    [Fact]
    public void Negative_drop_is_rejected_before_any_work()
    {
        using var dir = new CliTempDir();
        var line = CliRunner.Run("optimize", "--model", "lenet5", "--dataset", "fashion-mnist", "--max-accuracy-drop", "-1", "--out", dir.File("run")).AssertBadInput();
        Assert.Contains("--max-accuracy-drop", line, StringComparison.Ordinal);
        Assert.Empty(dir.Files());
    }

    [Fact]
    public void Missing_drop_and_unknown_objective_are_bad_input()
    {
        Assert.Contains("--max-accuracy-drop is required", CliRunner.Run("optimize", "--model", "lenet5", "--dataset", "fashion-mnist").AssertBadInput(), StringComparison.Ordinal);
        Assert.Contains("--objective", CliRunner.Run("optimize", "--model", "lenet5", "--dataset", "fashion-mnist", "--max-accuracy-drop", "1", "--objective", "speed").AssertBadInput(), StringComparison.Ordinal);
        Assert.Contains("--time-budget", CliRunner.Run("optimize", "--model", "lenet5", "--dataset", "fashion-mnist", "--max-accuracy-drop", "1", "--time-budget", "0s").AssertBadInput(), StringComparison.Ordinal);
        Assert.Contains("--safety-margin", CliRunner.Run("optimize", "--model", "lenet5", "--dataset", "fashion-mnist", "--max-accuracy-drop", "1", "--safety-margin", "-1").AssertBadInput(), StringComparison.Ordinal);
    }

    /// <summary>Optimises LeNet-5 (drop 1) with <paramref name="args"/>, which must fail as bad input once the run has
    /// begun (its opening line printed): exit 2, the last stderr line starting with <paramref name="error"/>, no stack trace.</summary>
    private static CliResult FailsAfterStarting(string error, params string[] args)
    {
        var r = CliRunner.Run(["optimize", "--model", "lenet5", "--dataset", "fashion-mnist", "--max-accuracy-drop", "1", .. args]);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith(error, r.StderrLines[^1], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        return r;
    }

    [Fact]
    public void Target_the_original_already_meets_ends_with_one_error_and_no_run_directory()
    {
        using var dir = new CliTempDir();
        FailsAfterStarting("shrink: error: Nothing to optimise: --target-size-mb 10", "--target-size-mb", "10", "--dry-run", "--out", dir.File("run"));
        Assert.Empty(dir.Files());
    }

    [Fact]
    public void Target_no_factorisation_can_reach_ends_with_one_error_and_no_run_directory()
    {
        using var dir = new CliTempDir();
        var r = FailsAfterStarting("shrink: error: Cannot be met: --target-size-mb 1E-05 is below", "--target-size-mb", "0.00001", "--dry-run", "--out", dir.File("run"));
        Assert.DoesNotContain(r.StderrLines, l => l.StartsWith("optimize [sensitivity]", StringComparison.Ordinal));
        Assert.Empty(dir.Files());
    }

    [Fact]
    public void Run_directory_that_cannot_be_created_is_one_error_naming_it()
    {
        using var dir = new CliTempDir();
        File.WriteAllText(dir.File("plain"), "a file, not a folder");
        string run = Path.Combine(dir.File("plain"), "run");
        FailsAfterStarting($"shrink: error: Cannot create the run directory '{run}'", "--dry-run", "--out", run);
    }

    /// <summary>The design's contract: --json prints one object with original/stage1/stage2/result metrics and seconds.</summary>
    [Fact]
    public void Dry_run_json_has_the_contract_fields()
    {
        using var dir = new CliTempDir();
        var r = CliRunner.Run("optimize", "--model", "lenet5", "--dataset", "fashion-mnist", "--max-accuracy-drop", "1", "--level", "2", "--dry-run", "--json",
            "--objective", "size+macs", "--safety-margin", "0.5", "--out", dir.File("run"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var o = JsonNode.Parse(r.Stdout)!.AsObject();
        Assert.Equal("size+macs", o["constraints"]!["objective"]!.GetValue<string>());
        Assert.Equal(0.5, o["constraints"]!["safety_margin"]!.GetValue<double>());
        Assert.True(o["enhancement"]!["validation_margin"]!.GetValue<double>() >= 0);
        foreach (string part in new[] { "original", "stage1", "stage2", "result" })
            foreach (string field in new[] { "accuracy", "size_mb", "macs", "params", "memory_mb", "latency_ms" })
                Assert.True(o[part]?[field] is not null, $"{part}.{field}");
        Assert.True(o["seconds"]!.GetValue<double>() > 0);
        Assert.Contains(r.StderrLines, l => l.StartsWith("optimize [stage1]", StringComparison.Ordinal));
        Assert.Contains(r.StderrLines, l => l.StartsWith("optimize [stage2]", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(dir.File("run"), "model.onnx")));
        Assert.True(File.Exists(Path.Combine(dir.File("run"), "report.md")));
        // A finished run resumed just reports again.
        var again = CliRunner.Run("optimize", "--resume", dir.File("run"), "--json");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(o["result"]!["params"]!.GetValue<long>(), JsonNode.Parse(again.Stdout)!["result"]!["params"]!.GetValue<long>());
    }
}

using Shrink.Cli.Commands;
using Shrink.Graph;

namespace Shrink.Tests.Cli;

/// <summary>The duration syntax of --time-budget and --checkpoint-every.</summary>
[Collection("Cli")]
public class DurationTests
{
    [Theory]
    [InlineData("90m", 5400)]
    [InlineData("2h", 7200)]
    [InlineData("1h30m", 5400)]
    [InlineData("45s", 45)]
    [InlineData("600", 600)]
    [InlineData(" 1.5M ", 90)]
    public void Parses_durations(string text, double seconds) => Assert.Equal(seconds, Options.ParseDuration(text, "--time-budget").TotalSeconds);

    [Theory]
    [InlineData("90x", "units are h, m and s")]
    [InlineData("m", "Cannot read the duration 'm'")]
    [InlineData("10 m", "units are h, m and s")]
    [InlineData("1h30", "Cannot read the duration '1h30'")]
    [InlineData("1..5m", "Cannot read the duration '1..5m'")]
    [InlineData("-5", "must be positive, got '-5'")]
    [InlineData("0m", "must be positive, got '0m'")]
    [InlineData("", "needs a duration")]
    [InlineData("1e300", "too long")]
    public void Rejects_bad_durations_naming_the_option(string text, string message)
    {
        var e = Assert.Throws<ShrinkException>(() => Options.ParseDuration(text, "--checkpoint-every"));
        Assert.Contains("--checkpoint-every", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("train", "--model", "mlp")]
    [InlineData("zoo", "train", "mlp")]
    public void A_bad_checkpoint_interval_is_one_clear_error(params string[] command)
    {
        foreach (var (value, message) in new[] { ("10x", "units are h, m and s"), ("0", "must be positive") })
        {
            var line = CliRunner.Run([.. command, "--dataset", "fashion-mnist", "--checkpoint-every", value]).AssertBadInput();
            Assert.Contains("--checkpoint-every", line, StringComparison.Ordinal);
            Assert.Contains($"'{value}'", line, StringComparison.Ordinal);
            Assert.Contains(message, line, StringComparison.Ordinal);
        }
    }
}

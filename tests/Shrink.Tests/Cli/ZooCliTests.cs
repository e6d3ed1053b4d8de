using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Shrink.Cli.Commands;
using Shrink.Zoo;

namespace Shrink.Tests.Cli;

/// <summary>The CLI in-process (Shrink.Cli.Program.Main with the consoles redirected).</summary>
[Collection("Cli")]
public sealed partial class ZooCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "shrink-zoocli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var r = CliRunner.Run(args);
        return (r.ExitCode, r.Stdout, r.Stderr);
    }

    private static string RepoFile(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
    }

    /// <summary>The test accuracy (percent) that zoo/README.md's table states for a model.</summary>
    private static double TableAccuracy(string model)
    {
        foreach (var line in File.ReadLines(RepoFile("zoo/README.md")))
            if (line.StartsWith($"| {model} ", StringComparison.Ordinal) || line.StartsWith($"| `{model}`", StringComparison.Ordinal))
                return double.Parse(Percent().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"zoo/README.md has no row for {model}.");
    }

    [GeneratedRegex(@"\|\s*\**(\d+\.\d+)\s*%")]
    private static partial Regex Percent();

    [Theory]
    [InlineData("lenet5", 90.0)]
    [InlineData("mlp", 89.0)]
    [InlineData("resnet20", 93.0)]
    [InlineData("vgg11", 94.0)]
    [InlineData("mobilenet_v2", 93.5)]
    [InlineData("resnet18", 94.5)]
    public void Eval_of_the_pretrained_zoo_model_reproduces_the_table(string model, double target)
    {
        // Found beside the tool (the CLI project copies zoo/*.onnx to its output), whatever the working directory.
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "zoo", $"{model}-fashion-mnist.onnx")));
        var (code, stdout, stderr) = Run("eval", "--model", model, "--dataset", "fashion-mnist", "--json");
        Assert.True(code == 0, stderr);
        var json = JsonNode.Parse(stdout)!.AsObject();
        double accuracy = json["accuracy"]!.GetValue<double>();
        Assert.Equal(TableAccuracy(model), Math.Round(accuracy, 2));
        Assert.True(accuracy >= target, $"{model}: {accuracy}% < target {target}%");
    }

    [Fact]
    public void Zoo_list_names_each_architecture_with_its_pretrained_data_sets_once()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllBytes(Path.Combine(_dir, "resnet56-tiny-set.onnx"), []);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "zoo", "lenet5-fashion-mnist.onnx"), Path.Combine(_dir, "lenet5-fashion-mnist.onnx"));
        Environment.SetEnvironmentVariable("SHRINK_ZOO", _dir);
        try
        {
            var (code, stdout, stderr) = Run("zoo", "list", "--json");
            Assert.True(code == 0, stderr);
            var models = JsonNode.Parse(stdout)!["models"]!.AsArray().ToDictionary(m => (string)m!["name"]!, m => m!["pretrained"]!.AsArray().Select(f => (string)f!).ToArray());
            Assert.Equal(ModelZoo.Architectures.Select(a => a.Name).Order(), models.Keys.Order());
            Assert.Equal(["lenet5-fashion-mnist.onnx"], models["lenet5"]); // in SHRINK_ZOO and beside the tool: listed once
            Assert.Equal(["resnet56-tiny-set.onnx"], models["resnet56"]);
            Assert.Empty(models["resnet50"]);

            (code, stdout, _) = Run("zoo", "list");
            Assert.Equal(0, code);
            var lines = stdout.Split('\n');
            Assert.Matches(@"^lenet5 .* fashion-mnist +LeNet-5", lines.Single(l => l.StartsWith("lenet5 ", StringComparison.Ordinal)));
            Assert.Matches(@"^resnet56 .* tiny-set +ResNet-56", lines.Single(l => l.StartsWith("resnet56 ", StringComparison.Ordinal)));
            Assert.Matches(@"^resnet50 .* - +ResNet-50", lines.Single(l => l.StartsWith("resnet50 ", StringComparison.Ordinal)));
        }
        finally { Environment.SetEnvironmentVariable("SHRINK_ZOO", null); }
    }

    [Fact]
    public void Zoo_train_checkpoints_and_resumes_and_explicit_flags_beat_the_recipe()
    {
        string output = Path.Combine(_dir, "m.onnx");
        var (code, stdout, stderr) = Run("zoo", "train", "mlp", "--dataset", "fashion-mnist", "--epochs", "2", "--max-steps", "3", "--out", output, "--json");
        Assert.True(code == 0, stderr);
        Assert.Contains("batch 128", stderr, StringComparison.Ordinal); // the recipe's
        var first = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal(2, first["epochs"]!.GetValue<int>());
        Assert.Equal(0, first["resumed_epochs"]!.GetValue<int>());
        Assert.True(File.Exists(output));
        Assert.True(File.Exists(Path.Combine(output + ".ckpt", "state.json")));

        (code, stdout, stderr) = Run("zoo", "train", "mlp", "--dataset", "fashion-mnist", "--epochs", "2", "--max-steps", "3", "--out", output, "--resume", "--json");
        Assert.True(code == 0, stderr);
        var again = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal(2, again["resumed_epochs"]!.GetValue<int>());
        Assert.Equal(first["accuracy"]!.GetValue<double>(), again["accuracy"]!.GetValue<double>());

        (code, _, stderr) = Run("zoo", "train", "mlp", "--dataset", "fashion-mnist", "--epochs", "3", "--max-steps", "3", "--out", output, "--resume");
        Assert.Equal(2, code);
        Assert.Contains("epochs=2 then, epochs=3 now", stderr, StringComparison.Ordinal);

        (code, stdout, stderr) = Run("train", "--model", "mlp", "--dataset", "fashion-mnist", "--epochs", "1", "--batch-size", "32", "--max-steps", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("1 epoch(s), batch 32, sgd nesterov lr 0.05 onecycle", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Zoo_names_train_with_their_recipe_and_files_with_plain_defaults()
    {
        Assert.Equal(Recipes.For("resnet20", "fashion-mnist"), TrainCommand.Defaults("resnet20", "fashion-mnist"));
        Assert.Equal(new Shrink.Training.TrainingOptions(), TrainCommand.Defaults("model.onnx", "fashion-mnist"));
        var (code, _, stderr) = Run("zoo", "train", "alexnet", "--dataset", "fashion-mnist");
        Assert.Equal(2, code);
        Assert.Contains("not a zoo architecture", stderr, StringComparison.Ordinal);
    }
}

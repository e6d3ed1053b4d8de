using System.Text.Json.Nodes;
using Shrink.Data;
using Shrink.Onnx;

namespace Shrink.Tests.Cli;

[Collection("Cli")]
public class CliTrainEvalTests
{
    /// <summary>A small learnable IDX data set (1x28x28, 10 classes): class k is a bright 6x6 square at its own place, plus noise.</summary>
    internal static void WriteSyntheticIdx(string folder, int nTrain, int nTest)
    {
        Directory.CreateDirectory(folder);
        var rng = new Random(7);
        foreach (var (prefix, n) in new[] { ("train", nTrain), ("t10k", nTest) })
        {
            var pixels = new byte[n * 28 * 28];
            var labels = new byte[n];
            for (int s = 0; s < n; s++)
            {
                int k = s % 10;
                labels[s] = (byte)k;
                int top = 2 + (k / 5) * 13 + rng.Next(3), left = 1 + (k % 5) * 5 + rng.Next(2);
                for (int i = 0; i < 28; i++)
                for (int j = 0; j < 28; j++)
                {
                    bool on = i >= top && i < top + 6 && j >= left && j < left + 6 && j < 28;
                    pixels[s * 784 + i * 28 + j] = (byte)Math.Clamp((on ? 200 : 20) + rng.Next(-20, 21), 0, 255);
                }
            }
            IdxReader.Write(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), [n, 28, 28], pixels);
            IdxReader.Write(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), [n], labels);
        }
    }

    [Fact]
    public void Train_writes_a_model_and_eval_reproduces_its_accuracy()
    {
        using var dir = new CliTempDir();
        string data = Path.Combine(dir.Path, "synthetic");
        WriteSyntheticIdx(data, 400, 100);
        string model = Path.Combine(dir.Path, "models", "lenet5-synthetic.onnx");

        var train = CliRunner.Run("train", "--model", "lenet5", "--dataset", data, "--epochs", "1", "--batch-size", "32", "--out", model, "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.True(File.Exists(model));
        var t = JsonNode.Parse(train.Stdout)!.AsObject();
        foreach (var field in new[] { "accuracy", "size_mb", "macs", "params", "memory_mb" }) Assert.True(t.ContainsKey(field), $"train: missing '{field}'");
        double accuracy = (double)t["accuracy"]!;
        Assert.InRange(accuracy, 0, 100);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(model)!, "*.tmp"));
        Assert.NotNull(OnnxModel.Load(model));

        var eval = CliRunner.Run("eval", "--model", model, "--dataset", data, "--json");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        var e = JsonNode.Parse(eval.Stdout)!.AsObject();
        Assert.Equal(accuracy, (double)e["accuracy"]!, 6);
        Assert.Equal(100, (int)e["samples"]!);
        Assert.Equal((long)t["params"]!, (long)e["params"]!);
        Assert.Contains("accuracy", eval.Stderr);
    }

    [Fact]
    public void Fine_tunes_a_model_file_with_a_zoo_recipe_and_explicit_flags()
    {
        using var dir = new CliTempDir();
        string data = Path.Combine(dir.Path, "synthetic");
        WriteSyntheticIdx(data, 400, 100);
        string model = dir.File("lenet5.onnx"), tuned = dir.File("tuned.onnx");
        var train = CliRunner.Run("train", "--model", "lenet5", "--dataset", data, "--epochs", "1", "--batch-size", "32", "--out", model, "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);
        double accuracy = (double)JsonNode.Parse(train.Stdout)!["accuracy"]!;

        var tune = CliRunner.Run("train", "--model", model, "--recipe", "resnet20", "--dataset", data, "--epochs", "1", "--max-steps", "2",
            "--lr", "1e-6", "--schedule", "constant", "--weight-decay", "0", "--label-smoothing", "0.05", "--augment", "crop=1,flip", "--out", tuned, "--json");
        Assert.True(tune.ExitCode == 0, tune.Stderr);
        // Batch 128 and SGD with Nesterov momentum come from resnet20's recipe; the flags override the rest.
        Assert.Contains("batch 128, sgd nesterov lr 1E-06 constant, weight decay 0, label smoothing 0.05, crop pad 1, flip", tune.Stderr);
        // It starts from the file's weights: two steps at a learning rate of 1e-6 leave the accuracy where it was (at most one image of 100 flips).
        Assert.InRange((double)JsonNode.Parse(tune.Stdout)!["accuracy"]! - accuracy, -1.0, 1.0);
        Assert.True(File.Exists(tuned));
    }

    [Theory]
    [InlineData("crop", "fashion-mnist", 2, false, false, 0.8)]
    [InlineData("crop", "cifar10", 4, false, false, 0.8)]
    [InlineData(" crop=3 , flip ", "fashion-mnist", 3, true, false, 0.8)]
    [InlineData("flip,resized-crop", "cifar10", 0, true, true, 0.8)]
    [InlineData("resized-crop=0.5", "cifar10", 0, false, true, 0.5)]
    public void Augment_flag_parses_into_an_augmentation(string spec, string dataset, int pad, bool flip, bool resized, double minArea)
    {
        var a = Shrink.Cli.Commands.TrainFlags.ParseAugmentation(spec, dataset)!;
        Assert.Equal(new Augmentation { CropPadding = pad, HorizontalFlip = flip, RandomResizedCrop = resized, MinCropArea = minArea }, a);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("twirl", "unknown augmentation 'twirl'")]
    [InlineData("crop=0", "crop padding")]
    [InlineData("crop=two", "crop padding")]
    [InlineData("resized-crop=1.5", "resized-crop area")]
    [InlineData("flip=1", "unknown augmentation 'flip=1'")]
    public void Augment_flag_rejects_what_it_cannot_parse(string spec, string message)
    {
        Assert.Null(Shrink.Cli.Commands.TrainFlags.ParseAugmentation("none", "cifar10"));
        var e = Assert.Throws<Shrink.Graph.ShrinkException>(() => Shrink.Cli.Commands.TrainFlags.ParseAugmentation(spec, "cifar10"));
        Assert.Contains(message, e.Message);
    }
}

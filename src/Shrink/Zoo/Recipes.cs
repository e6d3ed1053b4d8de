using Shrink.Data;
using Shrink.Training;

namespace Shrink.Zoo;

/// <summary>
/// Training recipes per zoo architecture family, as <see cref="TrainingOptions"/>: SGD with Nesterov momentum 0.9,
/// label smoothing 0.1, a one-cycle schedule (cosine for the deep nets), weight decay 5e-4 for conv nets (less for
/// the small LeNet-5 and MLP, which underfit rather than overfit), and — on small grey-scale or colour images — a
/// padded random crop plus horizontal flip for the conv nets (LeNet-5 and the MLP train without augmentation, which
/// only slows them down at their capacity). Any field can be overridden with a <c>with</c> expression.
/// </summary>
public static class Recipes
{
    /// <summary>Padded random crop (2 pixels on 28×28, 4 on 32×32 and up) and horizontal flip.</summary>
    public static Augmentation ConvAugmentation(string? dataset) => new()
    {
        CropPadding = IsMnistLike(dataset) ? 2 : 4,
        HorizontalFlip = !string.Equals(CanonicalDataset(dataset), "mnist", StringComparison.Ordinal), // digits are not mirror-symmetric
    };

    /// <summary>
    /// The recipe of architecture <paramref name="name"/> (or an alias) for data set <paramref name="dataset"/> (a
    /// name or path; null for the generic recipe). Throws a <see cref="ShrinkException"/> listing the zoo for an unknown name.
    /// </summary>
    public static TrainingOptions For(string name, string? dataset = null)
    {
        string arch = ModelZoo.Get(name).Name;
        var conv = new TrainingOptions
        {
            Optimizer = "sgd", Momentum = 0.9, Nesterov = true, LabelSmoothing = 0.1f, WeightDecay = 5e-4,
            Augmentation = ConvAugmentation(dataset),
        };
        return arch switch
        {
            "lenet5" => conv with { Epochs = 30, BatchSize = 128, LearningRate = 0.05f, WeightDecay = 1e-4, Schedule = "onecycle", Augmentation = null },
            "mlp" => conv with { Epochs = 30, BatchSize = 128, LearningRate = 0.05f, WeightDecay = 1e-4, Schedule = "onecycle", Augmentation = null },
            "resnet20" or "resnet56" => conv with { Epochs = 30, BatchSize = 128, LearningRate = 0.1f, Schedule = "onecycle" },
            "vgg11" or "vgg16" or "vgg19" => conv with { Epochs = 30, BatchSize = 128, LearningRate = 0.05f, Schedule = "onecycle" },
            "resnet18" or "resnet50" => conv with { Epochs = 30, BatchSize = 128, LearningRate = 0.1f, Schedule = "onecycle" },
            "mobilenet_v1" or "mobilenet_v2" or "shufflenet_v2" =>
                conv with { Epochs = 40, BatchSize = 128, LearningRate = 0.1f, Schedule = "cosine" },
            "densenet121" or "densenet_cifar" or "googlenet" => conv with { Epochs = 30, BatchSize = 64, LearningRate = 0.1f, Schedule = "cosine" },
            _ => conv with { Epochs = 30, BatchSize = 128, LearningRate = 0.1f, Schedule = "cosine" },
        };
    }

    /// <summary>The architectures with a dedicated recipe (the fallback above serves ones registered later).</summary>
    public static IReadOnlyList<string> Dedicated { get; } =
    [
        "lenet5", "mlp", "vgg11", "vgg16", "vgg19", "resnet18", "resnet20", "resnet50", "resnet56",
        "mobilenet_v1", "mobilenet_v2", "shufflenet_v2", "densenet121", "densenet_cifar", "googlenet",
    ];

    private static string? CanonicalDataset(string? dataset)
    {
        if (dataset is null) return null;
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(dataset.Trim()));
        return DatasetCatalog.CanonicalName(name.Length > 0 ? name : dataset);
    }

    private static bool IsMnistLike(string? dataset) => CanonicalDataset(dataset) is "fashion-mnist" or "mnist";
}

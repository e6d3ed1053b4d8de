using Shrink.Data;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Tests.Training;

public class ShortTrainingTests
{
    /// <summary>
    /// The MLP with its zoo recipe (shortened to 3 epochs) on 6,000 Fashion-MNIST training images reaches at least
    /// 80% on 1,000 test images (about 83% measured) in a few seconds.
    /// </summary>
    [Fact]
    public void Mlp_recipe_reaches_80_percent_on_a_fashion_mnist_subset()
    {
        var data = DatasetCatalog.Load("fashion-mnist");
        var small = new DataSplits(data.Train.Subset(6000, seed: 2), data.Test.Subset(1000, seed: 2));
        var model = ModelZoo.Create("mlp", seed: 1);
        var result = TrainingRun.Fit(model, small, Recipes.For("mlp", "fashion-mnist") with { Epochs = 3 });
        var test = Evaluation.Evaluate(model, small.Test, small.ComputeNormalization());
        Assert.Equal(3, result.Epochs.Count);
        Assert.True(test.Accuracy >= 0.80, $"MLP test accuracy {test.AccuracyPercent:F2}% on the subset ({result.Seconds:F1}s)");
    }
}

using Shrink.Graph;
using Shrink.Zoo;

namespace Shrink.Tests.Zoo;

public class RecipesTests
{
    public static TheoryData<string> Architectures() => new(ModelZoo.Architectures.Select(a => a.Name));

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Every_zoo_architecture_has_a_sensible_recipe(string name)
    {
        Assert.Contains(name, Recipes.Dedicated);
        var r = Recipes.For(name, "fashion-mnist");
        Assert.Equal("sgd", r.Optimizer);
        Assert.True(r.Nesterov);
        Assert.Equal(0.9, r.Momentum);
        Assert.Equal(0.1f, r.LabelSmoothing);
        Assert.Contains(r.Schedule, new[] { "onecycle", "cosine" });
        Assert.InRange(r.Epochs, 10, 100);
        Assert.InRange(r.BatchSize, 32, 256);
        Assert.InRange(r.LearningRate, 0.01f, 0.2f);
        Assert.InRange(r.WeightDecay, 1e-5, 1e-3);
        Assert.Null(r.CheckpointDirectory);
        Assert.False(r.Resume);
        if (name is "lenet5" or "mlp") Assert.Null(r.Augmentation);
        else
        {
            Assert.NotNull(r.Augmentation);
            Assert.Equal(2, r.Augmentation.CropPadding);
            Assert.True(r.Augmentation.HorizontalFlip);
            Assert.Equal(5e-4, r.WeightDecay);
        }
    }

    [Fact]
    public void Recipes_adapt_to_the_data_set_and_accept_aliases_and_paths()
    {
        Assert.Equal(4, Recipes.For("resnet20", "cifar10").Augmentation!.CropPadding);
        Assert.False(Recipes.For("resnet20", "mnist").Augmentation!.HorizontalFlip);
        Assert.Equal(2, Recipes.For("resnet20", "/usr/share/datasets/fashion-mnist/").Augmentation!.CropPadding);
        Assert.Equal(Recipes.For("mobilenet_v2", "fashion-mnist"), Recipes.For("MobileNetV2", "fashion-mnist"));
        var e = Assert.Throws<ShrinkException>(() => Recipes.For("alexnet"));
        Assert.Contains("lenet5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fingerprint_changes_with_what_changes_the_result_only()
    {
        var r = Recipes.For("resnet20", "fashion-mnist");
        Assert.Equal(r.Fingerprint(), (r with { CheckpointDirectory = "x", Resume = true }).Fingerprint());
        Assert.NotEqual(r.Fingerprint(), (r with { Seed = 1 }).Fingerprint());
        Assert.NotEqual(r.Fingerprint(), (r with { Epochs = r.Epochs + 1 }).Fingerprint());
        Assert.NotEqual(r.Fingerprint(), (r with { Augmentation = null }).Fingerprint());
    }
}

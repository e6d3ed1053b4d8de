using Shrink.Compression.LowRank;
using Shrink.Conductor;
using Shrink.Data;
using Shrink.Execution;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Tests.Conductor;

public class SuffixEvaluatorTests
{
    /// <summary>Random 1×28×28 images labelled with <paramref name="model"/>'s own answers, so the original scores 100%.</summary>
    private static (Dataset Data, Normalization Norm) LabelledBy(Shrink.Graph.Graph model, int count)
    {
        var rng = new Random(5);
        var pixels = new byte[count * 28 * 28];
        rng.NextBytes(pixels);
        var unlabelled = new Dataset("random", pixels, new int[count], 1, 28, 28, 10);
        var norm = Normalization.Compute(unlabelled);
        var labels = new int[count];
        var executor = new Executor(model);
        foreach (var batch in new DataLoader(unlabelled, DataLoaderOptions.Evaluation(64, norm)).Epoch(0))
        {
            using var logits = executor.Run(batch.Images);
            for (int i = 0; i < batch.Count; i++)
            {
                var row = logits.Span.Slice(i * 10, 10);
                labels[batch.Indices[i]] = row.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(row));
            }
        }
        return (new Dataset("random", pixels, labels, 1, 28, 28, 10), norm);
    }

    [Theory]
    [InlineData("lenet5")]
    [InlineData("resnet20")]
    public void Gives_the_accuracy_of_evaluating_the_whole_model(string name)
    {
        var original = ModelZoo.Create(name, seed: 1);
        // The residual blocks start as the identity (their last BN's scale is 0): give them a say.
        foreach (var p in original.Parameters.Where(p => p.Shape.Rank == 1 && p.Name.EndsWith("weight", StringComparison.Ordinal) && p.Data.Span.IndexOfAnyExcept(0f) < 0))
            p.Data.Fill(1);
        var (data, norm) = LabelledBy(original, 270); // two batches of 256, the second partial
        Assert.Equal(100, Evaluation.Evaluate(original, data, norm).AccuracyPercent);
        var layers = Composer.Candidates(original).Where(l => l.Optimize).Where((_, i) => i % 3 == 0).ToList(); // every stage's share, not all 19 of ResNet-20
        Assert.NotEmpty(layers);
        int changed = 0;
        foreach (var layer in layers)
        {
            var g = original.Clone();
            LowRankPasses.Apply(g, new LowRankPlan([KeyValuePair.Create(layer.Name,
                layer.Method == LowRankMethod.Cp ? LayerRank.Tucker2(2, 2) : LayerRank.Svd(2))]));
            using var suffix = SuffixEvaluator.TryCreate(original, layer.Name, data, norm);
            Assert.NotNull(suffix);
            double whole = Evaluation.Evaluate(g, data, norm).AccuracyPercent;
            Assert.Equal(whole, suffix.AccuracyPercent(g));
            Assert.Equal(100, suffix.AccuracyPercent(original));
            if (whole < 100) changed++;
        }
        Assert.True(changed >= layers.Count / 2, $"rank 2 changed the answers of only {changed} of {layers.Count} layers");
    }

    [Fact]
    public void Keeps_the_skip_connection_around_a_residual_conv_and_declines_the_first_conv()
    {
        var model = ModelZoo.Create("resnet20", seed: 1);
        var (data, norm) = LabelledBy(model, 40);
        var first = model.Nodes.First(n => n.OpType == "Conv");
        Assert.Null(SuffixEvaluator.TryCreate(model, first.Name, data, norm)); // it reads the images: nothing upstream to keep
        // A block's second conv: its own input and the block's input, which the skip connection adds after it.
        var conv2 = model.Nodes.First(n => n.OpType == "Conv" && n.Name.EndsWith("conv2", StringComparison.Ordinal));
        using var suffix = SuffixEvaluator.TryCreate(model, conv2.Name, data, norm)!;
        Assert.Equal(2, suffix.Cut.Count);
        Assert.Contains(conv2.Inputs[0].Name, suffix.Cut);
    }

    [Fact]
    public void One_layer_at_a_time_keeps_one_cut_and_falls_back_to_the_whole_model_where_there_is_none()
    {
        var model = ModelZoo.Create("lenet5", seed: 1);
        var (data, norm) = LabelledBy(model, 50);
        int wholeCalls = 0;
        using var measure = new SuffixEvaluator.OneLayerAtATime(model, data, norm, g => { wholeCalls++; return Evaluation.Evaluate(g, data, norm).AccuracyPercent; });
        Assert.Equal(100, measure.AccuracyPercent("conv1", model)); // the first conv: evaluated whole
        Assert.Equal(1, wholeCalls);
        Assert.Equal(100, measure.AccuracyPercent("fc1", model));
        Assert.Equal(100, measure.AccuracyPercent("fc1", model));
        Assert.Equal(1, wholeCalls);
    }
}

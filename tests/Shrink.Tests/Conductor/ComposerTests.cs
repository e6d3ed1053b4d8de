using Shrink.Compression.LowRank;
using Shrink.Conductor;
using Shrink.Graph;
using Shrink.Zoo;

namespace Shrink.Tests.Conductor;

public class ComposerTests
{
    [Theory]
    [InlineData("lenet5")]
    [InlineData("resnet20")]
    public void The_floor_is_what_rank_1_everywhere_leaves_and_no_factorisation_goes_below_it(string name)
    {
        var model = ModelZoo.Create(name, seed: 1);
        long macs = Shrink.Profiling.Profiler.Profile(model).MacsPerSample;
        var (floorParams, floorMacs) = Composer.Floor(model, macs);
        var optimisable = Composer.Candidates(model).Where(l => l.Optimize).ToList();
        Assert.True(floorParams < model.ParameterCount / 10, $"{floorParams} of {model.ParameterCount}");
        Assert.True(floorMacs < macs / 2, $"{floorMacs} of {macs}");
        // Every optimisable layer at rank 1 by the method it would get (CP for k×k convs, SVD otherwise) and by Tucker-2.
        foreach (bool tucker in new[] { false, true })
        {
            var g = ModelZoo.Create(name, seed: 1);
            var plan = new LowRankPlan(optimisable.Select(l => KeyValuePair.Create(l.Name,
                l.Method == LowRankMethod.Cp ? (tucker ? LayerRank.Tucker2(1, 1) : LayerRank.Cp(1)) : LayerRank.Svd(1))));
            LowRankPasses.Apply(g, plan);
            Assert.True(g.ParameterCount >= floorParams, $"{(tucker ? "Tucker-2" : "CP")}: {g.ParameterCount} < {floorParams}");
            Assert.True(Shrink.Profiling.Profiler.Profile(g).MacsPerSample >= floorMacs);
            if (!tucker) Assert.Equal(floorParams, g.ParameterCount); // CP at rank 1 is the cheapest there is
        }
    }

    [Fact]
    public void LeNet_first_conv_frozen_others_optimised()
    {
        var layers = Composer.Candidates(ModelZoo.Create("lenet5", seed: 1));
        Assert.Equal(["conv1", "conv2", "fc1", "fc2", "fc3"], layers.Select(l => l.Name));
        var conv1 = layers[0];
        Assert.False(conv1.Optimize);
        Assert.Contains("first conv", conv1.Reason, StringComparison.Ordinal);
        Assert.All(layers.Skip(1), l => Assert.True(l.Optimize, $"{l.Name}: {l.Reason}"));
        Assert.Equal(LowRankMethod.Cp, layers[1].Method);
        Assert.Equal(LowRankMethod.Svd, layers[2].Method);
        Assert.Equal(1, layers[2].Ladder[0]);
        Assert.True(LowRankCost.SvdLinearParams(120, 400, layers[2].Ladder[^1], false) < 120 * 400, "the ladder stops at the break-even rank");
        Assert.Equal("fc3", Composer.Classifier(ModelZoo.Create("lenet5", seed: 1))?.Name);
    }

    [Fact]
    public void Depthwise_and_tiny_layers_are_frozen()
    {
        var b = new GraphBuilder("dw", 0);
        var x = b.Input(3, 16, 16);
        x = b.Relu(b.Conv2d(x, 32, kernel: 3, padding: 1, name: "stem"));
        x = b.Relu(b.Conv2d(x, 32, kernel: 3, padding: 1, groups: 32, name: "dw"));
        x = b.Relu(b.Conv2d(x, 64, kernel: 3, padding: 1, name: "big"));
        x = b.Relu(b.Conv2d(x, 2, kernel: 1, name: "tiny"));
        x = b.Flatten(b.GlobalAvgPool(x));
        var g = b.Build(b.Linear(x, 10, name: "head"));
        var layers = Composer.Candidates(g).ToDictionary(l => l.Name);
        Assert.Contains("first conv", layers["stem"].Reason, StringComparison.Ordinal);
        Assert.Contains("grouped conv", layers["dw"].Reason, StringComparison.Ordinal);
        Assert.True(layers["big"].Optimize);
        Assert.Contains("tiny", layers["tiny"].Reason, StringComparison.Ordinal);
        Assert.False(layers["tiny"].Optimize);
    }

    [Fact]
    public void Ladder_and_curve_helpers()
    {
        var ladder = LayerChoice.MakeLadder(74);
        Assert.Equal(1, ladder[0]);
        Assert.Equal(74, ladder[^1]);
        Assert.True(ladder.Zip(ladder.Skip(1)).All(p => p.First < p.Second));
        var curve = LayerChoice.Interpolate(5, [0, 2, 4], [40, 10, 12]);
        Assert.Equal([40, 25, 12, 12, 12], curve); // linear, then non-increasing in rank
        Assert.All(LayerChoice.Interpolate(3, [0, 2], [-1, -2]), d => Assert.Equal(0, d));
    }

    [Fact]
    public void Tiny_rule_judges_the_smallest_layers_together()
    {
        // Six 16-channel convs of ~0.5% each: 3% of the model together, so at most the smallest share under 1% stays frozen.
        var b = new GraphBuilder("many-small", 0);
        var x = b.Input(3, 8, 8);
        x = b.Relu(b.Conv2d(x, 16, kernel: 3, padding: 1, name: "stem"));
        for (int i = 0; i < 6; i++) x = b.Relu(b.Conv2d(x, 16, kernel: 3, padding: 1, name: $"small{i}"));
        x = b.Relu(b.Conv2d(x, 128, kernel: 3, padding: 1, name: "wide"));
        x = b.Relu(b.Conv2d(x, 256, kernel: 3, padding: 1, name: "big"));
        x = b.Relu(b.Conv2d(x, 4, kernel: 1, name: "squeeze"));
        var g = b.Build(b.Linear(b.Flatten(b.GlobalAvgPool(x)), 10, name: "head"));
        long total = g.ParameterCount;
        var layers = Composer.Candidates(g);
        var small = layers.Where(l => l.Name.StartsWith("small", StringComparison.Ordinal)).ToList();
        Assert.All(small, l => Assert.True(l.Params < Composer.TinyFraction * total, $"{l.Name} is under 1% on its own"));
        var tiny = layers.Where(l => l.Reason.StartsWith("tiny", StringComparison.Ordinal)).ToList();
        Assert.Contains(tiny, l => l.Name == "squeeze"); // the smallest one is frozen
        Assert.True(tiny.Sum(l => l.Params) <= Composer.TinyFraction * total, "the tiny layers hold at most 1% together");
        Assert.True(small.Count(l => l.Optimize) >= 5, string.Join("; ", small.Select(l => $"{l.Name}: {l.Reason}")));
        Assert.All(layers.Where(l => l.Optimize), l => Assert.True(l.Params >= tiny.Max(t => t.Params), $"{l.Name} is larger than every tiny layer"));
        Assert.All(small.Where(l => l.Optimize), l => Assert.NotEmpty(l.Ladder));
    }

    /// <summary>
    /// ResNet-18 at 28×28: a layer1 conv holds 0.33% of the parameters but 6% of the MACs. Under size the tiny rule freezes
    /// one of them; under macs and size+macs none (their share of the cost is far above 1%).
    /// </summary>
    [Theory]
    [InlineData(Objective.Size, 1)]
    [InlineData(Objective.Macs, 0)]
    [InlineData(Objective.SizeAndMacs, 0)]
    public void Tiny_rule_judges_the_share_of_the_objectives_cost(Objective objective, int frozenLayer1)
    {
        var layers = Composer.Candidates(ModelZoo.Create("resnet18", seed: 1), objective);
        var tiny = layers.Where(l => l.Reason.StartsWith("tiny", StringComparison.Ordinal)).ToList();
        Assert.Equal(frozenLayer1, tiny.Count(l => l.Name.StartsWith("layer1.", StringComparison.Ordinal)));
        Assert.Contains(tiny, l => l.Name == "fc");
        double totalMacs = layers.Sum(l => l.Macs), totalParams = ModelZoo.Create("resnet18", seed: 1).ParameterCount;
        double Share(LayerChoice l) => objective switch
        {
            Objective.Size => l.Params / totalParams,
            Objective.Macs => l.Macs / totalMacs,
            _ => (l.Params / totalParams + l.Macs / totalMacs) / 2,
        };
        Assert.True(tiny.Sum(Share) <= Composer.TinyFraction, $"{tiny.Sum(Share):P2} frozen as tiny");
        Assert.All(layers.Where(l => l.Optimize), l => Assert.True(Share(l) >= tiny.Max(Share), $"{l.Name} is larger than every tiny layer"));
    }
}

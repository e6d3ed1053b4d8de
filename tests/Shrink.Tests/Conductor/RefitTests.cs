using Shrink.Compression.LowRank;
using Shrink.Conductor;
using Shrink.Execution;

namespace Shrink.Tests.Conductor;

public class RefitTests(SmallLeNet lenet) : IClassFixture<SmallLeNet>
{
    /// <summary>Re-fitting the last factors brings the factorised model's logits closer to the original's.</summary>
    [Fact]
    public void Refit_moves_the_factorised_model_towards_the_original()
    {
        var cache = new FactorCache(lenet.Model);
        var plan = new Dictionary<string, LayerRank> { ["conv2"] = LayerRank.Tucker2(4, 2), ["fc1"] = LayerRank.Svd(4) };
        var (g, _) = cache.Compose(plan);
        var norm = lenet.Data.ComputeNormalization();
        var probe = lenet.Data.Test.Subset(200, seed: 9);
        double before = Distance(g, probe, norm);
        LeastSquaresRefit.Apply(g, lenet.Model, plan.Keys, lenet.Data.Train, norm, samples: 256);
        double after = Distance(g, probe, norm);
        Assert.True(after < 0.8 * before, $"logit distance {before:G4} → {after:G4}");
    }

    private double Distance(Shrink.Graph.Graph g, Shrink.Data.Dataset d, Shrink.Data.Normalization norm)
    {
        var images = d.GetImages(Enumerable.Range(0, d.Count).ToArray(), norm);
        var a = new Executor(g).Run(images);
        var b = new Executor(lenet.Model).Run(images);
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
        return s / a.Length;
    }
}

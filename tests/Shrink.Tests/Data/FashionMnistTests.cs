using System.Diagnostics;
using Shrink.Data;
using Xunit.Abstractions;

namespace Shrink.Tests.Data;

/// <summary>A fact that runs only where Debian's dataset-fashion-mnist is installed (CI installs it).</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public const string Folder = "/usr/share/datasets/fashion-mnist";

    public FashionMnistFactAttribute()
    {
        if (!Directory.Exists(Folder))
            Skip = $"{Folder} is absent: install it with `apt-get install dataset-fashion-mnist` to run this test.";
    }
}

public class FashionMnistTests(ITestOutputHelper output)
{
    [FashionMnistFact]
    public void Loads_the_real_fashion_mnist()
    {
        var watch = Stopwatch.StartNew();
        var s = DatasetCatalog.Load("fashion-mnist", [DatasetCatalog.SystemRoot]);
        double loadMs = watch.Elapsed.TotalMilliseconds;
        Assert.Equal((60000, 10000, 10), (s.Train.Count, s.Test.Count, s.ClassCount));
        Assert.Equal((1, 28, 28), (s.Train.Channels, s.Train.Height, s.Train.Width));
        Assert.Equal("idx", s.Format);
        Assert.All(s.Train.ClassHistogram(), n => Assert.Equal(6000, n));
        Assert.All(s.Test.ClassHistogram(), n => Assert.Equal(1000, n));

        watch.Restart();
        var v = s.WithValidation(0.1, seed: 0, stratified: true);
        var norm = v.ComputeNormalization();
        double statsMs = watch.Elapsed.TotalMilliseconds;
        Assert.Equal(54000, v.Train.Count);
        Assert.InRange(norm.Mean[0], 0.27f, 0.31f); // Fashion-MNIST: 0.2860 / 0.3530
        Assert.InRange(norm.Std[0], 0.33f, 0.37f);

        watch.Restart();
        var loader = new DataLoader(v.Train, new DataLoaderOptions { BatchSize = 128, Normalization = norm, Seed = 1 });
        int seen = 0;
        foreach (var b in loader.Epoch(0)) seen += b.Count;
        double epochMs = watch.Elapsed.TotalMilliseconds;
        Assert.Equal(54000, seen);
        output.WriteLine($"load {loadMs:F0} ms, split+stats {statsMs:F0} ms, one epoch of batches {epochMs:F0} ms");
    }
}

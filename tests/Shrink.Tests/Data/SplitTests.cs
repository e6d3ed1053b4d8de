using Shrink.Data;

namespace Shrink.Tests.Data;

public class SplitTests
{
    private static int[] StorageIds(Dataset d) => Enumerable.Range(0, d.Count).Select(d.StorageIndex).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Validation_split_is_disjoint_covering_and_seeded(bool stratified)
    {
        var data = DataFixtures.InMemory(1000);
        var (train, val) = data.SplitValidation(0.1, seed: 3, stratified);
        Assert.Equal(100, val.Count);
        Assert.Equal(900, train.Count);
        var t = StorageIds(train);
        var v = StorageIds(val);
        Assert.Empty(t.Intersect(v));
        Assert.Equal(Enumerable.Range(0, 1000), t.Concat(v).Order());
        for (int i = 0; i < val.Count; i++) Assert.Equal(data.GetLabel(v[i]), val.GetLabel(i));

        var (_, again) = data.SplitValidation(0.1, seed: 3, stratified);
        Assert.Equal(v, StorageIds(again));
        var (_, other) = data.SplitValidation(0.1, seed: 4, stratified);
        Assert.NotEqual(v, StorageIds(other));
        if (stratified) Assert.All(val.ClassHistogram(), c => Assert.Equal(10, c));
    }

    [Fact]
    public void Validation_split_rejects_bad_fractions()
    {
        var data = DataFixtures.InMemory(10);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.SplitValidation(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.SplitValidation(1));
        Assert.Throws<Shrink.Graph.ShrinkException>(() => DataFixtures.InMemory(3).SplitValidation(0.01));
    }

    [Fact]
    public void WithValidation_on_splits_and_stats_come_from_train_only()
    {
        var s = new DataSplits(DataFixtures.InMemory(200, name: "x/train"), DataFixtures.InMemory(30, name: "x/test")) { Name = "x" };
        var v = s.WithValidation(0.2, seed: 1);
        Assert.Equal((160, 40, 30), (v.Train.Count, v.Validation!.Count, v.Test.Count));
        Assert.Equal("x/validation", v.Validation.Name);
        Assert.Equal(Normalization.Compute(v.Train), v.ComputeNormalization());
        Assert.NotEqual(Normalization.Compute(s.Train), v.ComputeNormalization());
        Assert.Throws<InvalidOperationException>(() => v.WithValidation());
    }

    [Fact]
    public void Subset_is_seeded_distinct_and_ordered()
    {
        var data = DataFixtures.InMemory(500);
        var a = StorageIds(data.Subset(50, seed: 7));
        Assert.Equal(50, a.Distinct().Count());
        Assert.Equal(a.Order(), a);
        Assert.Equal(a, StorageIds(data.Subset(50, seed: 7)));
        Assert.NotEqual(a, StorageIds(data.Subset(50, seed: 8)));
        Assert.Same(data, data.Subset(500));
    }

    [Fact]
    public void Normalization_statistics_uint8_and_float()
    {
        // Channel 0 is 0 or 255 (mean 0.5, std 0.5); channel 1 is constant 51 (mean 0.2, std → 1).
        int n = 4, hw = 6;
        var px = new byte[n * 2 * hw];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++)
            {
                px[(i * 2) * hw + j] = (byte)((i + j) % 2 == 0 ? 255 : 0);
                px[(i * 2 + 1) * hw + j] = 51;
            }
        var d = new Dataset("s", px, [0, 1, 0, 1], 2, 2, 3, 2);
        var norm = Normalization.Compute(d);
        Assert.Equal(0.5f, norm.Mean[0], 6);
        Assert.Equal(0.5f, norm.Std[0], 6);
        Assert.Equal(0.2f, norm.Mean[1], 6);
        Assert.Equal(1f, norm.Std[1]);

        var floats = px.Select(b => b / 255f).ToArray();
        var f = Normalization.Compute(new Dataset("f", floats, [0, 1, 0, 1], 2, 2, 3, 2));
        Assert.Equal(norm.Mean[0], f.Mean[0], 5);
        Assert.Equal(norm.Std[0], f.Std[0], 5);

        // A normalised batch has zero mean and unit variance per (non-constant) channel.
        var t = d.GetImages([0, 1, 2, 3], norm);
        var ch0 = Enumerable.Range(0, n).SelectMany(i => t.Span.Slice(i * 2 * hw, hw).ToArray()).ToArray();
        Assert.Equal(0, ch0.Average(), 5);
        Assert.Equal(1, Math.Sqrt(ch0.Average(x => x * x)), 5);
    }

    [Fact]
    public void Normalization_validates_and_compares_by_value()
    {
        Assert.Equal(new Normalization([0.1f], [0.3f]), new Normalization([0.1f], [0.3f]));
        Assert.Throws<ArgumentException>(() => new Normalization([0.1f], [0f]));
        Assert.Throws<ArgumentException>(() => new Normalization([0.1f, 0.2f], [1f]));
        var img = new float[] { 1, 2, 3, 4 };
        Normalization.Identity(2).Apply(img, 2);
        Assert.Equal([1f, 2, 3, 4], img);
    }
}

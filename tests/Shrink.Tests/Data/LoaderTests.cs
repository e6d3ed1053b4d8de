using Shrink.Data;

namespace Shrink.Tests.Data;

public class LoaderTests
{
    private sealed record Snapshot(int[] Labels, int[] Indices, float[] Images, int[] Shape);

    private static List<Snapshot> Collect(DataLoader loader, int epoch) =>
        loader.Epoch(epoch).Select(b => new Snapshot(b.Labels.ToArray(), b.Indices.ToArray(), b.Images.ToArray(), b.Images.Shape.ToArray())).ToList();

    private static void AssertSame(List<Snapshot> a, List<Snapshot> b)
    {
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Indices, b[i].Indices);
            Assert.Equal(a[i].Labels, b[i].Labels);
            Assert.Equal(a[i].Shape, b[i].Shape);
            Assert.Equal(a[i].Images, b[i].Images);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Every_sample_once_per_epoch_with_a_partial_last_batch(int prefetch)
    {
        var data = DataFixtures.InMemory(103);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 10, Seed = 5, Prefetch = prefetch });
        Assert.Equal(11, loader.BatchesPerEpoch);
        var batches = Collect(loader, 0);
        Assert.Equal(11, batches.Count);
        Assert.All(batches.Take(10), b => Assert.Equal([10, 1, 4, 3], b.Shape));
        Assert.Equal([3, 1, 4, 3], batches[^1].Shape);
        var seen = batches.SelectMany(b => b.Indices).ToArray();
        Assert.Equal(Enumerable.Range(0, 103), seen.Order());
        Assert.NotEqual(Enumerable.Range(0, 103), seen); // shuffled
        foreach (var b in batches)
            for (int i = 0; i < b.Labels.Length; i++) Assert.Equal(data.GetLabel(b.Indices[i]), b.Labels[i]);

        var dropped = new DataLoader(data, new DataLoaderOptions { BatchSize = 10, DropLast = true, Prefetch = prefetch });
        Assert.Equal(10, dropped.BatchesPerEpoch);
        Assert.All(Collect(dropped, 0), b => Assert.Equal(10, b.Labels.Length));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void A_batch_size_above_the_data_set_gives_one_batch_of_everything(int prefetch)
    {
        // int.MaxValue used to overflow the batch count to 0 and the buffer size to an exception; any size above the
        // data set used to allocate buffers for the full batch size.
        var data = DataFixtures.InMemory(5);
        foreach (int batchSize in new[] { 6, 1_000_000, int.MaxValue })
        {
            var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = batchSize, Shuffle = false, Prefetch = prefetch });
            Assert.Equal(1, loader.BatchesPerEpoch);
            var batch = Assert.Single(loader.Epoch(0));
            Assert.Equal([5, 1, 4, 3], batch.Images.Shape);
            Assert.Equal(5 * 12, batch.Images.Array.Length);
            Assert.Equal([0, 1, 2, 3, 4], batch.Indices);
            Assert.Equal(0, new DataLoader(data, new DataLoaderOptions { BatchSize = batchSize, DropLast = true }).BatchesPerEpoch);
        }
    }

    [Fact]
    public void Shuffling_is_determined_by_seed_and_epoch()
    {
        var data = DataFixtures.InMemory(64);
        DataLoader Make(int seed) => new(data, new DataLoaderOptions { BatchSize = 8, Seed = seed });
        AssertSame(Collect(Make(1), 3), Collect(Make(1), 3));
        Assert.Equal(Make(1).EpochOrder(3), Make(1).EpochOrder(3));
        Assert.NotEqual(Make(1).EpochOrder(3), Make(1).EpochOrder(4));
        Assert.NotEqual(Make(1).EpochOrder(3), Make(2).EpochOrder(3));
        var plain = new DataLoader(data, new DataLoaderOptions { Shuffle = false });
        Assert.Equal(Enumerable.Range(0, 64), plain.EpochOrder(9));
    }

    [Fact]
    public void Loader_over_indices_and_max_batches()
    {
        var data = DataFixtures.InMemory(50);
        int[] idx = [3, 9, 27, 41, 44];
        var loader = new DataLoader(data, idx, new DataLoaderOptions { BatchSize = 2, Seed = 1 });
        Assert.Equal(idx, Collect(loader, 0).SelectMany(b => b.Indices).Order());
        var few = new DataLoader(data, new DataLoaderOptions { BatchSize = 4, MaxBatches = 2 });
        Assert.Equal(2, Collect(few, 0).Count);
    }

    [Fact]
    public void Batches_are_normalised_float_images()
    {
        var data = DataFixtures.InMemory(20, c: 2, h: 3, w: 3);
        var norm = new Normalization([0.25f, 0.5f], [0.5f, 2f]);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 6, Normalization = norm, Seed = 2 });
        foreach (var b in loader.Epoch(0))
            for (int i = 0; i < b.Count; i++)
                for (int j = 0; j < 18; j++)
                {
                    int ch = j / 9;
                    float expected = (DataFixtures.Pixel(b.Indices[i], j) / 255f - norm.Mean[ch]) / norm.Std[ch];
                    Assert.Equal(expected, b.Images[i * 18 + j], 2e-6f * (1 + MathF.Abs(expected))); // two roundings differ (fused scale)
                }
    }

    [Fact]
    public void Prefetching_yields_the_same_batches_as_synchronous()
    {
        var data = DataFixtures.InMemory(77, c: 3, h: 8, w: 8);
        var aug = new Augmentation { CropPadding = 2, RandomResizedCrop = true, HorizontalFlip = true };
        var norm = Normalization.Compute(data);
        DataLoader Make(int prefetch) => new(data, new DataLoaderOptions
            { BatchSize = 16, Seed = 11, Augmentation = aug, Normalization = norm, Prefetch = prefetch });
        var sync = Collect(Make(0), 2);
        AssertSame(sync, Collect(Make(1), 2));
        AssertSame(sync, Collect(Make(2), 2));
        var loader = Make(2);
        AssertSame(Collect(loader, 5), Collect(loader, 5)); // buffers reused across epochs
    }

    /// <summary>Resuming a run mid-epoch: batches k.. equal those of the whole epoch, and batches 0..k-1 are never built.</summary>
    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 3)]
    [InlineData(2, 3)]
    [InlineData(2, 4)] // the partial last batch alone
    [InlineData(1, 5)] // past the last batch: nothing
    public void Starting_at_batch_k_gives_the_rest_of_the_epoch_without_building_the_skipped_batches(int prefetch, int k)
    {
        var data = DataFixtures.InMemory(77, c: 3, h: 8, w: 8);
        var aug = new Augmentation { CropPadding = 2, RandomResizedCrop = true, HorizontalFlip = true };
        var norm = Normalization.Compute(data);
        DataLoader Make() => new(data, new DataLoaderOptions
            { BatchSize = 16, Seed = 11, Augmentation = aug, Normalization = norm, Prefetch = prefetch });
        var whole = Collect(Make(), 2);
        Assert.Equal(5, whole.Count);

        var loader = Make();
        var built = new List<int>();
        loader.BeforeBuild = b => { lock (built) built.Add(b); };
        var numbers = new List<int>();
        var rest = loader.Epoch(2, k).Select(b =>
        {
            numbers.Add(b.Number);
            Assert.Equal(2, b.Epoch);
            return new Snapshot(b.Labels.ToArray(), b.Indices.ToArray(), b.Images.ToArray(), b.Images.Shape.ToArray());
        }).ToList();
        AssertSame(whole.Skip(k).ToList(), rest);
        Assert.Equal(Enumerable.Range(k, 5 - k), numbers);
        Assert.Equal(Enumerable.Range(k, 5 - k), built.Order());
    }

    [Fact]
    public void Starting_outside_the_epoch_is_refused()
    {
        var loader = new DataLoader(DataFixtures.InMemory(20), new DataLoaderOptions { BatchSize = 8 });
        Assert.Equal("firstBatch", Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(0, 4)).ParamName);
        Assert.Equal("firstBatch", Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(0, -1)).ParamName);
    }

    [Fact]
    public void Producer_exceptions_surface_on_the_consumer_and_early_exit_is_clean()
    {
        var data = DataFixtures.InMemory(40);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 4, Prefetch = 2 });
        loader.BeforeBuild = b => { if (b == 3) throw new InvalidDataException("boom at batch 3"); };
        int got = 0;
        var e = Assert.Throws<InvalidDataException>(() => { foreach (var _ in loader.Epoch(0)) got++; });
        Assert.Equal("boom at batch 3", e.Message);
        Assert.Equal(3, got);

        loader.BeforeBuild = null;
        foreach (var _ in loader.Epoch(1)) break; // stops the producer
        Assert.Equal(10, Collect(loader, 1).Count);
    }

    [Fact]
    public void Augmentation_keeps_shape_and_is_seeded()
    {
        var data = DataFixtures.InMemory(30, c: 3, h: 10, w: 12);
        foreach (var aug in new[] { new Augmentation { CropPadding = 3 }, new Augmentation { RandomResizedCrop = true }, new Augmentation { HorizontalFlip = true } })
        {
            var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 7, Augmentation = aug, Seed = 4, Shuffle = false });
            var a = Collect(loader, 0);
            Assert.All(a, b => Assert.Equal([3, 10, 12], b.Shape[1..]));
            AssertSame(a, Collect(loader, 0));
            Assert.NotEqual(a[0].Images, Collect(loader, 1)[0].Images);
        }
    }

    [Fact]
    public void Flip_augmentation_gives_the_image_or_its_mirror()
    {
        var data = DataFixtures.InMemory(40, c: 2, h: 5, w: 7);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 40, Shuffle = false, Augmentation = new Augmentation { HorizontalFlip = true } });
        var b = Collect(loader, 0)[0];
        int flipped = 0, n = 70;
        for (int i = 0; i < 40; i++)
        {
            var original = new float[n];
            var mirror = new float[n];
            data.CopyImage(i, original);
            ImageOps.FlipHorizontal(original, mirror, 2, 5, 7);
            var got = b.Images.AsSpan(i * n, n).ToArray();
            if (got.SequenceEqual(mirror)) flipped++;
            else Assert.Equal(original, got);
        }
        Assert.InRange(flipped, 8, 32);
    }

    [Fact]
    public void Padded_crop_augmentation_is_a_shift_within_the_padding()
    {
        const int c = 1, h = 6, w = 6, n = c * h * w, pad = 2;
        var data = DataFixtures.InMemory(25, c, h, w);
        var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 25, Shuffle = false, Augmentation = new Augmentation { CropPadding = pad } });
        var b = Collect(loader, 0)[0];
        var shifts = new HashSet<(int, int)>();
        for (int i = 0; i < 25; i++)
        {
            var original = new float[n];
            data.CopyImage(i, original);
            var got = b.Images.AsSpan(i * n, n).ToArray();
            var match = from dy in Enumerable.Range(-pad, 2 * pad + 1)
                        from dx in Enumerable.Range(-pad, 2 * pad + 1)
                        let shifted = Shifted(original, dy, dx)
                        where shifted.SequenceEqual(got)
                        select (dy, dx);
            var m = match.ToList();
            Assert.NotEmpty(m);
            shifts.Add(m[0]);
        }
        Assert.True(shifts.Count > 5, $"only {shifts.Count} distinct shifts");

        static float[] Shifted(float[] src, int dy, int dx)
        {
            var dst = new float[src.Length];
            ImageOps.Shift(src, dst, c, h, w, dy, dx);
            return dst;
        }
    }
}

internal static class TensorTestExtensions
{
    public static ReadOnlySpan<float> AsSpan(this Tensor t, int start, int length) => t.Span.Slice(start, length);
}

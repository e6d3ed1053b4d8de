using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Shrink.Tensors;

namespace Shrink.Data;

/// <summary>How a <see cref="DataLoader"/> batches, shuffles, augments and prefetches.</summary>
public sealed record DataLoaderOptions
{
    public int BatchSize { get; init; } = 64;

    /// <summary>Shuffle every epoch; the order of epoch e under seed s is always the same.</summary>
    public bool Shuffle { get; init; } = true;

    public int Seed { get; init; }

    /// <summary>Drop the last batch when it is smaller than <see cref="BatchSize"/> (default: keep it).</summary>
    public bool DropLast { get; init; }

    /// <summary>Applied to every image after augmentation; null leaves images in float form (uint8 → [0, 1]).</summary>
    public Normalization? Normalization { get; init; }

    /// <summary>Training augmentation; null for none (evaluation).</summary>
    public Augmentation? Augmentation { get; init; }

    /// <summary>
    /// Batches built ahead on a background thread while the caller works on the current one (0: build
    /// synchronously on the caller's thread). Results are identical either way.
    /// </summary>
    public int Prefetch { get; init; } = 2;

    /// <summary>Stop each epoch after this many batches (for dry runs); null: the whole data set.</summary>
    public int? MaxBatches { get; init; }

    /// <summary>Evaluation settings: no shuffling, no augmentation, last batch kept.</summary>
    public static DataLoaderOptions Evaluation(int batchSize, Normalization? normalization) =>
        new() { BatchSize = batchSize, Shuffle = false, Normalization = normalization };
}

/// <summary>
/// One batch: images [B,C,H,W] (normalised and augmented as the loader's options say), their labels and their
/// indices into the loader's data set. The storage is reused: a batch is valid until the next one is requested
/// from the same enumeration (or the enumeration ends) — copy what must outlive that, and never dispose
/// <see cref="Images"/> (the loader owns it).
/// </summary>
public sealed class Batch
{
    internal Batch(DataLoader.Slot slot, Tensor images, int[] labels, int[] indices)
    {
        Slot = slot;
        Images = images;
        Labels = labels;
        Indices = indices;
    }

    internal DataLoader.Slot Slot { get; }
    public Tensor Images { get; }
    public int[] Labels { get; }

    /// <summary>For each sample, its index in the data set the loader was made over.</summary>
    public int[] Indices { get; }

    public int Count => Labels.Length;

    /// <summary>The epoch this batch belongs to and its number within the epoch (0-based).</summary>
    public int Epoch { get; internal set; }
    public int Number { get; internal set; }
}

/// <summary>
/// Batches over a <see cref="Dataset"/> (or the samples of it at given indices): seeded per-epoch shuffling,
/// optional augmentation, normalisation, and prefetching on a background thread with a bounded number of
/// batches in flight. Exceptions thrown while building a batch surface on the consumer's thread when it
/// reaches that batch. Several epochs may be enumerated concurrently; each has its own buffers.
/// </summary>
public sealed class DataLoader
{
    private readonly Dataset _data;
    private readonly int[]? _positions;
    private readonly ConcurrentBag<Slot> _pool = [];
    private readonly float[] _scale, _shift;

    public DataLoader(Dataset data, DataLoaderOptions? options = null) : this(data, null, options) { }

    /// <summary>A loader over the samples of <paramref name="data"/> at <paramref name="indices"/>.</summary>
    public DataLoader(Dataset data, int[]? indices, DataLoaderOptions? options)
    {
        _data = data;
        Options = options ?? new DataLoaderOptions();
        if (Options.BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), Options.BatchSize, "Batch size must be positive.");
        if (Options.Prefetch < 0) throw new ArgumentOutOfRangeException(nameof(options), Options.Prefetch, "Prefetch must be ≥ 0.");
        if (Options.MaxBatches is < 0) throw new ArgumentOutOfRangeException(nameof(options), Options.MaxBatches, "MaxBatches must be ≥ 0.");
        Options.Augmentation?.Validate();
        if (indices is not null)
        {
            foreach (int i in indices)
                if ((uint)i >= (uint)data.Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"Index {i} is outside data set '{data.Name}' of {data.Count} samples.");
            _positions = (int[])indices.Clone();
        }
        var norm = Options.Normalization ?? Normalization.Identity(data.Channels);
        if (norm.Channels != data.Channels)
            throw new ArgumentException($"Normalization for {norm.Channels} channels does not fit data set '{data.Name}' of {data.Channels}.", nameof(options));
        _scale = norm.Std.Select(s => 1f / s).ToArray();
        _shift = norm.Mean.Select((m, c) => -m / norm.Std[c]).ToArray();
    }

    public Dataset Dataset => _data;
    public DataLoaderOptions Options { get; }

    /// <summary>Samples per epoch (before dropping a partial batch).</summary>
    public int Count => _positions?.Length ?? _data.Count;

    public int BatchesPerEpoch
    {
        get
        {
            int b = Count / Options.BatchSize + (!Options.DropLast && Count % Options.BatchSize != 0 ? 1 : 0);
            return Options.MaxBatches is int max ? Math.Min(b, max) : b;
        }
    }

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the data set (indices into it).</summary>
    public int[] EpochOrder(int epoch)
    {
        int[] order = _positions is null ? Enumerable.Range(0, _data.Count).ToArray() : (int[])_positions.Clone();
        if (Options.Shuffle) new SeededRandom(Options.Seed, epoch, 0x5F1E).Shuffle(order.AsSpan());
        return order;
    }

    /// <summary>The batches of epoch <paramref name="epoch"/>. Each batch is valid until the next is requested.</summary>
    public IEnumerable<Batch> Epoch(int epoch) => Epoch(epoch, 0);

    /// <summary>
    /// Batches <paramref name="firstBatch"/>.. of epoch <paramref name="epoch"/>, identical to those positions of the
    /// whole epoch (resuming a run mid-epoch). The skipped batches are not built: the order is a permutation drawn
    /// from (seed, epoch) and each sample's augmentation is drawn from (seed, epoch, position), so nothing depends on
    /// the batches before. <paramref name="firstBatch"/> = <see cref="BatchesPerEpoch"/> gives no batches.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int firstBatch)
    {
        if ((uint)firstBatch > (uint)BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(firstBatch), firstBatch, $"The first batch must be within the epoch's {BatchesPerEpoch} batches.");
        int[] order = EpochOrder(epoch);
        return Options.Prefetch == 0 ? Synchronous(epoch, firstBatch, order) : Prefetched(epoch, firstBatch, order);
    }

    private IEnumerable<Batch> Synchronous(int epoch, int firstBatch, int[] order)
    {
        var slot = TakeSlot();
        try
        {
            for (int b = firstBatch; b < BatchesPerEpoch; b++) yield return Build(slot, epoch, b, order);
        }
        finally
        {
            _pool.Add(slot);
        }
    }

    private IEnumerable<Batch> Prefetched(int epoch, int firstBatch, int[] order)
    {
        int batches = BatchesPerEpoch;
        // The consumer holds one slot; the producer may fill up to Prefetch more ahead of it.
        var slots = Enumerable.Range(0, Options.Prefetch + 1).Select(_ => TakeSlot()).ToArray();
        using var free = new BlockingCollection<Slot>(new ConcurrentQueue<Slot>(slots));
        using var ready = new BlockingCollection<Batch>(new ConcurrentQueue<Batch>());
        using var cancel = new CancellationTokenSource();
        Exception? error = null;
        var producer = new Thread(() =>
        {
            try
            {
                for (int b = firstBatch; b < batches; b++)
                {
                    var slot = free.Take(cancel.Token);
                    ready.Add(Build(slot, epoch, b, order), cancel.Token);
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // The consumer stopped early.
            }
            catch (Exception e)
            {
                error = e;
            }
            finally
            {
                ready.CompleteAdding();
            }
        })
        { IsBackground = true, Name = $"Shrink data loader ({_data.Name}, epoch {epoch})" };
        producer.Start();
        try
        {
            Slot? held = null;
            while (true)
            {
                if (held is not null) free.Add(held);
                if (!ready.TryTake(out var batch, Timeout.Infinite)) break;
                held = batch.Slot;
                yield return batch;
            }
            producer.Join();
            if (error is not null) ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            cancel.Cancel();
            producer.Join();
            foreach (var s in slots) _pool.Add(s);
        }
    }

    /// <summary>A batch never holds more than the epoch's samples, so a batch size above the data set's costs no memory.</summary>
    private Slot TakeSlot() =>
        _pool.TryTake(out var s) ? s : new Slot(Math.Max(1, Math.Min(Options.BatchSize, Count)), _data.SampleLength, _data.ImageShape);

    /// <summary>Test hook: called with the batch number before each batch is built (on the building thread).</summary>
    internal Action<int>? BeforeBuild { get; set; }

    private Batch Build(Slot slot, int epoch, int number, int[] order)
    {
        BeforeBuild?.Invoke(number);
        int start = number * Options.BatchSize;
        int count = Math.Min(Options.BatchSize, order.Length - start);
        var batch = slot.For(count);
        batch.Epoch = epoch;
        batch.Number = number;
        int n = _data.SampleLength, c = _data.Channels, h = _data.Height, w = _data.Width, plane = h * w;
        var images = batch.Images.Span;
        var aug = Options.Augmentation is { IsEnabled: true } a ? a : null;
        for (int i = 0; i < count; i++)
        {
            int index = order[start + i];
            batch.Indices[i] = index;
            batch.Labels[i] = _data.GetLabel(index);
            var dst = images.Slice(i * n, n);
            if (aug is not null)
            {
                _data.CopyImage(index, dst);
                var rng = new SeededRandom(Options.Seed, epoch, start + i, 0xA06);
                aug.Apply(dst, slot.Scratch, c, h, w, ref rng);
                for (int ch = 0; ch < c; ch++) Affine(dst.Slice(ch * plane, plane), _scale[ch], _shift[ch]);
            }
            else if (_data.IsUInt8)
            {
                var src = _data.RawBytes(index);
                for (int ch = 0; ch < c; ch++)
                {
                    // (p/255 - mean)/std = p · (1/(255·std)) + (−mean/std)
                    var d = dst.Slice(ch * plane, plane);
                    TensorPrimitives.ConvertChecked<byte, float>(src.Slice(ch * plane, plane), d);
                    Affine(d, _scale[ch] / 255f, _shift[ch]);
                }
            }
            else
            {
                _data.RawFloats(index).CopyTo(dst);
                for (int ch = 0; ch < c; ch++) Affine(dst.Slice(ch * plane, plane), _scale[ch], _shift[ch]);
            }
        }
        return batch;
    }

    private static void Affine(Span<float> x, float scale, float shift)
    {
        if (scale != 1f) TensorPrimitives.Multiply(x, scale, x);
        if (shift != 0f) TensorPrimitives.Add(x, shift, x);
    }

    /// <summary>Reusable storage for one batch in flight: full-size buffers, viewed at the batch's size.</summary>
    internal sealed class Slot
    {
        private readonly float[] _images;
        private readonly int[] _labels, _indices;
        private readonly Shape _imageShape;
        private readonly Batch _full;
        private Batch? _partial;

        public Slot(int batchSize, int sampleLength, Shape imageShape)
        {
            _images = new float[checked(batchSize * sampleLength)];
            _labels = new int[batchSize];
            _indices = new int[batchSize];
            _imageShape = imageShape;
            Scratch = new float[sampleLength];
            _full = new Batch(this, new Tensor(BatchShape(batchSize), _images), _labels, _indices);
        }

        public float[] Scratch { get; }

        public Batch For(int count)
        {
            if (count == _labels.Length) return _full;
            if (_partial?.Count != count)
                _partial = new Batch(this, new Tensor(BatchShape(count), _images), new int[count], new int[count]);
            return _partial;
        }

        private Shape BatchShape(int count) => new(count, _imageShape[0], _imageShape[1], _imageShape[2]);
    }
}

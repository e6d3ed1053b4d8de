using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Data;

/// <summary>
/// An in-memory image classification data set: <see cref="Count"/> images of <see cref="Channels"/>×
/// <see cref="Height"/>×<see cref="Width"/> (CHW per sample) with an integer label in [0, <see cref="ClassCount"/>).
/// Pixels are kept compactly — uint8 as read from IDX/CIFAR/uint8 .npy files, or float32 — and turned into
/// float32 only when a batch is made: uint8 pixels become <c>p / 255</c> (so values lie in [0, 1], like
/// torchvision's ToTensor), float32 pixels are taken as they are. That float form is what
/// <see cref="Normalization"/> statistics describe.
/// <para>A data set made by <see cref="Select"/>, <see cref="Subset"/> or <see cref="SplitValidation"/> shares the
/// pixel storage of its parent; only the index map and labels are its own. Instances are immutable and safe to
/// read from several threads.</para>
/// </summary>
public sealed class Dataset
{
    private readonly byte[]? _bytes;
    private readonly float[]? _floats;
    private readonly int[]? _map;
    private readonly int[] _labels;

    /// <summary>A data set over uint8 pixels (N×C×H×W, row-major; not copied).</summary>
    public Dataset(string name, byte[] pixels, int[] labels, int channels, int height, int width, int classCount)
        : this(name, pixels, null, null, labels, channels, height, width, classCount)
    {
        CheckStorage(pixels.LongLength);
        CheckLabels(labels, classCount, name);
    }

    /// <summary>A data set over float32 pixels (N×C×H×W, row-major; not copied).</summary>
    public Dataset(string name, float[] pixels, int[] labels, int channels, int height, int width, int classCount)
        : this(name, null, pixels, null, labels, channels, height, width, classCount)
    {
        CheckStorage(pixels.LongLength);
        CheckLabels(labels, classCount, name);
    }

    private Dataset(string name, byte[]? bytes, float[]? floats, int[]? map, int[] labels,
        int channels, int height, int width, int classCount)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"Image size {channels}x{height}x{width} of data set '{name}' is not positive.");
        if (classCount <= 0) throw new ArgumentException($"Class count {classCount} of data set '{name}' is not positive.", nameof(classCount));
        Name = name;
        _bytes = bytes;
        _floats = floats;
        _map = map;
        _labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        ClassCount = classCount;
    }

    public string Name { get; }
    public int Count => _labels.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int ClassCount { get; }

    /// <summary>Elements of one image: C·H·W.</summary>
    public int SampleLength => Channels * Height * Width;

    /// <summary>The shape of one image, [C,H,W].</summary>
    public Shape ImageShape => new(Channels, Height, Width);

    /// <summary>True when pixels are stored as uint8 (and read as p/255).</summary>
    public bool IsUInt8 => _bytes is not null;

    /// <summary>The label of every sample, in order.</summary>
    public ReadOnlySpan<int> Labels => _labels;

    public int GetLabel(int index) => _labels[index];

    /// <summary>Writes image <paramref name="index"/> in float form (uint8 → p/255) into <paramref name="destination"/>.</summary>
    public void CopyImage(int index, Span<float> destination)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"Data set '{Name}' has {Count} samples.");
        int n = SampleLength;
        if (destination.Length < n) throw new ArgumentException($"Destination of {destination.Length} floats is shorter than an image ({n}).", nameof(destination));
        long offset = (long)StorageIndex(index) * n;
        if (_bytes is not null)
        {
            var src = _bytes.AsSpan(checked((int)offset), n);
            for (int i = 0; i < n; i++) destination[i] = src[i] / 255f;
        }
        else
        {
            _floats.AsSpan(checked((int)offset), n).CopyTo(destination);
        }
    }

    /// <summary>Raw uint8 pixels of image <paramref name="index"/>; only for uint8 data sets.</summary>
    internal ReadOnlySpan<byte> RawBytes(int index) =>
        _bytes is null ? throw new InvalidOperationException("Not a uint8 data set.")
                       : _bytes.AsSpan(StorageIndex(index) * SampleLength, SampleLength);

    /// <summary>Raw float pixels of image <paramref name="index"/>; only for float32 data sets.</summary>
    internal ReadOnlySpan<float> RawFloats(int index) =>
        _floats is null ? throw new InvalidOperationException("Not a float32 data set.")
                        : _floats.AsSpan(StorageIndex(index) * SampleLength, SampleLength);

    /// <summary>The images <paramref name="indices"/> as a [B,C,H,W] tensor in float form, optionally normalised.</summary>
    public Tensor GetImages(ReadOnlySpan<int> indices, Normalization? normalization = null)
    {
        var t = new Tensor(new Shape(indices.Length, Channels, Height, Width));
        int n = SampleLength;
        for (int i = 0; i < indices.Length; i++)
        {
            var dst = t.Span.Slice(i * n, n);
            CopyImage(indices[i], dst);
            normalization?.Apply(dst, Channels);
        }
        return t;
    }

    /// <summary>The samples at <paramref name="indices"/> (into this data set), sharing pixel storage.</summary>
    public Dataset Select(ReadOnlySpan<int> indices, string? name = null)
    {
        var map = new int[indices.Length];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = indices[i];
            if ((uint)k >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), k, $"Index {k} is outside data set '{Name}' of {Count} samples.");
            map[i] = StorageIndex(k);
            labels[i] = _labels[k];
        }
        return new Dataset(name ?? Name, _bytes, _floats, map, labels, Channels, Height, Width, ClassCount);
    }

    /// <summary>
    /// <paramref name="count"/> samples drawn without replacement, seeded (same seed, same subset), kept in their
    /// original order — for quick runs. A count of at least <see cref="Count"/> returns this data set.
    /// </summary>
    public Dataset Subset(int count, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (count >= Count) return this;
        var order = Permutation(Count, new SeededRandom(seed, 0x5B5E7));
        var chosen = order.AsSpan(0, count);
        chosen.Sort();
        return Select(chosen, $"{Name}[{count}]");
    }

    /// <summary>
    /// Carves a validation split out of this (training) data set: <paramref name="fraction"/> of the samples,
    /// chosen by <paramref name="seed"/>; with <paramref name="stratified"/>, that fraction of each class. The two
    /// parts are disjoint and together cover this data set; each keeps the original sample order.
    /// </summary>
    public (Dataset Train, Dataset Validation) SplitValidation(double fraction = 0.1, int seed = 0, bool stratified = false)
    {
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The validation fraction must lie strictly between 0 and 1.");
        var rng = new SeededRandom(seed, 0x7A11D);
        var isValidation = new bool[Count];
        if (stratified)
        {
            var byClass = new List<int>[ClassCount];
            for (int c = 0; c < ClassCount; c++) byClass[c] = [];
            for (int i = 0; i < Count; i++) byClass[_labels[i]].Add(i);
            foreach (var members in byClass)
            {
                var arr = members.ToArray();
                rng.Shuffle(arr.AsSpan());
                int take = (int)Math.Round(fraction * arr.Length, MidpointRounding.AwayFromZero);
                for (int i = 0; i < take; i++) isValidation[arr[i]] = true;
            }
        }
        else
        {
            var order = Permutation(Count, rng);
            int take = (int)Math.Round(fraction * Count, MidpointRounding.AwayFromZero);
            for (int i = 0; i < take; i++) isValidation[order[i]] = true;
        }
        var train = new List<int>(Count);
        var validation = new List<int>();
        for (int i = 0; i < Count; i++) (isValidation[i] ? validation : train).Add(i);
        if (train.Count == 0 || validation.Count == 0)
            throw new ShrinkException($"Data set '{Name}' of {Count} samples is too small for a validation split of {fraction.ToString("P0", System.Globalization.CultureInfo.InvariantCulture)}.");
        return (Select(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(train), $"{Name}/train"),
                Select(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(validation), $"{Name}/validation"));
    }

    /// <summary>This data set under another name (storage shared).</summary>
    public Dataset WithName(string name) => new(name, _bytes, _floats, _map, _labels, Channels, Height, Width, ClassCount);

    /// <summary>Samples per class, indexed by label.</summary>
    public int[] ClassHistogram()
    {
        var h = new int[ClassCount];
        foreach (int l in _labels) h[l]++;
        return h;
    }

    public override string ToString() => $"{Name}: {Count} x {Channels}x{Height}x{Width}, {ClassCount} classes";

    internal int StorageIndex(int index) => _map is null ? index : _map[index];

    internal static int[] Permutation(int n, SeededRandom rng)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        rng.Shuffle(p.AsSpan());
        return p;
    }

    private void CheckStorage(long pixelCount)
    {
        long expected = (long)_labels.Length * SampleLength;
        if (pixelCount != expected)
            throw new ArgumentException($"Data set '{Name}': {pixelCount} pixels for {_labels.Length} labels of {Channels}x{Height}x{Width} (expected {expected}).");
    }

    private static void CheckLabels(int[] labels, int classCount, string name)
    {
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classCount)
                throw new ShrinkException($"Data set '{name}': label {labels[i]} of sample {i} is outside [0, {classCount}).");
    }
}

using System.Runtime.InteropServices;
using Shrink.Graph;

namespace Shrink.Data;

/// <summary>
/// A data set stored as NumPy arrays, one folder with four files:
/// <c>train_images.npy</c>, <c>train_labels.npy</c>, <c>test_images.npy</c>, <c>test_labels.npy</c>.
/// Images are N×C×H×W (or N×H×W for one channel), uint8 (read as p/255) or float32/float64 (taken as they are,
/// and must be finite); labels are a 1-D integer array of length N with values ≥ 0.
/// <code>
/// np.save("train_images.npy", x_train.astype(np.uint8))   # (N, C, H, W)
/// np.save("train_labels.npy", y_train.astype(np.int64))   # (N,)
/// </code>
/// </summary>
public static class NpyDatasetReader
{
    public const string TrainImages = "train_images.npy", TrainLabels = "train_labels.npy",
        TestImages = "test_images.npy", TestLabels = "test_labels.npy";

    /// <summary>The pixel storage and labels of one split (either <c>Bytes</c> or <c>Floats</c> is set).</summary>
    public sealed record Split(byte[]? Bytes, float[]? Floats, int[] Labels, int Channels, int Height, int Width);

    public static Split Read(string imagesPath, string labelsPath)
    {
        var images = ReadFile(imagesPath);
        var labels = ReadFile(labelsPath);
        var s = images.Shape;
        if (s.Rank is not (3 or 4))
            throw new ShrinkException($"'{imagesPath}': images must be N×C×H×W (or N×H×W), not {s}.");
        int n = s[0], c = s.Rank == 4 ? s[1] : 1, h = s[^2], w = s[^1];
        if (n == 0 || c == 0 || h == 0 || w == 0) throw new ShrinkException($"'{imagesPath}' holds no images (shape {s}).");
        if (c > 64)
            throw new ShrinkException($"'{imagesPath}': {c} channels in shape {s} — images must be N×C×H×W (channels first); " +
                                      "convert N×H×W×C with x.transpose(0, 3, 1, 2).");
        int[] labelValues = ReadLabels(labels, labelsPath);
        if (labelValues.Length != n)
            throw new ShrinkException($"'{labelsPath}' has {labelValues.Length} labels but '{imagesPath}' has {n} images.");

        switch (images.Kind)
        {
            case "u1":
                return new Split(images.Data, null, labelValues, c, h, w);
            case "f4":
            case "f8":
                float[] floats = images.Kind == "f4"
                    ? MemoryMarshal.Cast<byte, float>(images.Data).ToArray()
                    : Array.ConvertAll(MemoryMarshal.Cast<byte, double>(images.Data).ToArray(), v => (float)v);
                int bad = IndexOfNonFinite(floats);
                if (bad >= 0)
                    throw new ShrinkException($"'{imagesPath}': pixel {bad} (image {bad / (c * h * w)}) is {floats[bad]}; images must be finite.");
                return new Split(null, floats, labelValues, c, h, w);
            default:
                throw new ShrinkException($"'{imagesPath}': image dtype '{images.Kind}' is not supported (use uint8 or float32).");
        }
    }

    private static Npy.RawArray ReadFile(string path)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return Npy.ReadRaw(f, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ShrinkException($"Cannot read '{path}': {e.Message}", e);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw new ShrinkException($"'{path}' has a malformed .npy header: {e.Message}", e);
        }
    }

    private static int[] ReadLabels(Npy.RawArray a, string path)
    {
        if (a.Shape.Rank != 1 && !(a.Shape.Rank == 2 && a.Shape[1] == 1))
            throw new ShrinkException($"'{path}': labels must be a 1-D array, not {a.Shape}.");
        int n = a.Shape[0];
        var d = a.Data.AsSpan();
        var result = new int[n];
        for (int i = 0; i < n; i++)
        {
            long v = a.Kind switch
            {
                "u1" => d[i],
                "i1" => (sbyte)d[i],
                "i2" => MemoryMarshal.Cast<byte, short>(d)[i],
                "u2" => MemoryMarshal.Cast<byte, ushort>(d)[i],
                "i4" => MemoryMarshal.Cast<byte, int>(d)[i],
                "u4" => MemoryMarshal.Cast<byte, uint>(d)[i],
                "i8" => MemoryMarshal.Cast<byte, long>(d)[i],
                "u8" => (long)Math.Min(MemoryMarshal.Cast<byte, ulong>(d)[i], long.MaxValue),
                _ => throw new ShrinkException($"'{path}': label dtype '{a.Kind}' is not an integer type (use int64 or uint8)."),
            };
            if (v < 0 || v > 1_000_000)
                throw new ShrinkException($"'{path}': label {v} of sample {i} is out of range (labels are class indices 0..K-1).");
            result[i] = (int)v;
        }
        return result;
    }

    private static int IndexOfNonFinite(float[] values)
    {
        if (TensorPrimitives.IsFiniteAll<float>(values)) return -1;
        for (int i = 0; i < values.Length; i++) if (!float.IsFinite(values[i])) return i;
        return -1;
    }
}

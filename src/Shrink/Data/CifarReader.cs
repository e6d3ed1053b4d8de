using Shrink.Graph;

namespace Shrink.Data;

/// <summary>
/// The binary version of CIFAR-10 and CIFAR-100: fixed-size records of label byte(s) then 3072 pixel bytes
/// (1024 red, 1024 green, 1024 blue, row-major 32×32 — already CHW). CIFAR-10 records have one label (0–9);
/// CIFAR-100 records have the coarse label (0–19) then the fine label (0–99), and the fine one is used.
/// </summary>
public static class CifarReader
{
    public const int Channels = 3, Size = 32, ImageBytes = Channels * Size * Size;

    /// <summary>Reads and concatenates whole files. <paramref name="cifar100"/> selects the two-label record.</summary>
    public static (byte[] Pixels, int[] Labels) Read(IReadOnlyList<string> paths, bool cifar100)
    {
        int labelBytes = cifar100 ? 2 : 1;
        int record = labelBytes + ImageBytes;
        var lengths = new long[paths.Count];
        long total = 0;
        for (int f = 0; f < paths.Count; f++)
        {
            try
            {
                lengths[f] = new FileInfo(paths[f]).Length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ShrinkException($"Cannot open '{paths[f]}': {e.Message}", e);
            }
            if (lengths[f] == 0 || lengths[f] % record != 0)
                throw new ShrinkException(
                    $"'{paths[f]}' is truncated or not a CIFAR-{(cifar100 ? 100 : 10)} binary file: {lengths[f]} bytes is not a " +
                    $"whole number of {record}-byte records.");
            total += lengths[f] / record;
        }
        if (total * ImageBytes > Array.MaxLength) throw new ShrinkException($"{total} CIFAR images are too many to load at once.");
        var pixels = new byte[total * ImageBytes];
        var labels = new int[total];
        var buffer = new byte[record * 256];
        int sample = 0;
        for (int f = 0; f < paths.Count; f++)
        {
            string path = paths[f];
            int first = sample;
            try
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                long remaining = lengths[f] / record;
                while (remaining > 0)
                {
                    int batch = (int)Math.Min(remaining, 256);
                    int want = batch * record;
                    if (file.ReadAtLeast(buffer.AsSpan(0, want), want, throwOnEndOfStream: false) < want)
                        throw new ShrinkException($"'{path}' is truncated: it shrank while being read.");
                    for (int r = 0; r < batch; r++, sample++)
                    {
                        var rec = buffer.AsSpan(r * record, record);
                        int label = rec[labelBytes - 1];
                        int limit = cifar100 ? 100 : 10;
                        if (label >= limit || (cifar100 && rec[0] >= 20))
                            throw new ShrinkException(
                                $"'{path}': record {sample - first} has label {label}{(cifar100 ? $" (coarse {rec[0]})" : "")}, outside " +
                                $"[0, {limit}) — the file is corrupt or not CIFAR-{limit} binary.");
                        labels[sample] = label;
                        rec[labelBytes..].CopyTo(pixels.AsSpan(sample * ImageBytes, ImageBytes));
                    }
                    remaining -= batch;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ShrinkException($"Cannot read '{path}': {e.Message}", e);
            }
        }
        return (pixels, labels);
    }
}

using System.IO.Compression;
using Shrink.Data;

namespace Shrink.Tests.Data;

/// <summary>A temporary folder, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "shrink-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name)
    {
        string p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(p);
        return p;
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Writers of small synthetic data sets in every supported format.</summary>
public static class DataFixtures
{
    /// <summary>Deterministic pixel of sample i at flat offset j.</summary>
    public static byte Pixel(int i, int j) => (byte)((i * 31 + j * 7) % 256);

    public static byte[] Pixels(int n, int sampleLength)
    {
        var p = new byte[n * sampleLength];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < sampleLength; j++) p[i * sampleLength + j] = Pixel(i, j);
        return p;
    }

    public static int[] Labels(int n, int classes) => Enumerable.Range(0, n).Select(i => (i * 3) % classes).ToArray();

    /// <summary>Writes the four IDX files of an MNIST-like set (rows×cols images, labels 0..9).</summary>
    public static void WriteIdx(string folder, int nTrain, int nTest, int rows = 5, int cols = 4, bool gzip = false, string sep = "-")
    {
        string gz = gzip ? ".gz" : "";
        foreach (var (stem, n) in new[] { ("train", nTrain), ("t10k", nTest) })
        {
            IdxReader.Write(Path.Combine(folder, $"{stem}-images{sep}idx3-ubyte{gz}"), [n, rows, cols], Pixels(n, rows * cols));
            IdxReader.Write(Path.Combine(folder, $"{stem}-labels{sep}idx1-ubyte{gz}"), [n],
                Labels(n, 10).Select(l => (byte)l).ToArray());
        }
    }

    /// <summary>Writes a CIFAR binary file of n records (CIFAR-100: coarse = fine / 5).</summary>
    public static void WriteCifar(string path, int n, bool cifar100, int firstSample = 0, int? badLabelAt = null)
    {
        int classes = cifar100 ? 100 : 10;
        using var f = System.IO.File.Create(path);
        var labels = Labels(n + firstSample, classes);
        for (int i = 0; i < n; i++)
        {
            int s = firstSample + i;
            byte fine = (byte)(badLabelAt == i ? classes : labels[s]);
            if (cifar100) f.WriteByte((byte)(labels[s] / 5));
            f.WriteByte(fine);
            for (int j = 0; j < CifarReader.ImageBytes; j++) f.WriteByte(Pixel(s, j));
        }
    }

    public static void WriteCifar10(string folder, int perBatch, int nTest)
    {
        for (int b = 1; b <= 5; b++) WriteCifar(Path.Combine(folder, $"data_batch_{b}.bin"), perBatch, false, (b - 1) * perBatch);
        WriteCifar(Path.Combine(folder, "test_batch.bin"), nTest, false);
    }

    /// <summary>A .npy file of any dtype (little-endian, C order) from raw bytes.</summary>
    public static void WriteNpy(string path, string descr, int[] shape, ReadOnlySpan<byte> data)
    {
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var f = System.IO.File.Create(path);
        using var w = new BinaryWriter(f);
        w.Write((byte)0x93);
        w.Write("NUMPY"u8);
        w.Write((byte)1);
        w.Write((byte)0);
        w.Write((ushort)header.Length);
        w.Write(System.Text.Encoding.Latin1.GetBytes(header));
        w.Write(data);
    }

    public static void WriteNpyLabels(string path, int[] labels) =>
        WriteNpy(path, "<i8", [labels.Length], System.Runtime.InteropServices.MemoryMarshal.AsBytes(labels.Select(l => (long)l).ToArray().AsSpan()));

    /// <summary>Writes a uint8 NCHW NPY data set.</summary>
    public static void WriteNpyUInt8(string folder, int nTrain, int nTest, int c, int h, int w, int classes = 10)
    {
        foreach (var (split, n) in new[] { ("train", nTrain), ("test", nTest) })
        {
            WriteNpy(Path.Combine(folder, $"{split}_images.npy"), "|u1", [n, c, h, w], Pixels(n, c * h * w));
            WriteNpyLabels(Path.Combine(folder, $"{split}_labels.npy"), Labels(n, classes));
        }
    }

    /// <summary>An in-memory uint8 data set: pixel(i, j) as above, labels i*3 mod classes.</summary>
    public static Dataset InMemory(int n, int c = 1, int h = 4, int w = 3, int classes = 10, string name = "synthetic") =>
        new(name, Pixels(n, c * h * w), Labels(n, classes), c, h, w, classes);

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }
}

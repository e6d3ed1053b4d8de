using System.Diagnostics;
using System.Runtime.InteropServices;
using Shrink.Data;
using Shrink.Graph;

namespace Shrink.Tests.Data;

/// <summary>A fact that needs Linux (named pipes made by mkfifo).</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "Linux only (mkfifo).";
    }
}

public class ReaderTests
{
    private static void AssertPixels(Dataset d, int firstSample = 0)
    {
        var img = new float[d.SampleLength];
        foreach (int i in new[] { 0, d.Count / 2, d.Count - 1 })
        {
            d.CopyImage(i, img);
            for (int j = 0; j < img.Length; j++)
                Assert.Equal(DataFixtures.Pixel(firstSample + i, j) / 255f, img[j]);
        }
    }

    [Theory]
    [InlineData(false, "-")]
    [InlineData(true, "-")]
    [InlineData(true, ".")]
    public void Idx_round_trip(bool gzip, string sep)
    {
        using var dir = new TempDir();
        string folder = dir.Sub("mnist");
        DataFixtures.WriteIdx(folder, nTrain: 23, nTest: 7, rows: 5, cols: 4, gzip, sep);
        var s = DatasetCatalog.LoadFolder(folder);
        Assert.Equal("idx", s.Format);
        Assert.Equal("mnist", s.Name);
        Assert.Equal((23, 7), (s.Train.Count, s.Test.Count));
        Assert.Equal((1, 5, 4, 10), (s.Train.Channels, s.Train.Height, s.Train.Width, s.ClassCount));
        Assert.Equal(DataFixtures.Labels(23, 10), s.Train.Labels.ToArray());
        Assert.Equal(DataFixtures.Labels(7, 10), s.Test.Labels.ToArray());
        Assert.True(s.Train.IsUInt8);
        AssertPixels(s.Train);
        AssertPixels(s.Test);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_bad_magic_names_the_file(bool gzip)
    {
        using var dir = new TempDir();
        string folder = dir.Sub("mnist");
        DataFixtures.WriteIdx(folder, 5, 3, gzip: gzip);
        string gz = gzip ? ".gz" : "";
        string labels = Path.Combine(folder, "train-labels-idx1-ubyte" + gz);
        // A label file where an image file belongs: magic 0x801, not 0x803.
        string images = Path.Combine(folder, "train-images-idx3-ubyte" + gz);
        File.Copy(labels, images, overwrite: true);
        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(images, e.Message);
        Assert.Contains("magic", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Idx_truncated_names_the_file(bool gzip)
    {
        using var dir = new TempDir();
        string folder = dir.Sub("data");
        DataFixtures.WriteIdx(folder, 5, 3, gzip: false);
        string images = Path.Combine(folder, "t10k-images-idx3-ubyte");
        var bytes = File.ReadAllBytes(images);
        var cut = bytes[..^7];
        if (gzip)
        {
            File.Delete(images);
            images += ".gz";
            cut = DataFixtures.Gzip(cut);
        }
        File.WriteAllBytes(images, cut);
        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(images, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Idx_corrupt_gzip_names_the_file()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("mnist");
        DataFixtures.WriteIdx(folder, 5, 3, gzip: true);
        string labels = Path.Combine(folder, "t10k-labels-idx1-ubyte.gz");
        var bytes = File.ReadAllBytes(labels);
        for (int i = 10; i < bytes.Length - 8; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(labels, bytes);
        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(labels, e.Message);
        // The reader closed the file: it opens exclusively (.NET locks files on Unix too) and can be deleted.
        new FileStream(labels, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose();
        File.Delete(labels);
    }

    /// <summary>A stream that fails on the first read, as a disk error or a network share can, and records its disposal.</summary>
    private sealed class FailingStream : MemoryStream
    {
        public bool Disposed { get; private set; }
        public override int Read(Span<byte> buffer) => throw new IOException("Input/output error");
        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("Input/output error");
        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }

    [Fact]
    public void Idx_failed_gzip_sniff_disposes_the_file_and_names_it()
    {
        var file = new FailingStream();
        var e = Assert.Throws<ShrinkException>(() => IdxReader.Sniff(file, "/data/train-images-idx3-ubyte.gz"));
        Assert.Contains("/data/train-images-idx3-ubyte.gz", e.Message);
        Assert.Contains("Input/output error", e.Message);
        Assert.True(file.Disposed);
    }

    /// <summary>
    /// A named pipe where an IDX file belongs: the gzip sniff reads the magic and seeks back, which a pipe cannot. That
    /// used to escape as NotSupportedException and leak the open pipe (its writer blocked); now it is a clear error
    /// and the pipe is closed, so the writer gets a broken pipe.
    /// </summary>
    [LinuxFact]
    public void Idx_from_a_named_pipe_is_a_clear_error_and_the_pipe_is_closed()
    {
        using var dir = new TempDir();
        string fifo = dir.File("train-images-idx3-ubyte");
        using (var mk = Process.Start("mkfifo", [fifo])) { mk.WaitForExit(); Assert.Equal(0, mk.ExitCode); }
        var writer = Task.Run(() =>
        {
            try
            {
                using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                var chunk = new byte[1 << 16];
                for (int i = 0; i < 1024; i++) w.Write(chunk); // 64 MB: far more than a pipe buffers
                return false;
            }
            catch (IOException)
            {
                return true; // EPIPE: the reader closed its end
            }
        });
        var e = Assert.Throws<ShrinkException>(() => IdxReader.ReadImages(fifo));
        Assert.Contains(fifo, e.Message);
        Assert.Contains("not a regular file", e.Message);
        Assert.True(writer.Wait(TimeSpan.FromSeconds(30)), "the writer is still blocked: the reader did not close the pipe");
        Assert.True(writer.Result);
    }

    [Fact]
    public void Idx_images_whose_size_overflows_are_rejected_before_allocating()
    {
        using var dir = new TempDir();
        string path = dir.File("huge-images-idx3-ubyte");
        IdxReader.Write(path, [1 << 24, 1 << 24, 1 << 24], [0, 0, 0]); // 2^72 bytes declared: wrapped to 0 in a long
        var e = Assert.Throws<ShrinkException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("too large", e.Message);
    }

    [Fact]
    public void Idx_label_out_of_range_names_the_file()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("fashion-mnist");
        DataFixtures.WriteIdx(folder, 5, 3);
        string labels = Path.Combine(folder, "train-labels-idx1-ubyte");
        IdxReader.Write(labels, [5], new byte[] { 0, 1, 12, 3, 4 });
        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(labels, e.Message);
        Assert.Contains("label 12", e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void Idx_count_mismatch_and_trailing_bytes_are_errors()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("mnist");
        DataFixtures.WriteIdx(folder, 5, 3);
        string labels = Path.Combine(folder, "train-labels-idx1-ubyte");
        IdxReader.Write(labels, [4], new byte[] { 0, 1, 2, 3 });
        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(labels, e.Message);
        Assert.Contains("4 labels", e.Message);

        DataFixtures.WriteIdx(folder, 5, 3);
        File.AppendAllText(labels, "xx");
        e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(labels, e.Message);
    }

    [Fact]
    public void Cifar10_binary()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("cifar10");
        DataFixtures.WriteCifar10(folder, perBatch: 3, nTest: 4);
        var s = DatasetCatalog.LoadFolder(folder);
        Assert.Equal("cifar10-binary", s.Format);
        Assert.Equal((15, 4, 10), (s.Train.Count, s.Test.Count, s.ClassCount));
        Assert.Equal((3, 32, 32), (s.Train.Channels, s.Train.Height, s.Train.Width));
        Assert.Equal(DataFixtures.Labels(15, 10), s.Train.Labels.ToArray());
        AssertPixels(s.Train);
        AssertPixels(s.Test);
    }

    [Fact]
    public void Cifar10_in_the_archive_subfolder()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("cifar10");
        DataFixtures.WriteCifar10(dir.Sub("cifar10/cifar-10-batches-bin"), perBatch: 2, nTest: 2);
        var s = DatasetCatalog.Load("cifar10", [dir.Path]);
        Assert.Equal(10, s.Train.Count);
        Assert.EndsWith("cifar-10-batches-bin", s.Source);
    }

    [Fact]
    public void Cifar100_uses_fine_labels()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("cifar100");
        DataFixtures.WriteCifar(Path.Combine(folder, "train.bin"), 40, cifar100: true);
        DataFixtures.WriteCifar(Path.Combine(folder, "test.bin"), 6, cifar100: true);
        var s = DatasetCatalog.LoadFolder(folder);
        Assert.Equal("cifar100-binary", s.Format);
        Assert.Equal((40, 6, 100), (s.Train.Count, s.Test.Count, s.ClassCount));
        Assert.Equal(DataFixtures.Labels(40, 100), s.Train.Labels.ToArray());
        Assert.Contains(s.Train.Labels.ToArray(), l => l >= 20); // fine, not coarse
        AssertPixels(s.Train);
    }

    [Fact]
    public void Cifar_truncated_bad_label_and_missing_batch()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("cifar10");
        DataFixtures.WriteCifar10(folder, 2, 2);
        string b3 = Path.Combine(folder, "data_batch_3.bin");
        File.WriteAllBytes(b3, File.ReadAllBytes(b3)[..^100]);
        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(b3, e.Message);

        DataFixtures.WriteCifar(b3, 2, false, badLabelAt: 1);
        e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(b3, e.Message);
        Assert.Contains("label 10", e.Message);

        File.Delete(b3);
        e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains("data_batch_3.bin", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Npy_uint8()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("mine");
        DataFixtures.WriteNpyUInt8(folder, 12, 5, c: 3, h: 6, w: 2, classes: 7);
        var s = DatasetCatalog.LoadFolder(folder);
        Assert.Equal("npy", s.Format);
        Assert.Equal((12, 5), (s.Train.Count, s.Test.Count));
        Assert.Equal((3, 6, 2), (s.Train.Channels, s.Train.Height, s.Train.Width));
        Assert.Equal(7, s.ClassCount); // max label + 1 for an unknown name
        Assert.True(s.Train.IsUInt8);
        AssertPixels(s.Train);
        AssertPixels(s.Test);
    }

    [Fact]
    public void Npy_float32_and_rank3()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("floats");
        foreach (var (split, n) in new[] { ("train", 9), ("test", 4) })
        {
            var values = Enumerable.Range(0, n * 5 * 5).Select(i => i * 0.25f - 3f).ToArray();
            DataFixtures.WriteNpy(Path.Combine(folder, $"{split}_images.npy"), "<f4", [n, 5, 5], MemoryMarshal.AsBytes(values.AsSpan()));
            DataFixtures.WriteNpy(Path.Combine(folder, $"{split}_labels.npy"), "|u1", [n], Enumerable.Range(0, n).Select(i => (byte)(i % 3)).ToArray());
        }
        var s = DatasetCatalog.LoadFolder(folder);
        Assert.False(s.Train.IsUInt8);
        Assert.Equal((1, 5, 5, 3), (s.Train.Channels, s.Train.Height, s.Train.Width, s.ClassCount));
        var img = new float[25];
        s.Train.CopyImage(2, img);
        Assert.Equal(50 * 0.25f - 3f, img[0]);
        Assert.Equal(74 * 0.25f - 3f, img[24]);
    }

    [Fact]
    public void Npy_bad_inputs_name_the_file()
    {
        using var dir = new TempDir();
        string folder = dir.Sub("bad");
        DataFixtures.WriteNpyUInt8(folder, 6, 4, 1, 3, 3);
        string testLabels = Path.Combine(folder, "test_labels.npy");
        DataFixtures.WriteNpyLabels(testLabels, [0, 1, -2, 3]);
        var e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(testLabels, e.Message);

        DataFixtures.WriteNpyLabels(testLabels, [0, 1, 2]);
        e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(testLabels, e.Message);
        Assert.Contains("3 labels", e.Message);

        DataFixtures.WriteNpyLabels(testLabels, [0, 1, 2, 3]);
        string trainImages = Path.Combine(folder, "train_images.npy");
        File.WriteAllBytes(trainImages, "not numpy at all"u8.ToArray());
        e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(trainImages, e.Message);
        Assert.Contains("magic", e.Message);

        var nan = new float[6 * 9];
        nan[20] = float.NaN;
        DataFixtures.WriteNpy(trainImages, "<f4", [6, 1, 3, 3], MemoryMarshal.AsBytes(nan.AsSpan()));
        e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(trainImages, e.Message);
        Assert.Contains("NaN", e.Message);

        DataFixtures.WriteNpyUInt8(folder, 6, 4, 1, 3, 3);
        File.WriteAllBytes(trainImages, File.ReadAllBytes(trainImages)[..^5]);
        e = Assert.Throws<ShrinkException>(() => DatasetCatalog.LoadFolder(folder));
        Assert.Contains(trainImages, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Npy_negative_or_overflowing_dimension_names_the_file()
    {
        // Used to surface as the Shape constructor's ArgumentException or int.Parse's OverflowException, naming no file.
        using var dir = new TempDir();
        string path = Path.Combine(dir.Sub("npy"), "x.npy");
        foreach (var bad in new[] { -3, int.MinValue })
        {
            DataFixtures.WriteNpy(path, "<f4", [bad, 2], []);
            var e = Assert.Throws<ShrinkException>(() => Npy.ReadTensor(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(bad.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        }
    }
}

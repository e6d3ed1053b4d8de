using Shrink.IO;

namespace Shrink.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("shrink-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string[] Entries() => Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public void Text_replaces_the_file_and_leaves_no_temporary()
    {
        string path = Path.Combine(_dir, "state.json");
        File.WriteAllText(path, "old");
        AtomicFile.WriteText(path, "new ✓");
        Assert.Equal("new ✓", File.ReadAllText(path));
        Assert.Equal(new byte[] { (byte)'n' }, File.ReadAllBytes(path)[..1]); // no byte-order mark
        Assert.Equal(["state.json"], Entries());
    }

    [Fact]
    public void A_failing_write_keeps_the_old_file_and_removes_the_temporary()
    {
        string path = Path.Combine(_dir, "model.onnx");
        File.WriteAllText(path, "old");
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("half"u8);
            throw new InvalidOperationException("disk full");
        }));
        Assert.Equal("disk full", e.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["model.onnx"], Entries());
    }

    [Fact]
    public void WriteAll_writes_every_file_or_none()
    {
        string a = Path.Combine(_dir, "a.bin"), b = Path.Combine(_dir, "b.bin");
        Assert.Throws<IOException>(() => AtomicFile.WriteAll([(a, s => s.Write("A"u8)), (b, _ => throw new IOException("no"))]));
        Assert.Empty(Entries());

        AtomicFile.WriteAll([(a, s => s.Write("A"u8)), (b, s => s.Write("B"u8))]);
        Assert.Equal(("A", "B"), (File.ReadAllText(a), File.ReadAllText(b)));
        Assert.Equal(["a.bin", "b.bin"], Entries());
    }

    [Fact]
    public void EnsureWritable_names_the_path_and_the_reason_but_not_its_temporary()
    {
        string plain = Path.Combine(_dir, "plain");
        File.WriteAllText(plain, "a file, not a folder");
        var paths = new List<string> { Path.Combine(plain, "m.onnx") };
        if (Directory.Exists("/proc/self")) paths.Add("/proc/shrink-test.onnx"); // a folder that takes no new files, even for root
        foreach (var path in paths)
        {
            var e = Assert.Throws<IOException>(() => AtomicFile.EnsureWritable(path));
            Assert.StartsWith($"Cannot write '{path}': ", e.Message);
            Assert.DoesNotContain(".tmp", e.Message);
        }
        Assert.Equal(["plain"], Entries());
        AtomicFile.EnsureWritable(Path.Combine(_dir, "new", "m.onnx")); // creates the folder, leaves no file
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "new")));
    }

    [Fact]
    public void The_temporary_is_hidden_beside_the_destination()
    {
        string tmp = AtomicFile.TemporaryName(Path.Combine(_dir, "x.npz"));
        Assert.Equal(_dir, Path.GetDirectoryName(tmp));
        Assert.StartsWith(".x.npz.", Path.GetFileName(tmp), StringComparison.Ordinal);
        Assert.EndsWith(".tmp", tmp, StringComparison.Ordinal);
    }
}

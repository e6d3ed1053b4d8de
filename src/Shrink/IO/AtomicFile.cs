using System.Text;

namespace Shrink.IO;

/// <summary>
/// Files written all or nothing: the content goes to a hidden temporary file in the same folder, is flushed to disk, and
/// only then renamed over the destination, so a crash or a kill leaves either the old file or the new one, never half of
/// one (the rename is atomic within a folder). Every file Shrink writes goes through here.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; on any failure the temporary is removed and the destination untouched.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string tmp = TemporaryName(path);
        try
        {
            WriteTemporary(tmp, write);
            File.Move(tmp, Path.GetFullPath(path), overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark).</summary>
    public static void WriteText(string path, string text) => Write(path, s => s.Write(Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// Writes several files all or nothing: each goes to its temporary first, and only when every one is written are they
    /// renamed into place.
    /// </summary>
    public static void WriteAll(IReadOnlyList<(string Path, Action<Stream> Write)> files)
    {
        var temps = new List<string>();
        try
        {
            foreach (var (path, write) in files)
            {
                string tmp = TemporaryName(path);
                temps.Add(tmp);
                WriteTemporary(tmp, write);
            }
            for (int i = 0; i < files.Count; i++) File.Move(temps[i], Path.GetFullPath(files[i].Path), overwrite: true);
        }
        catch
        {
            foreach (var tmp in temps) TryDelete(tmp);
            throw;
        }
    }

    /// <summary>
    /// Checks, before long work that ends by writing <paramref name="path"/>, that it can be written: creates its folder
    /// and writes and removes a temporary beside it. Failing that, one <see cref="IOException"/> naming the path and the
    /// reason, instead of hours of work lost at the end.
    /// </summary>
    public static void EnsureWritable(string path)
    {
        string tmp = TemporaryName(path);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(tmp)!);
            File.WriteAllBytes(tmp, []);
            File.Delete(tmp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(tmp);
            // The runtime's message names the probe's temporary file, which the user never asked for.
            string folder = Path.GetDirectoryName(tmp)!;
            string reason = e switch
            {
                UnauthorizedAccessException => $"permission denied in '{folder}'",
                FileNotFoundException or DirectoryNotFoundException => $"no file can be created in '{folder}'",
                _ => e.Message.Replace(tmp, Path.Combine(folder, "<temporary file>")),
            };
            throw new IOException($"Cannot write '{path}': {reason}", e);
        }
    }

    /// <summary>A unique hidden temporary name in the same folder as <paramref name="path"/> (so that the rename is atomic).</summary>
    public static string TemporaryName(string path)
    {
        string full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
    }

    private static void WriteTemporary(string tmp, Action<Stream> write)
    {
        using var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write);
        write(file);
        file.Flush(flushToDisk: true);
    }

    internal static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

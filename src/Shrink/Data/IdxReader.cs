using System.Buffers.Binary;
using System.IO.Compression;
using Shrink.Graph;

namespace Shrink.Data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (0, 0, type 0x08 = ubyte, rank), the dimensions as
/// big-endian int32, then the data. Images are rank 3 (N, rows, cols), labels rank 1 (N). Files may be raw or
/// gzipped (recognised by content, not name). Every error names the file.
/// </summary>
public static class IdxReader
{
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an image file: returns N×rows×cols uint8 pixels and the sizes.</summary>
    public static (byte[] Pixels, int Count, int Rows, int Columns) ReadImages(string path)
    {
        using var stream = Open(path);
        var dims = ReadHeader(stream, path, ImagesMagic, "image");
        // Up to 2^24 each: the product can overflow a long, so it is bounded (in double) first.
        if ((double)dims[0] * dims[1] * dims[2] > Array.MaxLength)
            throw new ShrinkException($"'{path}': {dims[0]}×{dims[1]}×{dims[2]} images are too large to load.");
        long length = (long)dims[0] * dims[1] * dims[2];
        var pixels = ReadBody(stream, path, length);
        return (pixels, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads a label file: N labels, each 0..255.</summary>
    public static int[] ReadLabels(string path)
    {
        using var stream = Open(path);
        var dims = ReadHeader(stream, path, LabelsMagic, "label");
        var raw = ReadBody(stream, path, dims[0]);
        var labels = new int[raw.Length];
        for (int i = 0; i < raw.Length; i++) labels[i] = raw[i];
        return labels;
    }

    /// <summary>Writes an IDX file (uint8 data), gzipped when the name ends with .gz. For tests and tools.</summary>
    public static void Write(string path, ReadOnlySpan<int> dims, ReadOnlySpan<byte> data)
    {
        using var file = File.Create(path);
        using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(file, CompressionLevel.Fastest) : file;
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, 0x0800 | dims.Length);
        s.Write(word);
        foreach (int d in dims)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, d);
            s.Write(word);
        }
        s.Write(data);
    }

    private static Stream Open(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ShrinkException($"Cannot open '{path}': {e.Message}", e);
        }
        return Sniff(file, path);
    }

    /// <summary>
    /// Takes ownership of <paramref name="file"/>: returns the stream to read the IDX data from (decompressing when the
    /// content starts with the gzip magic), or disposes the file and throws a <see cref="ShrinkException"/> naming it.
    /// </summary>
    internal static Stream Sniff(Stream file, string path)
    {
        try
        {
            // The magic is read and then re-read from the start: a pipe or device cannot do that.
            if (!file.CanSeek)
                throw new ShrinkException($"Cannot read '{path}': it is not a regular file (a pipe or a device?); copy the IDX data into a file.");
            Span<byte> head = stackalloc byte[2];
            int n = ReadFully(file, head, path);
            file.Position = 0;
            if (n == 2 && head[0] == 0x1F && head[1] == 0x8B)
                return new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16);
            return file;
        }
        catch (Exception e) when (e is IOException or NotSupportedException)
        {
            file.Dispose();
            throw new ShrinkException($"Cannot read '{path}': {e.Message}", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static int[] ReadHeader(Stream stream, string path, int expectedMagic, string what)
    {
        Span<byte> word = stackalloc byte[4];
        if (ReadFully(stream, word, path) < 4)
            throw new ShrinkException($"'{path}' is truncated: it ends inside the IDX header.");
        int magic = BinaryPrimitives.ReadInt32BigEndian(word);
        if (magic != expectedMagic)
            throw new ShrinkException(
                $"'{path}' is not an IDX {what} file: magic number 0x{magic:X8}, expected 0x{expectedMagic:X8}. " +
                "The file is corrupt or of another kind.");
        int rank = expectedMagic & 0xFF;
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            if (ReadFully(stream, word, path) < 4)
                throw new ShrinkException($"'{path}' is truncated: it ends inside the IDX header.");
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[i] <= 0 || dims[i] > 1 << 24)
                throw new ShrinkException($"'{path}': IDX dimension {i} is {dims[i]}, which is not a plausible size.");
        }
        return dims;
    }

    private static byte[] ReadBody(Stream stream, string path, long length)
    {
        if (length > Array.MaxLength) throw new ShrinkException($"'{path}': {length} bytes of data is too large to load.");
        var data = new byte[length];
        int got = ReadFully(stream, data, path);
        if (got < length)
            throw new ShrinkException($"'{path}' is truncated: {got} of {length} data bytes present.");
        Span<byte> extra = stackalloc byte[1];
        if (ReadFully(stream, extra, path) != 0)
            throw new ShrinkException($"'{path}' is corrupt: data continues past the {length} bytes its header declares.");
        return data;
    }

    private static int ReadFully(Stream stream, Span<byte> buffer, string path)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new ShrinkException($"'{path}' is a corrupt gzip file: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new ShrinkException($"Cannot read '{path}': {e.Message}", e);
        }
    }
}

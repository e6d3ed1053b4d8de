using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Shrink.Graph;
using Shrink.IO;
using Shrink.Tensors;

namespace Shrink.Data;

/// <summary>
/// NumPy's .npy format (version 1.0–3.0, C order) and .npz archives of them. Reads float32/float64/uint8/int8/
/// int32/int64 arrays (converted to float32, or kept as raw integers by <see cref="ReadInt64"/>); writes float32.
/// </summary>
public static partial class Npy
{
    public sealed record Array(Shape Shape, string Dtype, double[] Values)
    {
        public Tensor ToTensor()
        {
            var t = new Tensor(Shape);
            var s = t.Span;
            for (int i = 0; i < s.Length; i++) s[i] = (float)Values[i];
            return t;
        }

        public long[] ToInt64() => Values.Select(v => (long)v).ToArray();
    }

    public static Tensor ReadTensor(string path)
    {
        using var f = File.OpenRead(path);
        return Read(f, path).ToTensor();
    }

    /// <summary>Reads one array; <paramref name="source"/> names the file in error messages.</summary>
    public static Array Read(Stream stream, string source)
    {
        var raw = ReadRaw(stream, source);
        long n = raw.Shape.Length;
        int size = raw.ElementSize;
        var values = new double[n];
        var span = raw.Data.AsSpan();
        for (int i = 0; i < n; i++)
        {
            var b = span.Slice(i * size, size);
            values[i] = raw.Kind switch
            {
                "f4" => BitConverter.ToSingle(b),
                "f8" => BitConverter.ToDouble(b),
                "u1" => b[0],
                "i1" => (sbyte)b[0],
                "b1" => b[0],
                "i4" => BitConverter.ToInt32(b),
                "i8" => BitConverter.ToInt64(b),
                "u4" => BitConverter.ToUInt32(b),
                "i2" => BitConverter.ToInt16(b),
                _ => throw new ShrinkException($"'{source}': unsupported dtype '{raw.Kind}'."),
            };
        }
        return new Array(raw.Shape, raw.Kind, values);
    }

    /// <summary>
    /// An array as stored: shape, dtype kind without byte order ("u1", "f4", ...) and the little-endian data bytes.
    /// Lets large uint8/float32 arrays (image data sets) be used without a per-element conversion.
    /// </summary>
    public sealed record RawArray(Shape Shape, string Kind, byte[] Data)
    {
        public int ElementSize => Kind[^1] - '0';
    }

    /// <summary>Reads one array's header and data bytes; <paramref name="source"/> names the file in error messages.</summary>
    public static RawArray ReadRaw(Stream stream, string source)
    {
        using var r = new BinaryReader(stream, Encoding.Latin1, leaveOpen: true);
        byte[] magic = r.ReadBytes(6);
        if (magic.Length < 6 || magic[0] != 0x93 || Encoding.ASCII.GetString(magic, 1, 5) != "NUMPY")
            throw new ShrinkException($"'{source}' is not a .npy file (bad magic).");
        byte major;
        int headerLen;
        string header;
        try
        {
            major = r.ReadByte();
            r.ReadByte();
            headerLen = major == 1 ? r.ReadUInt16() : (int)r.ReadUInt32();
            header = Encoding.Latin1.GetString(r.ReadBytes(headerLen));
        }
        catch (EndOfStreamException e)
        {
            throw new ShrinkException($"'{source}' is truncated: it ends inside the .npy header.", e);
        }
        var descr = DescrRegex().Match(header);
        var shapeMatch = ShapeRegex().Match(header);
        if (!descr.Success || !shapeMatch.Success)
            throw new ShrinkException($"'{source}': unreadable .npy header '{header.Trim()}'.");
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal))
            throw new ShrinkException($"'{source}': Fortran-order arrays are not supported; save with np.ascontiguousarray.");
        var dims = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => int.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
                : throw new ShrinkException($"'{source}': .npy shape ({shapeMatch.Groups[1].Value}) has dimension '{d}', not a size."))
            .ToArray();
        var shape = new Shape(dims);
        long n = shape.Length;
        string dtype = descr.Groups[1].Value;
        if (!"<>|=".Contains(dtype[0], StringComparison.Ordinal)) dtype = "<" + dtype;
        int size = dtype[^1] - '0';
        if (dtype[0] == '>' && size > 1) throw new ShrinkException($"'{source}': big-endian arrays are not supported.");
        if (n * size > System.Array.MaxLength) throw new ShrinkException($"'{source}': {n * size} data bytes are too many to load.");
        var raw = new byte[n * size];
        int got = stream.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
        if (got != raw.Length)
            throw new ShrinkException($"'{source}' is truncated: {got} of {n * size} data bytes for shape {shape}.");
        return new RawArray(shape, dtype[1..], raw);
    }

    /// <summary>Writes a float32 array (little-endian, C order), atomically.</summary>
    public static void Write(string path, Tensor tensor) => AtomicFile.Write(path, s => Write(s, tensor));

    public static void Write(Stream stream, Tensor tensor)
    {
        string shape = tensor.Rank == 1 ? $"({tensor.Shape[0]},)" : $"({string.Join(", ", tensor.Shape.Dims.ToArray())})";
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var w = new BinaryWriter(stream, Encoding.Latin1, leaveOpen: true);
        w.Write((byte)0x93);
        w.Write("NUMPY"u8);
        w.Write((byte)1);
        w.Write((byte)0);
        w.Write((ushort)header.Length);
        w.Write(Encoding.Latin1.GetBytes(header));
        foreach (float v in tensor.Span) w.Write(v);
    }

    /// <summary>
    /// Writes float32 arrays as an uncompressed .npz archive (what np.savez writes: one "name.npy" entry per array),
    /// atomically: a temporary file in the same folder, then a rename.
    /// </summary>
    public static void WriteNpz(string path, IReadOnlyDictionary<string, Tensor> arrays) => AtomicFile.Write(path, file =>
    {
        using var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, tensor) in arrays)
        {
            using var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression).Open();
            Write(entry, tensor);
        }
    });

    /// <summary>Every array of an .npz archive (np.savez / np.savez_compressed), by entry name without ".npy".</summary>
    public static Dictionary<string, Array> ReadNpz(string path)
    {
        var result = new Dictionary<string, Array>(StringComparer.Ordinal);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            foreach (var entry in zip.Entries)
            {
                using var s = entry.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                ms.Position = 0;
                string key = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
                result[key] = Read(ms, $"{path}:{entry.FullName}");
            }
        }
        catch (InvalidDataException e)
        {
            throw new ShrinkException($"'{path}' is not a readable .npz archive: {e.Message}", e);
        }
        return result;
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([<>|=]?[a-z]\d)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}

using System.Buffers.Binary;
using Google.Protobuf;
using Shrink.Data;
using Shrink.Graph;
using Shrink.IO;
using Shrink.Onnx.Proto;
using Shrink.Tensors;

namespace Shrink.Onnx;

/// <summary>
/// Single tensors on disk: an ONNX <c>TensorProto</c> (<c>.pb</c>, the format of the ONNX test data sets) or a NumPy
/// <c>.npy</c> array, chosen by the file's extension.
/// <code>
/// Tensor x = TensorFiles.Read("input_0.pb");       // float32; float64, int64 and uint8 are converted
/// TensorFiles.Write("output_0.npy", y);            // float32, atomic (temporary file, then rename)
/// </code>
/// Every problem (not a tensor, truncated, an element type other than float32/float64/int64/uint8) ends in one
/// <see cref="ShrinkException"/> whose message names the file.
/// </summary>
public static class TensorFiles
{
    /// <summary>Element types a tensor file may hold (converted to float32 on reading).</summary>
    public const string AcceptedTypes = "float32, float64, int64 or uint8";

    /// <summary>True for the extensions <see cref="Read"/> and <see cref="Write"/> understand (.pb, .npy).</summary>
    public static bool IsTensorFile(string path) => FormatOf(path) is not null;

    /// <summary>Reads a .pb (TensorProto) or .npy file as a float32 tensor.</summary>
    public static Tensor Read(string path) => FormatOf(path) switch
    {
        "pb" => ReadPb(path),
        "npy" => ReadNpy(path),
        _ => throw new ShrinkException($"'{path}': unknown tensor file type; use .pb (ONNX TensorProto) or .npy (NumPy)."),
    };

    /// <summary>Writes <paramref name="tensor"/> as float32 .pb or .npy (by extension), atomically.</summary>
    public static void Write(string path, Tensor tensor, string? name = null)
    {
        switch (FormatOf(path))
        {
            case "pb": WritePb(path, tensor, name); break;
            case "npy": WriteNpy(path, tensor); break;
            default: throw new ShrinkException($"'{path}': unknown tensor file type; use .pb (ONNX TensorProto) or .npy (NumPy).");
        }
    }

    /// <summary>
    /// Writes several tensors (format by each path's extension) all or nothing: every file goes to a temporary name
    /// first, and only when all are written are they renamed into place.
    /// </summary>
    public static void WriteAll(IReadOnlyList<(string Path, Tensor Tensor, string? Name)> files)
    {
        // Every name is checked before anything is written.
        AtomicFile.WriteAll(files.Select(f => (f.Path, FormatOf(f.Path) switch
        {
            "pb" => (Action<Stream>)(s => s.Write(ToPbBytes(f.Tensor, f.Name))),
            "npy" => s => Npy.Write(s, f.Tensor),
            _ => throw new ShrinkException($"'{f.Path}': unknown tensor file type; use .pb (ONNX TensorProto) or .npy (NumPy)."),
        })).ToList());
    }

    // ---- ONNX TensorProto ----

    public static Tensor ReadPb(string path) => FromPbBytes(ReadAll(path), path);

    /// <summary>Parses a serialized TensorProto; <paramref name="source"/> names it in error messages.</summary>
    public static Tensor FromPbBytes(byte[] bytes, string source)
    {
        if (bytes.Length == 0) throw new ShrinkException($"'{source}' is empty, not an ONNX tensor.");
        TensorProto t;
        try
        {
            t = TensorProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            bool truncated = e.Message.Contains("ended unexpectedly", StringComparison.Ordinal) || e.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase);
            throw new ShrinkException(truncated
                ? $"'{source}' is truncated or not an ONNX tensor (the protobuf data ends in the middle of a field)."
                : $"'{source}' is not an ONNX tensor (TensorProto): {e.Message.TrimEnd('.')}.", e);
        }
        return FromProto(t, source);
    }

    /// <summary>Serializes <paramref name="tensor"/> as a float32 TensorProto (raw little-endian data).</summary>
    public static byte[] ToPbBytes(Tensor tensor, string? name = null) => ConstTensor.FloatProto(name ?? "", tensor.Shape, tensor.Span).ToByteArray();

    public static void WritePb(string path, Tensor tensor, string? name = null)
    {
        var bytes = ToPbBytes(tensor, name);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static Tensor FromProto(TensorProto t, string source)
    {
        var type = (TensorProto.Types.DataType)t.DataType;
        if (type == TensorProto.Types.DataType.Undefined)
            throw new ShrinkException($"'{source}' is not an ONNX tensor (TensorProto): it has no element type.");
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
            throw new ShrinkException($"'{source}' keeps its data in an external file; save the tensor with its data inside.");
        var dims = new int[t.Dims.Count];
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            long d = t.Dims[i];
            if (d < 0 || d > int.MaxValue) throw new ShrinkException($"'{source}' is not a valid ONNX tensor: dimension {i} is {d}.");
            dims[i] = (int)d;
            count *= d;
            if (count > Array.MaxLength) throw new ShrinkException($"'{source}': the tensor is too large ({count}+ elements).");
        }
        int n = (int)count;
        var shape = new Shape(dims);
        var v = new float[n];
        bool raw = t.HasRawData;
        var bytes = raw ? t.RawData.Span : ReadOnlySpan<byte>.Empty;
        switch (type)
        {
            case TensorProto.Types.DataType.Float:
                if (raw)
                {
                    Check(bytes.Length, n * 4L);
                    for (int i = 0; i < n; i++) v[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                }
                else { Check(t.FloatData.Count, n); t.FloatData.CopyTo(v, 0); }
                break;
            case TensorProto.Types.DataType.Double:
                if (raw)
                {
                    Check(bytes.Length, n * 8L);
                    for (int i = 0; i < n; i++) v[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
                }
                else { Check(t.DoubleData.Count, n); for (int i = 0; i < n; i++) v[i] = (float)t.DoubleData[i]; }
                break;
            case TensorProto.Types.DataType.Int64:
                if (raw)
                {
                    Check(bytes.Length, n * 8L);
                    for (int i = 0; i < n; i++) v[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..]);
                }
                else { Check(t.Int64Data.Count, n); for (int i = 0; i < n; i++) v[i] = t.Int64Data[i]; }
                break;
            case TensorProto.Types.DataType.Uint8:
                if (raw)
                {
                    Check(bytes.Length, n);
                    for (int i = 0; i < n; i++) v[i] = bytes[i];
                }
                else { Check(t.Int32Data.Count, n); for (int i = 0; i < n; i++) v[i] = t.Int32Data[i]; }
                break;
            default:
                throw new ShrinkException($"'{source}' holds {ProtoTypeName(type)} elements; Shrink reads {AcceptedTypes} tensors (model inputs are float32).");
        }
        return new Tensor(shape, v);

        void Check(long have, long need)
        {
            if (have != need)
                throw new ShrinkException($"'{source}' is truncated or corrupt: a {ProtoTypeName(type)} tensor of shape {shape} needs {need} {(raw ? "bytes" : "values")}, the file holds {have}.");
        }
    }

    /// <summary>ONNX element type names as NumPy spells them (what users know).</summary>
    private static string ProtoTypeName(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Float => "float32",
        TensorProto.Types.DataType.Double => "float64",
        TensorProto.Types.DataType.Float16 => "float16",
        TensorProto.Types.DataType.Bfloat16 => "bfloat16",
        TensorProto.Types.DataType.Int64 => "int64",
        TensorProto.Types.DataType.Int32 => "int32",
        TensorProto.Types.DataType.Int16 => "int16",
        TensorProto.Types.DataType.Int8 => "int8",
        TensorProto.Types.DataType.Uint8 => "uint8",
        TensorProto.Types.DataType.Uint16 => "uint16",
        TensorProto.Types.DataType.Uint32 => "uint32",
        TensorProto.Types.DataType.Uint64 => "uint64",
        TensorProto.Types.DataType.Bool => "bool",
        TensorProto.Types.DataType.String => "string",
        _ => $"{type} (ONNX type {(int)type})",
    };

    // ---- NumPy ----

    public static Tensor ReadNpy(string path)
    {
        var bytes = ReadAll(path);
        Npy.RawArray raw;
        try
        {
            raw = Npy.ReadRaw(new MemoryStream(bytes, writable: false), path);
        }
        catch (Exception e) when (e is FormatException or OverflowException or EndOfStreamException or ArgumentException)
        {
            throw new ShrinkException($"'{path}' is not a readable .npy file ({e.Message.TrimEnd('.')}).", e);
        }
        int n = checked((int)raw.Shape.Length);
        var v = new float[n];
        var data = raw.Data.AsSpan();
        switch (raw.Kind)
        {
            case "f4":
                for (int i = 0; i < n; i++) v[i] = BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..]);
                break;
            case "f8":
                for (int i = 0; i < n; i++) v[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(data[(i * 8)..]);
                break;
            case "i8":
                for (int i = 0; i < n; i++) v[i] = BinaryPrimitives.ReadInt64LittleEndian(data[(i * 8)..]);
                break;
            case "u1":
                for (int i = 0; i < n; i++) v[i] = data[i];
                break;
            default:
                throw new ShrinkException($"'{path}' holds {NpyTypeName(raw.Kind)} elements; Shrink reads {AcceptedTypes} tensors (model inputs are float32).");
        }
        return new Tensor(raw.Shape, v);
    }

    public static void WriteNpy(string path, Tensor tensor) => AtomicFile.Write(path, s => Npy.Write(s, tensor));

    private static string NpyTypeName(string kind) => kind switch
    {
        "f2" => "float16",
        "i1" => "int8",
        "i2" => "int16",
        "i4" => "int32",
        "u2" => "uint16",
        "u4" => "uint32",
        "u8" => "uint64",
        "b1" => "bool",
        _ => $"'{kind}'",
    };

    // ---- files ----

    private static string? FormatOf(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch { ".pb" => "pb", ".npy" => "npy", _ => null };
    }

    private static byte[] ReadAll(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ShrinkException($"Tensor file '{path}' does not exist.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ShrinkException($"Cannot read tensor file '{path}': {e.Message}", e);
        }
    }
}

using System.Buffers.Binary;
using Google.Protobuf;
using Shrink.Onnx.Proto;
using Shrink.Tensors;
using DataType = Shrink.Onnx.Proto.TensorProto.Types.DataType;

namespace Shrink.Onnx;

/// <summary>What an integer element of a <see cref="ConstTensor"/> stands for when it is not a known number.</summary>
internal enum DimSymbol : byte
{
    /// <summary>A known value.</summary>
    None = 0,

    /// <summary>The (dynamic) batch dimension, read by a Shape node.</summary>
    Batch,

    /// <summary>Any other size not known before run time (a dynamic non-batch dimension, or arithmetic on a symbol).</summary>
    Unknown,
}

/// <summary>
/// A tensor known while importing: an initializer, a Constant node's value, or a folded shape computation. Holds
/// either floats or integers (int64; smaller integer and bool types widen). Integer elements may be symbolic
/// (<see cref="DimSymbol"/>), recorded beside the values — never as reserved values, so that every int64 a model
/// writes (exporters use INT64_MIN and −INT64_MAX as slice ends) stays an ordinary number.
/// </summary>
internal sealed class ConstTensor
{
    private readonly long[]? _ints;

    private ConstTensor(int[] dims, float[]? floats, long[]? ints, DimSymbol[]? symbols)
    {
        Dims = dims;
        Floats = floats;
        _ints = ints;
        Symbols = symbols;
    }

    public static ConstTensor OfFloats(int[] dims, float[] values) => new(dims, values, null, null);

    /// <summary>Integers; <paramref name="symbols"/>, when given, marks elements that are run-time sizes (their value is ignored).</summary>
    public static ConstTensor OfInts(int[] dims, long[] values, DimSymbol[]? symbols = null)
    {
        if (symbols is not null && symbols.Length != values.Length)
            throw new ArgumentException($"{symbols.Length} symbols for {values.Length} values.", nameof(symbols));
        if (symbols is not null && !symbols.Any(s => s != DimSymbol.None)) symbols = null;
        if (symbols is not null)
        {
            values = (long[])values.Clone();
            for (int i = 0; i < values.Length; i++) if (symbols[i] != DimSymbol.None) values[i] = 0;
        }
        return new(dims, null, values, symbols);
    }

    public int[] Dims { get; }
    public float[]? Floats { get; }

    /// <summary>The integer values; 0 (meaningless) where <see cref="Symbols"/> marks a run-time size.</summary>
    public long[]? Ints => _ints;

    /// <summary>Per element, whether it is a run-time size; null when every element is known (always for floats).</summary>
    public DimSymbol[]? Symbols { get; }

    public bool IsFloat => Floats is not null;
    public int Length => IsFloat ? Floats!.Length : _ints!.Length;
    public int Rank => Dims.Length;

    /// <summary>True when some integer element is a run-time size.</summary>
    public bool IsSymbolic => Symbols is not null;

    public DimSymbol SymbolAt(int i) => Symbols is null ? DimSymbol.None : Symbols[i];

    /// <summary>The elements as doubles; a symbolic element is a programming error (check <see cref="IsSymbolic"/>).</summary>
    public double this[int i] =>
        IsFloat ? Floats![i]
        : SymbolAt(i) == DimSymbol.None ? _ints![i]
        : throw new InvalidOperationException($"Element {i} of {this} is a run-time size.");

    /// <summary>The same elements taken at <paramref name="sources"/> (data movement: gather, slice, concat...).</summary>
    public ConstTensor Take(int[] dims, int[] sources) =>
        IsFloat ? OfFloats(dims, sources.Select(i => Floats![i]).ToArray())
            : OfInts(dims, sources.Select(i => _ints![i]).ToArray(), Symbols is null ? null : sources.Select(i => Symbols[i]).ToArray());

    public ConstTensor WithDims(int[] dims) => IsFloat ? OfFloats(dims, Floats!) : new(dims, null, _ints, Symbols);

    /// <summary>The flat elements of <paramref name="parts"/> one after another, as a 1-D tensor (all float or all integer).</summary>
    public static ConstTensor Join(IReadOnlyList<ConstTensor> parts)
    {
        int n = parts.Sum(p => p.Length);
        if (parts[0].IsFloat) return OfFloats([n], parts.SelectMany(p => p.Floats!).ToArray());
        return OfInts([n], parts.SelectMany(p => p._ints!).ToArray(),
            parts.Any(p => p.IsSymbolic) ? parts.SelectMany(p => Enumerable.Range(0, p.Length).Select(p.SymbolAt)).ToArray() : null);
    }

    /// <summary>A float tensor for a graph parameter; a symbolic tensor is a programming error (check <see cref="IsSymbolic"/>).</summary>
    public Tensor ToTensor() =>
        IsSymbolic ? throw new InvalidOperationException($"{this} holds run-time sizes.")
            : new(new Shape(Dims), IsFloat ? (float[])Floats!.Clone() : _ints!.Select(v => (float)v).ToArray());

    /// <summary>The elements as integers; a symbolic tensor is a programming error (check <see cref="IsSymbolic"/>).</summary>
    public long[] AsLongs() =>
        IsSymbolic ? throw new InvalidOperationException($"{this} holds run-time sizes.")
            : IsFloat ? Floats!.Select(f => (long)f).ToArray() : _ints!;

    /// <summary>Element <paramref name="i"/> for messages: the number, "N" for the batch, "?" for another run-time size.</summary>
    public string ElementText(int i) =>
        IsFloat ? Floats![i].ToString(System.Globalization.CultureInfo.InvariantCulture)
        : SymbolAt(i) switch { DimSymbol.Batch => "N", DimSymbol.Unknown => "?", _ => _ints![i].ToString(System.Globalization.CultureInfo.InvariantCulture) };

    public override string ToString() =>
        $"[{string.Join(",", Dims)}] {string.Join(",", Enumerable.Range(0, Math.Min(8, Length)).Select(ElementText))}{(Length > 8 ? ",..." : "")}";

    // ---- TensorProto ----

    /// <summary>Reads a TensorProto (raw_data or typed fields). Throws <see cref="OnnxImportException"/> for types Shrink cannot hold.</summary>
    public static ConstTensor FromProto(TensorProto t, string what)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
            throw new OnnxImportException($"{what} '{t.Name}' keeps its data in an external file; save the model with its weights inside the .onnx file.");
        int[] dims = t.Dims.Select(d => d < 0 || d > int.MaxValue ? throw new OnnxImportException($"{what} '{t.Name}' has invalid dimension {d}.") : (int)d).ToArray();
        // Bounded at every step: a few large dimensions must not wrap the product around to a small count.
        long count = 1;
        foreach (int d in dims)
        {
            count *= d;
            if (count > int.MaxValue)
                throw new OnnxImportException($"{what} '{t.Name}' of shape [{string.Join(",", dims)}] is too large (more than {int.MaxValue} elements).");
        }
        int n = (int)count;
        var type = (DataType)t.DataType;
        var raw = t.HasRawData ? t.RawData.Span : ReadOnlySpan<byte>.Empty;
        bool useRaw = t.HasRawData;
        int size = type switch
        {
            DataType.Double or DataType.Int64 => 8,
            DataType.Float or DataType.Int32 => 4,
            DataType.Float16 or DataType.Int16 or DataType.Uint16 => 2,
            DataType.Uint8 or DataType.Int8 or DataType.Bool => 1,
            _ => throw new OnnxImportException($"{what} '{t.Name}' has element type {type}, which Shrink does not support (float, double, float16 and integer types only)."),
        };
        // The stored amount is checked before anything is allocated, so a corrupt shape cannot ask for gigabytes.
        int typedCount = type switch
        {
            DataType.Float => t.FloatData.Count,
            DataType.Double => t.DoubleData.Count,
            DataType.Int64 => t.Int64Data.Count,
            _ => t.Int32Data.Count,
        };
        long have = useRaw ? raw.Length : typedCount, need = useRaw ? (long)n * size : n;
        if (have != need)
            throw new OnnxImportException($"{what} '{t.Name}' of shape [{string.Join(",", dims)}] holds {have} {(useRaw ? "bytes" : "values")}, expected {need} (truncated or corrupt file).");

        switch (type)
        {
            case DataType.Float:
            {
                var v = new float[n];
                if (useRaw) for (int i = 0; i < n; i++) v[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
                else t.FloatData.CopyTo(v, 0);
                return OfFloats(dims, v);
            }
            case DataType.Double:
            {
                var v = new float[n];
                for (int i = 0; i < n; i++) v[i] = (float)(useRaw ? BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]) : t.DoubleData[i]);
                return OfFloats(dims, v);
            }
            case DataType.Float16:
            {
                var v = new float[n];
                for (int i = 0; i < n; i++)
                    v[i] = (float)BitConverter.UInt16BitsToHalf(useRaw ? BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) : (ushort)t.Int32Data[i]);
                return OfFloats(dims, v);
            }
            case DataType.Int64:
            {
                var v = new long[n];
                if (useRaw) for (int i = 0; i < n; i++) v[i] = BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]);
                else t.Int64Data.CopyTo(v, 0);
                return OfInts(dims, v);
            }
            default: // the narrower integer types and bool, widened to int64
            {
                var v = new long[n];
                for (int i = 0; i < n; i++)
                    v[i] = !useRaw ? t.Int32Data[i] : type switch
                    {
                        DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]),
                        DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]),
                        DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]),
                        DataType.Int8 => (sbyte)raw[i],
                        _ => raw[i],
                    };
                return OfInts(dims, v);
            }
        }
    }

    /// <summary>A float32 initializer with raw little-endian data.</summary>
    public static TensorProto FloatProto(string name, Shape shape, ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) };
        foreach (int d in shape.Dims) t.Dims.Add(d);
        return t;
    }

    /// <summary>An int64 initializer (1-D unless <paramref name="dims"/> given).</summary>
    public static TensorProto Int64Proto(string name, long[] values, int[]? dims = null)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        foreach (int d in dims ?? [values.Length]) t.Dims.Add(d);
        t.Int64Data.Add(values);
        return t;
    }
}

using System.Collections;
using System.Globalization;
using System.Text;

namespace Shrink.Tensors;

/// <summary>
/// The dimensions of a tensor, outermost first (NCHW for images). A dimension of <see cref="Dynamic"/>
/// (-1) is unknown until run time; graphs use it for the batch dimension.
/// Immutable: the dimension array is never exposed for writing.
/// </summary>
public readonly struct Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    public const int Dynamic = -1;

    private readonly int[]? _dims;

    public Shape(params int[] dims)
    {
        foreach (int d in dims)
            if (d < Dynamic) throw new ArgumentException($"Shape dimension {d} is negative.", nameof(dims));
        _dims = (int[])dims.Clone();
    }

    public Shape(ReadOnlySpan<int> dims) : this(dims.ToArray()) { }

    public static Shape Scalar => new([]);

    public int Rank => _dims?.Length ?? 0;
    public int Count => Rank;
    public int this[int axis] => Dims[axis < 0 ? axis + Rank : axis];
    public ReadOnlySpan<int> Dims => _dims;

    /// <summary>True when every dimension is known.</summary>
    public bool IsConcrete
    {
        get
        {
            foreach (int d in Dims) if (d == Dynamic) return false;
            return true;
        }
    }

    /// <summary>Number of elements; -1 when some dimension is dynamic.</summary>
    public long Length
    {
        get
        {
            long n = 1;
            foreach (int d in Dims)
            {
                if (d == Dynamic) return -1;
                n = checked(n * d); // a few large dimensions must not wrap around to a small length
            }
            return n;
        }
    }

    /// <summary>Elements per item of the outermost dimension (product of all but the first).</summary>
    public long InnerLength => Rank == 0 ? 1 : new Shape(Dims[1..]).Length;

    public Shape WithDim(int axis, int value)
    {
        var d = Dims.ToArray();
        d[axis < 0 ? axis + d.Length : axis] = value;
        return new Shape(d);
    }

    /// <summary>This shape with the first (batch) dimension replaced.</summary>
    public Shape WithBatch(int n) => WithDim(0, n);

    public int[] ToArray() => Dims.ToArray();

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    /// <summary>Compatible when ranks agree and every pair of dims is equal or one of them is dynamic.</summary>
    public bool IsCompatibleWith(Shape other)
    {
        if (Rank != other.Rank) return false;
        for (int i = 0; i < Rank; i++)
            if (this[i] != other[i] && this[i] != Dynamic && other[i] != Dynamic) return false;
        return true;
    }

    /// <summary>Formats as <c>[N,3,28,28]</c>, with N for a dynamic dimension.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < Rank; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(this[i] == Dynamic ? "N" : this[i].ToString(CultureInfo.InvariantCulture));
        }
        return sb.Append(']').ToString();
    }

    /// <summary>Parses "1x3x28x28" (the CLI's --input-shape form) or "1,3,28,28".</summary>
    public static Shape Parse(string text)
    {
        var parts = text.Trim('[', ']', ' ').Split(['x', 'X', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new FormatException($"'{text}' is not a shape: no dimensions (expected e.g. 1x3x28x28).");
        var dims = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i] is "N" or "n" or "?") { dims[i] = Dynamic; continue; }
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]))
                throw new FormatException($"'{text}' is not a shape: '{parts[i]}' is not a dimension (expected e.g. 1x3x28x28).");
        }
        return new Shape(dims);
    }

    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)(_dims ?? [])).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public static implicit operator Shape(int[] dims) => new(dims);
}

using System.Buffers;
using System.Runtime.InteropServices;

namespace Shrink.Tensors;

/// <summary>
/// A dense float32 tensor: a concrete <see cref="Shape"/> over contiguous row-major storage (NCHW for images).
/// Storage comes from <see cref="ArrayPool{T}"/> when the tensor is created with <see cref="Rent"/> and goes back
/// on <see cref="Dispose"/>; the backing array may be longer than <see cref="Length"/>, so always go through
/// <see cref="Span"/>. A view made by <see cref="Reshape"/> shares storage and never returns it.
/// </summary>
public sealed class Tensor : IDisposable
{
    private float[] _data;
    private readonly bool _pooled;
    /// <summary>Whether the array carries the SHRINK_GUARD sentinel after <see cref="Length"/> (the tensor allocated it).</summary>
    private readonly bool _guarded;
    private bool _disposed;

    /// <summary>A new zero-filled tensor on its own (non-pooled) array.</summary>
    public Tensor(Shape shape) : this(shape, AllocateFor(shape), pooled: false, guarded: Guarded) { }

    /// <summary>A tensor over the caller's array (which it takes ownership of; not copied).</summary>
    public Tensor(Shape shape, float[] data) : this(shape, data, pooled: false)
    {
        if (data.Length < Length)
            throw new ArgumentException($"Array of {data.Length} floats is too small for shape {shape} ({Length}).", nameof(data));
    }

    private Tensor(Shape shape, float[] data, bool pooled, bool guarded = false)
    {
        if (!shape.IsConcrete) throw new ArgumentException($"A tensor needs a concrete shape, not {shape}.", nameof(shape));
        Shape = shape;
        Length = checked((int)shape.Length);
        _data = data;
        _pooled = pooled;
        _guarded = guarded;
    }

    /// <summary>A tensor whose storage is rented from the shared pool. Contents are zeroed when <paramref name="clear"/>.</summary>
    public static Tensor Rent(Shape shape, bool clear = true)
    {
        if (!shape.IsConcrete) throw new ArgumentException($"A tensor needs a concrete shape, not {shape}.", nameof(shape));
        int n = checked((int)shape.Length);
        var array = ArrayPool<float>.Shared.Rent(Math.Max(n + GuardSlack, 1));
        if (clear) array.AsSpan(0, n).Clear();
        SetGuard(array, n);
        Profiling.MemoryTracker.Rented((long)n * sizeof(float));
        return new Tensor(shape, array, pooled: true, guarded: Guarded);
    }

    /// <summary>A tensor that holds only its shape, as a disposed one does: stands for a value whose data is never
    /// written or read (the tape's placeholder for an op output consumed by a fused clip).</summary>
    internal static Tensor ShapeOnly(Shape shape) => new(shape, [], pooled: false) { _disposed = true };

    public static Tensor FromArray(Shape shape, params float[] values)
    {
        if (values.Length != shape.Length)
            throw new ArgumentException($"{values.Length} values do not fill shape {shape} ({shape.Length} elements).", nameof(values));
        return new Tensor(shape, values, pooled: false);
    }

    public static Tensor Scalar(float value) => FromArray(Shape.Scalar, value);

    public Shape Shape { get; }
    public int Length { get; }
    public int Rank => Shape.Rank;

    /// <summary>The backing array (may be longer than <see cref="Length"/>; valid elements are [0, Length)).</summary>
    public float[] Array
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _data;
        }
    }

    public Span<float> Span => Array.AsSpan(0, Length);

    public float this[int flatIndex]
    {
        get => Span[flatIndex];
        set => Span[flatIndex] = value;
    }

    public float this[params int[] index]
    {
        get => Span[Offset(index)];
        set => Span[Offset(index)] = value;
    }

    public int Offset(ReadOnlySpan<int> index)
    {
        if (index.Length != Rank) throw new ArgumentException($"Index of rank {index.Length} into tensor of shape {Shape}.");
        int offset = 0;
        for (int i = 0; i < Rank; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i]) throw new IndexOutOfRangeException($"Index {index[i]} out of range for axis {i} of {Shape}.");
            offset = offset * Shape[i] + index[i];
        }
        return offset;
    }

    /// <summary>A view of the same storage with another shape of the same length.</summary>
    public Tensor Reshape(Shape shape)
    {
        if (shape.Length != Length)
            throw new ArgumentException($"Cannot view tensor of shape {Shape} ({Length} elements) as {shape} ({shape.Length} elements).");
        return new Tensor(shape, Array, pooled: false);
    }

    public Tensor Clone()
    {
        var t = new Tensor(Shape);
        Span.CopyTo(t.Span);
        return t;
    }

    public void CopyFrom(Tensor source)
    {
        if (source.Length != Length) throw new ArgumentException($"Cannot copy {source.Shape} into {Shape}.");
        source.Span.CopyTo(Span);
    }

    public void Clear() => Span.Clear();
    public void Fill(float value) => Span.Fill(value);

    public float[] ToArray() => Span.ToArray();

    /// <summary>Largest absolute difference to <paramref name="other"/> (same length required).</summary>
    public float MaxAbsDiff(Tensor other)
    {
        if (other.Length != Length) throw new ArgumentException($"Cannot compare {Shape} with {other.Shape}.");
        float m = 0;
        var a = Span; var b = other.Span;
        for (int i = 0; i < a.Length; i++) m = MathF.Max(m, MathF.Abs(a[i] - b[i]));
        return m;
    }

    public bool HasNonFinite() => !TensorPrimitives.IsFiniteAll<float>(Span);

    public override string ToString() => $"Tensor{Shape}";

    public void Dispose()
    {
        if (_disposed) return;
        CheckGuard();
        _disposed = true;
        if (_pooled)
        {
            Profiling.MemoryTracker.Returned((long)Length * sizeof(float));
            ArrayPool<float>.Shared.Return(_data);
        }
        _data = [];
    }

    private static float[] AllocateFor(Shape shape)
    {
        if (!shape.IsConcrete) throw new ArgumentException($"A tensor needs a concrete shape, not {shape}.", nameof(shape));
        int n = checked((int)shape.Length);
        var array = new float[n + GuardSlack];
        SetGuard(array, n);
        return array;
    }

    // ---------------------------------------------------------------- guard (SHRINK_GUARD=1)

    /// <summary>SHRINK_GUARD=1: every tensor that allocates its own array (and every workspace and inference arena
    /// buffer) gets <see cref="GuardFloats"/> sentinel floats past its end, checked on <see cref="Dispose"/> and after
    /// every op, so that a kernel writing past its output is caught where it happens instead of corrupting the heap and
    /// crashing the process later, somewhere else (the test suite runs with it).</summary>
    internal static readonly bool Guarded = Environment.GetEnvironmentVariable("SHRINK_GUARD") == "1";

    internal const int GuardFloats = 32;
    private const int GuardBits = 0x7FC0DEAD; // a quiet NaN no arithmetic produces

    /// <summary>Floats an allocation adds past its length for the sentinel: <see cref="GuardFloats"/> under SHRINK_GUARD, else 0.</summary>
    internal static int GuardSlack => Guarded ? GuardFloats : 0;

    /// <summary>Writes the sentinel into the <see cref="GuardFloats"/> floats after <paramref name="length"/> (under
    /// SHRINK_GUARD; otherwise nothing).</summary>
    internal static void SetGuard(float[] array, int length) => SetGuard(array.AsSpan(length));

    /// <summary>Writes the sentinel into the first <see cref="GuardFloats"/> floats of <paramref name="tail"/> (under
    /// SHRINK_GUARD; otherwise nothing).</summary>
    internal static void SetGuard(Span<float> tail)
    {
        if (Guarded) MemoryMarshal.Cast<float, int>(tail[..GuardFloats]).Fill(GuardBits);
    }

    /// <summary><see cref="CheckGuard"/> on each tensor (nulls skipped).</summary>
    internal static void CheckGuards(ReadOnlySpan<Tensor?> tensors, string producer)
    {
        foreach (var t in tensors) t?.CheckGuard(producer);
    }

    /// <summary>With SHRINK_GUARD=1, stops the process when something wrote past the end of this tensor (the heap past
    /// it may already be corrupt, so nothing else is safe to run); otherwise a no-op.</summary>
    internal void CheckGuard(string producer = "something")
    {
        if (_guarded && !_disposed && GuardBreach(_data, Length) is int at and >= 0)
            Environment.FailFast($"SHRINK_GUARD: {producer} wrote past the end of a tensor of shape {Shape} (element {at}).");
    }

    /// <summary>The first element of the guard after <paramref name="length"/> floats (set by <see cref="SetGuard"/>)
    /// that was overwritten, or −1.</summary>
    internal static int GuardBreach(float[] array, int length) => GuardBreach(array.AsSpan(length)) is int bad and >= 0 ? length + bad : -1;

    /// <summary>The first of the <see cref="GuardFloats"/> sentinel floats at the start of <paramref name="tail"/> that was
    /// overwritten, or −1.</summary>
    internal static int GuardBreach(ReadOnlySpan<float> tail) =>
        MemoryMarshal.Cast<float, int>(tail[..GuardFloats]).IndexOfAnyExcept(GuardBits);
}

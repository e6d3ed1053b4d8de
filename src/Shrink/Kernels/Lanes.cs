using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Shrink.Kernels;

/// <summary>
/// A vector of float lanes, so that a kernel is written once and runs as Vector512 / Vector256 / Vector128 / scalar
/// (the JIT specialises each struct instantiation, so nothing is lost against hand-written widths). The Winograd tile
/// transforms (one lane per image of a group) use only +, −, × by a constant and clamp (no FMA), so every width gives
/// bitwise the same answer there; the depthwise nine-tap dot products use × and <see cref="Sum"/>.
/// </summary>
internal unsafe interface ILanes<T> where T : struct, ILanes<T>
{
    static abstract int Count { get; }
    static abstract T Load(float* p);
    static abstract T Splat(float value);
    static abstract T operator +(T a, T b);
    static abstract T operator -(T a, T b);
    static abstract T operator *(float s, T a);
    static abstract T operator *(T a, T b);
    /// <summary>min(max(v, lo), hi), like <see cref="Epilogue.BiasClamp"/>.</summary>
    static abstract T Clamp(T v, T lo, T hi);
    void Store(float* p);
    /// <summary>The sum of the lanes (in the order of <c>VectorNNN.Sum</c>).</summary>
    float Sum();
}

internal readonly unsafe struct Lanes512(Vector512<float> v) : ILanes<Lanes512>
{
    private readonly Vector512<float> _v = v;
    public static int Count => 16;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Load(float* p) => new(Vector512.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Splat(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator +(Lanes512 a, Lanes512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator -(Lanes512 a, Lanes512 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator *(float s, Lanes512 a) => new(Vector512.Create(s) * a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator *(Lanes512 a, Lanes512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Clamp(Lanes512 v, Lanes512 lo, Lanes512 hi) => new(Vector512.Min(Vector512.Max(v._v, lo._v), hi._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) => _v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Sum() => Vector512.Sum(_v);
}

internal readonly unsafe struct Lanes256(Vector256<float> v) : ILanes<Lanes256>
{
    private readonly Vector256<float> _v = v;
    public static int Count => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Load(float* p) => new(Vector256.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Splat(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator +(Lanes256 a, Lanes256 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator -(Lanes256 a, Lanes256 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator *(float s, Lanes256 a) => new(Vector256.Create(s) * a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator *(Lanes256 a, Lanes256 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Clamp(Lanes256 v, Lanes256 lo, Lanes256 hi) => new(Vector256.Min(Vector256.Max(v._v, lo._v), hi._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) => _v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Sum() => Vector256.Sum(_v);
}

internal readonly unsafe struct Lanes128(Vector128<float> v) : ILanes<Lanes128>
{
    private readonly Vector128<float> _v = v;
    public static int Count => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Load(float* p) => new(Vector128.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Splat(float value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator +(Lanes128 a, Lanes128 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator -(Lanes128 a, Lanes128 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator *(float s, Lanes128 a) => new(Vector128.Create(s) * a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator *(Lanes128 a, Lanes128 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Clamp(Lanes128 v, Lanes128 lo, Lanes128 hi) => new(Vector128.Min(Vector128.Max(v._v, lo._v), hi._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) => _v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Sum() => Vector128.Sum(_v);
}

internal readonly unsafe struct LanesScalar(float v) : ILanes<LanesScalar>
{
    private readonly float _v = v;
    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static LanesScalar Load(float* p) => new(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static LanesScalar Splat(float value) => new(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static LanesScalar operator +(LanesScalar a, LanesScalar b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static LanesScalar operator -(LanesScalar a, LanesScalar b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static LanesScalar operator *(float s, LanesScalar a) => new(s * a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static LanesScalar operator *(LanesScalar a, LanesScalar b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static LanesScalar Clamp(LanesScalar v, LanesScalar lo, LanesScalar hi) => new(MathF.Min(MathF.Max(v._v, lo._v), hi._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) => *p = _v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Sum() => _v;
}

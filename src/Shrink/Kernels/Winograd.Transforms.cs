using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shrink.Kernels;

/// <summary>
/// The F(4×4, 3×3) transforms of Lavin &amp; Gray (interpolation points 0, ±1, ±2, ∞): input tile d (6×6) → V = Bᵀ·d·B,
/// weights g (3×3) → U = G·g·Gᵀ, product M = U ⊙ V (6×6) → output tile Y = Aᵀ·M·A (4×4). Each 2-D transform is the
/// 1-D one over the columns, then over the rows, and works on a lane vector of tiles.
/// </summary>
public static unsafe partial class Winograd
{
    /// <summary>Bᵀ·d for one column of six: the 1-D input transform.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Input1d<T>(T d0, T d1, T d2, T d3, T d4, T d5,
        out T v0, out T v1, out T v2, out T v3, out T v4, out T v5) where T : struct, ILanes<T>
    {
        v0 = 4f * d0 - 5f * d2 + d4;
        T s12 = d1 + d2, s34 = d3 + d4;
        v1 = s34 - 4f * s12;
        T d12 = d1 - d2, d43 = d4 - d3;
        v2 = d43 + 4f * d12;
        T d42 = d4 - d2, d31 = d3 - d1;
        v3 = d42 + 2f * d31;
        v4 = d42 - 2f * d31;
        v5 = 4f * d1 - 5f * d3 + d5;
    }

    /// <summary>Aᵀ·m for one column of six: the 1-D output transform.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Output1d<T>(T m0, T m1, T m2, T m3, T m4, T m5, out T o0, out T o1, out T o2, out T o3)
        where T : struct, ILanes<T>
    {
        T s12 = m1 + m2, s34 = m3 + m4, d12 = m1 - m2, d34 = m3 - m4;
        o0 = m0 + s12 + s34;
        o1 = d12 + 2f * d34;
        o2 = s12 + 4f * s34;
        o3 = d12 + 8f * d34 + m5;
    }

    /// <summary>
    /// V = Bᵀ·d·B for one lane vector of tiles: d[r, c] is at <paramref name="src"/> + (r·rowStride + c)·Count, and
    /// V[k, j] goes to <paramref name="dst"/> + (6k + j)·pointStride. <paramref name="tmp"/> holds 36 vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputTile<T>(float* src, nint rowStride, float* tmp, float* dst, nint pointStride) where T : struct, ILanes<T>
    {
        int n = T.Count;
        for (int c = 0; c < 6; c++)
        {
            float* s = src + c * n;
            Input1d(T.Load(s), T.Load(s + rowStride), T.Load(s + 2 * rowStride), T.Load(s + 3 * rowStride),
                T.Load(s + 4 * rowStride), T.Load(s + 5 * rowStride), out T v0, out T v1, out T v2, out T v3, out T v4, out T v5);
            float* t = tmp + c * n;
            v0.Store(t); v1.Store(t + 6 * n); v2.Store(t + 12 * n); v3.Store(t + 18 * n); v4.Store(t + 24 * n); v5.Store(t + 30 * n);
        }
        for (int k = 0; k < 6; k++)
        {
            float* t = tmp + 6 * k * n;
            Input1d(T.Load(t), T.Load(t + n), T.Load(t + 2 * n), T.Load(t + 3 * n), T.Load(t + 4 * n), T.Load(t + 5 * n),
                out T v0, out T v1, out T v2, out T v3, out T v4, out T v5);
            float* o = dst + 6 * k * pointStride;
            v0.Store(o); v1.Store(o + pointStride); v2.Store(o + 2 * pointStride); v3.Store(o + 3 * pointStride);
            v4.Store(o + 4 * pointStride); v5.Store(o + 5 * pointStride);
        }
    }

    /// <summary>
    /// Y = clamp(Aᵀ·M·A + bias, lo, hi) for one lane vector of tiles: M[k, j] is at <paramref name="src"/> + (6k + j)·pointStride;
    /// Y[a, b] goes to <paramref name="dst"/> + (4a + b)·Count. <paramref name="tmp"/> holds 24 vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputTile<T>(float* src, nint pointStride, float* tmp, float* dst, T bias, T lo, T hi) where T : struct, ILanes<T>
    {
        int n = T.Count;
        for (int j = 0; j < 6; j++)
        {
            float* s = src + j * pointStride;
            nint row = 6 * pointStride;
            Output1d(T.Load(s), T.Load(s + row), T.Load(s + 2 * row), T.Load(s + 3 * row), T.Load(s + 4 * row), T.Load(s + 5 * row),
                out T o0, out T o1, out T o2, out T o3);
            float* t = tmp + j * n;
            o0.Store(t); o1.Store(t + 6 * n); o2.Store(t + 12 * n); o3.Store(t + 18 * n);
        }
        for (int a = 0; a < 4; a++)
        {
            float* t = tmp + 6 * a * n;
            Output1d(T.Load(t), T.Load(t + n), T.Load(t + 2 * n), T.Load(t + 3 * n), T.Load(t + 4 * n), T.Load(t + 5 * n),
                out T o0, out T o1, out T o2, out T o3);
            float* o = dst + 4 * a * n;
            T.Clamp(o0 + bias, lo, hi).Store(o);
            T.Clamp(o1 + bias, lo, hi).Store(o + n);
            T.Clamp(o2 + bias, lo, hi).Store(o + 2 * n);
            T.Clamp(o3 + bias, lo, hi).Store(o + 3 * n);
        }
    }

    /// <summary>
    /// U = G·g·Gᵀ for one lane vector of 3×3 kernels: tap t = 3i + j of the kernels is at <paramref name="g"/> + t·tapStride,
    /// U[k, j] goes to <paramref name="dst"/> + (6k + j)·pointStride. <paramref name="tmp"/> holds 18 vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void WeightTile<T>(float* g, nint tapStride, float* tmp, float* dst, nint pointStride) where T : struct, ILanes<T>
    {
        int n = T.Count;
        for (int c = 0; c < 3; c++)
        {
            Weight1d(T.Load(g + c * tapStride), T.Load(g + (3 + c) * tapStride), T.Load(g + (6 + c) * tapStride),
                out T u0, out T u1, out T u2, out T u3, out T u4, out T u5);
            float* t = tmp + c * n;
            u0.Store(t); u1.Store(t + 3 * n); u2.Store(t + 6 * n); u3.Store(t + 9 * n); u4.Store(t + 12 * n); u5.Store(t + 15 * n);
        }
        for (int k = 0; k < 6; k++)
        {
            float* t = tmp + 3 * k * n;
            Weight1d(T.Load(t), T.Load(t + n), T.Load(t + 2 * n), out T u0, out T u1, out T u2, out T u3, out T u4, out T u5);
            float* o = dst + 6 * k * pointStride;
            u0.Store(o); u1.Store(o + pointStride); u2.Store(o + 2 * pointStride); u3.Store(o + 3 * pointStride);
            u4.Store(o + 4 * pointStride); u5.Store(o + 5 * pointStride);
        }
    }

    /// <summary>G·(g0, g1, g2): the 1-D weight transform.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Weight1d<T>(T g0, T g1, T g2, out T u0, out T u1, out T u2, out T u3, out T u4, out T u5)
        where T : struct, ILanes<T>
    {
        T s02 = g0 + g2, quarter = (1f / 24) * g0 + (1f / 6) * g2, twelfth = (1f / 12) * g1;
        u0 = 0.25f * g0;
        u1 = (-1f / 6) * (s02 + g1);
        u2 = (-1f / 6) * (s02 - g1);
        u3 = quarter + twelfth;
        u4 = quarter - twelfth;
        u5 = g2;
    }
}

public static unsafe partial class Winograd
{
    /// <summary>
    /// dst[j·dstStride + i] = src[i·srcStride + j] for i &lt; 16, j &lt; <paramref name="columns"/>: a 16×16 block
    /// transposed in registers (4 shuffle stages), Vector512 only. Source rows are read for <paramref name="count"/>
    /// elements (the rest read as zero, never touched in memory).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(float* src, nint srcStride, int count, float* dst, nint dstStride, int columns)
    {
        var r = stackalloc Vector512<float>[16];
        if (count >= 16) for (int i = 0; i < 16; i++) r[i] = Vector512.Load(src + i * srcStride);
        else
        {
            var mask = Vector512.LessThan(Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create((float)count));
            for (int i = 0; i < 16; i++) r[i] = Avx512F.MaskLoad(src + i * srcStride, mask, Vector512<float>.Zero);
        }
        var t = stackalloc Vector512<float>[16];
        for (int i = 0; i < 16; i += 2)
        {
            t[i] = Avx512F.UnpackLow(r[i], r[i + 1]);
            t[i + 1] = Avx512F.UnpackHigh(r[i], r[i + 1]);
        }
        // r[4q + c] holds column c (mod 4) of rows 4q..4q+3 in each 128-bit lane.
        for (int q = 0; q < 16; q += 4)
        {
            r[q] = Avx512F.Shuffle(t[q], t[q + 2], 0x44);
            r[q + 1] = Avx512F.Shuffle(t[q], t[q + 2], 0xEE);
            r[q + 2] = Avx512F.Shuffle(t[q + 1], t[q + 3], 0x44);
            r[q + 3] = Avx512F.Shuffle(t[q + 1], t[q + 3], 0xEE);
        }
        for (int c = 0; c < 4; c++)
        {
            t[c] = Avx512F.Shuffle4x128(r[c], r[4 + c], 0x88);
            t[4 + c] = Avx512F.Shuffle4x128(r[c], r[4 + c], 0xDD);
            t[8 + c] = Avx512F.Shuffle4x128(r[8 + c], r[12 + c], 0x88);
            t[12 + c] = Avx512F.Shuffle4x128(r[8 + c], r[12 + c], 0xDD);
        }
        for (int c = 0; c < 8; c++)
        {
            // t[c] pairs with t[8 + c]: columns c (0x88) and c + 8 (0xDD).
            if (c < columns) Avx512F.Shuffle4x128(t[c], t[8 + c], 0x88).Store(dst + c * dstStride);
            if (c + 8 < columns) Avx512F.Shuffle4x128(t[c], t[8 + c], 0xDD).Store(dst + (c + 8) * dstStride);
        }
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Shrink.Kernels;

/// <summary>
/// 2×2, stride-2 max pooling of a plane, a pair of input rows at a time (window t of a pair covers top[2t], top[2t + 1], bottom[2t],
/// bottom[2t + 1], in that order). The first maximum in window order wins and NaN wins, as in
/// <see cref="Ops.MaxPool"/>; the winner of the whole window equals the winner of the winners of its two rows'
/// halves (first-maximum is associative), so each vector lane computes exactly the scalar answer.
/// Vector512 → Vector256 → Vector128 → scalar over the even/odd split of <see cref="Interleave"/>.
/// </summary>
internal static class MaxPool2x2
{
    /// <summary>y[r, t] = the winner of the window over rows 2r, 2r + 1 and columns 2t, 2t + 1 of plane x (row pitch
    /// <paramref name="width"/> ≥ 2·outW), for r &lt; outH, t &lt; outW; y has row pitch outW. Overwrites y.</summary>
    public static void Forward(ReadOnlySpan<float> x, int width, Span<float> y, int outH, int outW)
    {
        if (width < 2 * outW || x.Length < (long)2 * outH * width || y.Length < (long)outH * outW)
            throw new ArgumentException($"MaxPool2x2: plane too small for {outH}x{outW} outputs with row pitch {width}.");
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        for (int r = 0; r < outH; r++)
            ForwardRow(ref Unsafe.Add(ref xr, 2 * r * width), ref Unsafe.Add(ref xr, (2 * r + 1) * width), ref Unsafe.Add(ref yr, r * outW), outW);
    }

    /// <summary>The gradient of <see cref="Forward"/>: dy[r, t] is added to dx under window (r, t)'s winner. Accumulates;
    /// the other elements of dx's first 2·outW columns are rewritten unchanged.</summary>
    public static void Backward(ReadOnlySpan<float> x, int width, ReadOnlySpan<float> dy, Span<float> dx, int outH, int outW)
    {
        if (width < 2 * outW || x.Length < (long)2 * outH * width || dx.Length < (long)2 * outH * width || dy.Length < (long)outH * outW)
            throw new ArgumentException($"MaxPool2x2: plane too small for {outH}x{outW} outputs with row pitch {width}.");
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        for (int r = 0; r < outH; r++)
            BackwardRow(ref Unsafe.Add(ref xr, 2 * r * width), ref Unsafe.Add(ref xr, (2 * r + 1) * width), ref Unsafe.Add(ref gr, r * outW),
                ref Unsafe.Add(ref dr, 2 * r * width), ref Unsafe.Add(ref dr, (2 * r + 1) * width), outW);
    }

    /// <summary>y[t] = the winner of window t, t &lt; n (top and bottom hold 2n floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardRow(ref float tr, ref float br, ref float yr, int n)
    {
        int t = 0;
        if (Interleave.Use512)
            for (; t + 16 <= n; t += 16)
            {
                var (a, b) = Interleave.Split(Vector512.LoadUnsafe(ref tr, (nuint)(2 * t)), Vector512.LoadUnsafe(ref tr, (nuint)(2 * t + 16)));
                var (c, d) = Interleave.Split(Vector512.LoadUnsafe(ref br, (nuint)(2 * t)), Vector512.LoadUnsafe(ref br, (nuint)(2 * t + 16)));
                var ab = Vector512.ConditionalSelect(Wins(b, a), b, a);
                var cd = Vector512.ConditionalSelect(Wins(d, c), d, c);
                Vector512.ConditionalSelect(Wins(cd, ab), cd, ab).StoreUnsafe(ref yr, (nuint)t);
            }
        if (Interleave.Use256)
            for (; t + 8 <= n; t += 8)
            {
                var (a, b) = Interleave.Split(Vector256.LoadUnsafe(ref tr, (nuint)(2 * t)), Vector256.LoadUnsafe(ref tr, (nuint)(2 * t + 8)));
                var (c, d) = Interleave.Split(Vector256.LoadUnsafe(ref br, (nuint)(2 * t)), Vector256.LoadUnsafe(ref br, (nuint)(2 * t + 8)));
                var ab = Vector256.ConditionalSelect(Wins(b, a), b, a);
                var cd = Vector256.ConditionalSelect(Wins(d, c), d, c);
                Vector256.ConditionalSelect(Wins(cd, ab), cd, ab).StoreUnsafe(ref yr, (nuint)t);
            }
        if (Interleave.Use128)
            for (; t + 4 <= n; t += 4)
            {
                var (a, b) = Interleave.Split(Vector128.LoadUnsafe(ref tr, (nuint)(2 * t)), Vector128.LoadUnsafe(ref tr, (nuint)(2 * t + 4)));
                var (c, d) = Interleave.Split(Vector128.LoadUnsafe(ref br, (nuint)(2 * t)), Vector128.LoadUnsafe(ref br, (nuint)(2 * t + 4)));
                var ab = Vector128.ConditionalSelect(Wins(b, a), b, a);
                var cd = Vector128.ConditionalSelect(Wins(d, c), d, c);
                Vector128.ConditionalSelect(Wins(cd, ab), cd, ab).StoreUnsafe(ref yr, (nuint)t);
            }
        for (; t < n; t++)
        {
            float a = Unsafe.Add(ref tr, 2 * t), b = Unsafe.Add(ref tr, 2 * t + 1), c = Unsafe.Add(ref br, 2 * t), d = Unsafe.Add(ref br, 2 * t + 1);
            float ab = Wins(b, a) ? b : a, cd = Wins(d, c) ? d : c;
            Unsafe.Add(ref yr, t) = Wins(cd, ab) ? cd : ab;
        }
    }

    /// <summary>dy[t] is added to the element of dTop/dBottom under window t's winner, t &lt; n (the rows hold 2n floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BackwardRow(ref float tr, ref float br, ref float gr, ref float dtr, ref float dbr, int n)
    {
        int t = 0;
        if (Interleave.Use512)
            for (; t + 16 <= n; t += 16)
            {
                nuint i = (nuint)(2 * t), j = i + 16;
                var (a, b) = Interleave.Split(Vector512.LoadUnsafe(ref tr, i), Vector512.LoadUnsafe(ref tr, j));
                var (c, d) = Interleave.Split(Vector512.LoadUnsafe(ref br, i), Vector512.LoadUnsafe(ref br, j));
                Vector512<float> right = Wins(b, a), lower = Wins(d, c);
                var bottomWins = Wins(Vector512.ConditionalSelect(lower, d, c), Vector512.ConditionalSelect(right, b, a));
                var g = Vector512.LoadUnsafe(ref gr, (nuint)t);
                var (ga, gb) = Interleave.Split(Vector512.LoadUnsafe(ref dtr, i), Vector512.LoadUnsafe(ref dtr, j));
                var (gc, gd) = Interleave.Split(Vector512.LoadUnsafe(ref dbr, i), Vector512.LoadUnsafe(ref dbr, j));
                var (topLo, topHi) = Interleave.Merge(
                    Vector512.ConditionalSelect(Vector512.AndNot(~right, bottomWins), ga + g, ga),
                    Vector512.ConditionalSelect(Vector512.AndNot(right, bottomWins), gb + g, gb));
                var (botLo, botHi) = Interleave.Merge(
                    Vector512.ConditionalSelect(Vector512.AndNot(bottomWins, lower), gc + g, gc),
                    Vector512.ConditionalSelect(bottomWins & lower, gd + g, gd));
                topLo.StoreUnsafe(ref dtr, i); topHi.StoreUnsafe(ref dtr, j);
                botLo.StoreUnsafe(ref dbr, i); botHi.StoreUnsafe(ref dbr, j);
            }
        if (Interleave.Use256)
            for (; t + 8 <= n; t += 8)
            {
                nuint i = (nuint)(2 * t), j = i + 8;
                var (a, b) = Interleave.Split(Vector256.LoadUnsafe(ref tr, i), Vector256.LoadUnsafe(ref tr, j));
                var (c, d) = Interleave.Split(Vector256.LoadUnsafe(ref br, i), Vector256.LoadUnsafe(ref br, j));
                Vector256<float> right = Wins(b, a), lower = Wins(d, c);
                var bottomWins = Wins(Vector256.ConditionalSelect(lower, d, c), Vector256.ConditionalSelect(right, b, a));
                var g = Vector256.LoadUnsafe(ref gr, (nuint)t);
                var (ga, gb) = Interleave.Split(Vector256.LoadUnsafe(ref dtr, i), Vector256.LoadUnsafe(ref dtr, j));
                var (gc, gd) = Interleave.Split(Vector256.LoadUnsafe(ref dbr, i), Vector256.LoadUnsafe(ref dbr, j));
                var (topLo, topHi) = Interleave.Merge(
                    Vector256.ConditionalSelect(Vector256.AndNot(~right, bottomWins), ga + g, ga),
                    Vector256.ConditionalSelect(Vector256.AndNot(right, bottomWins), gb + g, gb));
                var (botLo, botHi) = Interleave.Merge(
                    Vector256.ConditionalSelect(Vector256.AndNot(bottomWins, lower), gc + g, gc),
                    Vector256.ConditionalSelect(bottomWins & lower, gd + g, gd));
                topLo.StoreUnsafe(ref dtr, i); topHi.StoreUnsafe(ref dtr, j);
                botLo.StoreUnsafe(ref dbr, i); botHi.StoreUnsafe(ref dbr, j);
            }
        if (Interleave.Use128)
            for (; t + 4 <= n; t += 4)
            {
                nuint i = (nuint)(2 * t), j = i + 4;
                var (a, b) = Interleave.Split(Vector128.LoadUnsafe(ref tr, i), Vector128.LoadUnsafe(ref tr, j));
                var (c, d) = Interleave.Split(Vector128.LoadUnsafe(ref br, i), Vector128.LoadUnsafe(ref br, j));
                Vector128<float> right = Wins(b, a), lower = Wins(d, c);
                var bottomWins = Wins(Vector128.ConditionalSelect(lower, d, c), Vector128.ConditionalSelect(right, b, a));
                var g = Vector128.LoadUnsafe(ref gr, (nuint)t);
                var (ga, gb) = Interleave.Split(Vector128.LoadUnsafe(ref dtr, i), Vector128.LoadUnsafe(ref dtr, j));
                var (gc, gd) = Interleave.Split(Vector128.LoadUnsafe(ref dbr, i), Vector128.LoadUnsafe(ref dbr, j));
                var (topLo, topHi) = Interleave.Merge(
                    Vector128.ConditionalSelect(Vector128.AndNot(~right, bottomWins), ga + g, ga),
                    Vector128.ConditionalSelect(Vector128.AndNot(right, bottomWins), gb + g, gb));
                var (botLo, botHi) = Interleave.Merge(
                    Vector128.ConditionalSelect(Vector128.AndNot(bottomWins, lower), gc + g, gc),
                    Vector128.ConditionalSelect(bottomWins & lower, gd + g, gd));
                topLo.StoreUnsafe(ref dtr, i); topHi.StoreUnsafe(ref dtr, j);
                botLo.StoreUnsafe(ref dbr, i); botHi.StoreUnsafe(ref dbr, j);
            }
        for (; t < n; t++)
        {
            float a = Unsafe.Add(ref tr, 2 * t), b = Unsafe.Add(ref tr, 2 * t + 1), c = Unsafe.Add(ref br, 2 * t), d = Unsafe.Add(ref br, 2 * t + 1);
            bool right = Wins(b, a), lower = Wins(d, c), bottomWins = Wins(lower ? d : c, right ? b : a);
            int k = 2 * t + ((bottomWins ? lower : right) ? 1 : 0);
            if (bottomWins) Unsafe.Add(ref dbr, k) += Unsafe.Add(ref gr, t);
            else Unsafe.Add(ref dtr, k) += Unsafe.Add(ref gr, t);
        }
    }

    /// <summary>Whether v, coming after m in window order, replaces it: larger, or NaN over a number.</summary>
    private static bool Wins(float v, float m) => v > m || (float.IsNaN(v) && !float.IsNaN(m));

    private static Vector512<float> Wins(Vector512<float> v, Vector512<float> m) =>
        Vector512.GreaterThan(v, m) | Vector512.AndNot(Vector512.Equals(m, m), Vector512.Equals(v, v));

    private static Vector256<float> Wins(Vector256<float> v, Vector256<float> m) =>
        Vector256.GreaterThan(v, m) | Vector256.AndNot(Vector256.Equals(m, m), Vector256.Equals(v, v));

    private static Vector128<float> Wins(Vector128<float> v, Vector128<float> m) =>
        Vector128.GreaterThan(v, m) | Vector128.AndNot(Vector128.Equals(m, m), Vector128.Equals(v, v));
}

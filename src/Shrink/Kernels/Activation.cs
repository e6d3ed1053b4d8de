using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Shrink.Kernels;

/// <summary>
/// ReLU forward and backward over large tensors: vectorised (Vector512 → Vector256 → Vector128 → scalar, same answer on
/// every path) and split over threads in fixed chunks. Inputs and outputs of the same length; forward may run in place.
/// </summary>
public static unsafe class Activation
{
    private const int Chunk = 1 << 15;

    /// <summary>y = max(x, 0) (x may equal y). NaN propagates (IEEE maximum on every path).</summary>
    public static void Relu(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException("Relu: output shorter than input.");
        fixed (float* px = x, py = y)
        {
            var body = new Body { X = px, Y = py, N = x.Length, Backward = false };
            Run(ref body, x.Length);
        }
    }

    /// <summary>dx += (y &gt; 0 ? dy : 0), with y the forward output. Accumulates into dx.</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dy.Length < y.Length || dx.Length < y.Length) throw new ArgumentException("ReluBackward: length mismatch.");
        fixed (float* py = y, pdy = dy, pdx = dx)
        {
            var body = new Body { X = py, G = pdy, Y = pdx, N = y.Length, Backward = true };
            Run(ref body, y.Length);
        }
    }

    /// <summary>g = (y &gt; 0 ? g : 0) in place, with y the forward output: the gradient through ReLU written over the
    /// output gradient (what <see cref="ReluBackward"/> adds to a zero dx, up to the sign of zeros).</summary>
    public static void ReluBackwardInPlace(ReadOnlySpan<float> y, Span<float> g)
    {
        if (g.Length < y.Length) throw new ArgumentException("ReluBackwardInPlace: length mismatch.");
        fixed (float* py = y, pg = g)
        {
            var body = new Body { X = py, G = pg, Y = pg, N = y.Length, Backward = true, Overwrite = true };
            Run(ref body, y.Length);
        }
    }

    /// <summary>dx += (lo &lt; y &lt; hi ? dy : 0), with y = clamp(x, lo, hi) the forward output (the same mask as
    /// lo &lt; x &lt; hi; NaN passes no gradient). Accumulates into dx.</summary>
    public static void ClipBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, float lo, float hi, Span<float> dx)
    {
        if (dy.Length < y.Length || dx.Length < y.Length) throw new ArgumentException("ClipBackward: length mismatch.");
        fixed (float* py = y, pdy = dy, pdx = dx)
        {
            var body = new ClipGradBody { Y = py, G = pdy, Dx = pdx, N = y.Length, Lo = lo, Hi = hi };
            int chunks = (y.Length + Chunk - 1) / Chunk;
            if (chunks <= 2) for (int i = 0; i < chunks; i++) body.Invoke(i);
            else KernelParallel.For(chunks, ref body);
        }
    }

    /// <summary>g = (lo &lt; y &lt; hi ? g : 0) in place, with y = clamp(x, lo, hi) the forward output: the gradient through
    /// the clip written over the output gradient (what <see cref="ClipBackward"/> adds to a zero dx, up to the sign of zeros).</summary>
    public static void ClipBackwardInPlace(ReadOnlySpan<float> y, float lo, float hi, Span<float> g)
    {
        if (g.Length < y.Length) throw new ArgumentException("ClipBackwardInPlace: length mismatch.");
        fixed (float* py = y, pg = g)
        {
            var body = new ClipGradBody { Y = py, G = pg, Dx = pg, N = y.Length, Lo = lo, Hi = hi, Overwrite = true };
            int chunks = (y.Length + Chunk - 1) / Chunk;
            if (chunks <= 2) for (int i = 0; i < chunks; i++) body.Invoke(i);
            else KernelParallel.For(chunks, ref body);
        }
    }

    private struct ClipGradBody : IParallelBody
    {
        public float* Y, G, Dx;
        public int N;
        public float Lo, Hi;
        public bool Overwrite;

        public readonly void Invoke(int index)
        {
            int start = index * Chunk, n = Math.Min(Chunk, N - start);
            if (Overwrite) Pass<Overwriting>(Y + start, G + start, Dx + start, n, Lo, Hi);
            else Pass<Accumulating>(Y + start, G + start, Dx + start, n, Lo, Hi);
        }

        /// <summary>d = (g masked by lo &lt; y &lt; hi), or d += it: one loop, specialised per mode by the JIT.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Pass<TMode>(float* y, float* g, float* d, int n, float lo, float hi) where TMode : struct, IGradientMode
        {
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> l = Vector512.Create(lo), h = Vector512.Create(hi);
                for (; i + 16 <= n; i += 16)
                {
                    var v = Vector512.Load(y + i);
                    var r = Vector512.Load(g + i) & (Vector512.GreaterThan(v, l) & Vector512.LessThan(v, h));
                    (TMode.Accumulate ? Vector512.Load(d + i) + r : r).Store(d + i);
                }
            }
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> l = Vector256.Create(lo), h = Vector256.Create(hi);
                for (; i + 8 <= n; i += 8)
                {
                    var v = Vector256.Load(y + i);
                    var r = Vector256.Load(g + i) & (Vector256.GreaterThan(v, l) & Vector256.LessThan(v, h));
                    (TMode.Accumulate ? Vector256.Load(d + i) + r : r).Store(d + i);
                }
            }
            for (; i < n; i++)
            {
                float r = y[i] > lo && y[i] < hi ? g[i] : 0f;
                d[i] = TMode.Accumulate ? d[i] + r : r;
            }
        }
    }

    private interface IGradientMode { static abstract bool Accumulate { get; } }
    private struct Overwriting : IGradientMode { public static bool Accumulate => false; }
    private struct Accumulating : IGradientMode { public static bool Accumulate => true; }

    /// <summary>dst = clamp(a + b, lo, hi) element-wise (dst may equal a or b).</summary>
    public static void AddClamp(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float lo, float hi, Span<float> dst)
    {
        if (b.Length < a.Length || dst.Length < a.Length) throw new ArgumentException("AddClamp: length mismatch.");
        fixed (float* pa = a, pb = b, pd = dst)
        {
            var body = new ClampBody { A = pa, B = pb, Dst = pd, N = a.Length, Lo = lo, Hi = hi };
            int chunks = (a.Length + Chunk - 1) / Chunk;
            if (chunks <= 2) for (int i = 0; i < chunks; i++) body.Invoke(i);
            else KernelParallel.For(chunks, ref body);
        }
    }

    /// <summary>dst = clamp(x + bias, lo, hi) element-wise (dst may equal x).</summary>
    public static void Clamp(ReadOnlySpan<float> x, Span<float> dst, float bias, float lo, float hi)
    {
        if (dst.Length < x.Length) throw new ArgumentException("Clamp: length mismatch.");
        fixed (float* px = x, pd = dst)
        {
            var body = new ClampBody { A = px, B = null, Bias = bias, Dst = pd, N = x.Length, Lo = lo, Hi = hi };
            int chunks = (x.Length + Chunk - 1) / Chunk;
            if (chunks <= 2) for (int i = 0; i < chunks; i++) body.Invoke(i);
            else KernelParallel.For(chunks, ref body);
        }
    }

    private struct ClampBody : IParallelBody
    {
        public float* A, B, Dst;
        public int N;
        public float Bias, Lo, Hi;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int start = index * Chunk, n = Math.Min(Chunk, N - start);
            float* a = A + start, d = Dst + start;
            if (B == null) { Epilogue.BiasClamp(a, Bias, Lo, Hi, d, n); return; }
            float* b = B + start;
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> l = Vector512.Create(Lo), h = Vector512.Create(Hi);
                for (; i + 16 <= n; i += 16) Vector512.Store(Vector512.Min(Vector512.Max(Vector512.Load(a + i) + Vector512.Load(b + i), l), h), d + i);
            }
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> l = Vector256.Create(Lo), h = Vector256.Create(Hi);
                for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Min(Vector256.Max(Vector256.Load(a + i) + Vector256.Load(b + i), l), h), d + i);
            }
            if (Vector128.IsHardwareAccelerated)
            {
                Vector128<float> l = Vector128.Create(Lo), h = Vector128.Create(Hi);
                for (; i + 4 <= n; i += 4) Vector128.Store(Vector128.Min(Vector128.Max(Vector128.Load(a + i) + Vector128.Load(b + i), l), h), d + i);
            }
            for (; i < n; i++) d[i] = MathF.Min(MathF.Max(a[i] + b[i], Lo), Hi);
        }
    }

    private static void Run(ref Body body, int n)
    {
        int chunks = (n + Chunk - 1) / Chunk;
        if (chunks <= 2) for (int i = 0; i < chunks; i++) body.Invoke(i);
        else KernelParallel.For(chunks, ref body);
    }

    private struct Body : IParallelBody
    {
        public float* X, G, Y;
        public int N;
        public bool Backward, Overwrite;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int start = index * Chunk, n = Math.Min(Chunk, N - start);
            float* x = X + start, y = Y + start, g = G + start;
            int i = 0;
            if (Overwrite)
            {
                if (Vector512.IsHardwareAccelerated)
                    for (; i + 16 <= n; i += 16)
                        Vector512.Store(Vector512.Load(g + i) & Vector512.GreaterThan(Vector512.Load(x + i), Vector512<float>.Zero), y + i);
                if (Vector256.IsHardwareAccelerated)
                    for (; i + 8 <= n; i += 8)
                        Vector256.Store(Vector256.Load(g + i) & Vector256.GreaterThan(Vector256.Load(x + i), Vector256<float>.Zero), y + i);
                if (Vector128.IsHardwareAccelerated)
                    for (; i + 4 <= n; i += 4)
                        Vector128.Store(Vector128.Load(g + i) & Vector128.GreaterThan(Vector128.Load(x + i), Vector128<float>.Zero), y + i);
                for (; i < n; i++) y[i] = x[i] > 0 ? g[i] : 0f;
            }
            else if (Backward)
            {
                if (Vector512.IsHardwareAccelerated)
                    for (; i + 16 <= n; i += 16)
                    {
                        var m = Vector512.GreaterThan(Vector512.Load(x + i), Vector512<float>.Zero);
                        Vector512.Store(Vector512.Load(y + i) + (Vector512.Load(g + i) & m), y + i);
                    }
                if (Vector256.IsHardwareAccelerated)
                    for (; i + 8 <= n; i += 8)
                    {
                        var m = Vector256.GreaterThan(Vector256.Load(x + i), Vector256<float>.Zero);
                        Vector256.Store(Vector256.Load(y + i) + (Vector256.Load(g + i) & m), y + i);
                    }
                if (Vector128.IsHardwareAccelerated)
                    for (; i + 4 <= n; i += 4)
                    {
                        var m = Vector128.GreaterThan(Vector128.Load(x + i), Vector128<float>.Zero);
                        Vector128.Store(Vector128.Load(y + i) + (Vector128.Load(g + i) & m), y + i);
                    }
                for (; i < n; i++) y[i] += x[i] > 0 ? g[i] : 0f;
            }
            else
            {
                if (Vector512.IsHardwareAccelerated)
                    for (; i + 16 <= n; i += 16)
                    {
                        Vector512.Store(Vector512.Max(Vector512.Load(x + i), Vector512<float>.Zero), y + i);
                    }
                if (Vector256.IsHardwareAccelerated)
                    for (; i + 8 <= n; i += 8)
                    {
                        Vector256.Store(Vector256.Max(Vector256.Load(x + i), Vector256<float>.Zero), y + i);
                    }
                if (Vector128.IsHardwareAccelerated)
                    for (; i + 4 <= n; i += 4)
                    {
                        Vector128.Store(Vector128.Max(Vector128.Load(x + i), Vector128<float>.Zero), y + i);
                    }
                for (; i < n; i++) y[i] = MathF.Max(x[i], 0f);
            }
        }
    }
}

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
        public bool Backward;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int start = index * Chunk, n = Math.Min(Chunk, N - start);
            float* x = X + start, y = Y + start, g = G + start;
            int i = 0;
            if (Backward)
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

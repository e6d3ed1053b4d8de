using System.Buffers;
using Shrink.Graph;
using Shrink.Kernels;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX BatchNormalization over X[N, C, ...] (rank ≥ 2) with per-channel scale, B, mean, var (all [C]).
/// Evaluation: y = (x − mean)/√(var + ε)·scale + B with the running statistics (inputs 3 and 4).
/// Training (<see cref="OpContext.Training"/>): normalises with the batch mean and biased variance and updates the
/// running statistics in place, ONNX-style: running = running·Momentum + batch·(1 − Momentum), with the unbiased
/// variance going into running var (as PyTorch). Backward goes through the batch statistics in training and is the
/// plain affine map in evaluation (where the running statistics get gradients too, if anyone asks).
/// </summary>
public sealed class BatchNormalization : Operator
{
    public float Epsilon { get; init; } = 1e-5f;

    /// <summary>ONNX convention: weight of the old running value (PyTorch's momentum 0.1 is 0.9 here).</summary>
    public float Momentum { get; init; } = 0.9f;

    public override bool BackwardReadsOutput(int index) => false;

    /// <summary>X's gradient can be written over Y's: per channel, the sums over dy come before the writes.</summary>
    public override bool BackwardInPlace(int index) => index == 0;

    public override string OpType => "BatchNormalization";
    public override (int Min, int Max) InputArity => (5, 5);

    public override string Attributes => $"eps={Epsilon:G6} momentum={Momentum:G6}";

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        Shape x = inputs[0];
        if (x.Rank < 2) throw new ShapeMismatchException($"BatchNormalization input X must have rank ≥ 2 (N, C, ...), got {x}.");
        string[] names = ["scale", "B", "mean", "var"];
        for (int i = 1; i < 5; i++)
        {
            var p = inputs[i];
            if (p.Rank != 1 || (x[1] != Shape.Dynamic && p[0] != x[1]))
                throw new ShapeMismatchException($"input {x} has {x[1]} channels but {names[i - 1]} has shape {p} (expected [{x[1]}]).");
        }
        return [x];
    }

    /// <summary>Per-channel statistics kept for backward: mean and 1/√(var + ε) (batch ones in training).</summary>
    private sealed class Stats(int channels) : IDisposable
    {
        public float[] Mean { get; } = ArrayPool<float>.Shared.Rent(channels);
        public float[] InvStd { get; } = ArrayPool<float>.Shared.Rent(channels);
        public void Dispose()
        {
            ArrayPool<float>.Shared.Return(Mean);
            ArrayPool<float>.Shared.Return(InvStd);
        }
    }

    /// <summary>Channels per parallel task: a few tasks per thread, none smaller than ~32K elements.</summary>
    private static int Slices(int c, long perChannel) =>
        (int)Math.Clamp(Math.Min(4L * KernelParallel.MaxThreads, c * perChannel / 32768), 1, Math.Max(1, c));

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        Forward(ctx, inputs, outputs, float.NegativeInfinity, float.PositiveInfinity);

    /// <summary>Forward with the output clamped in the same pass (per element min(max(x·a + b, lo), hi), as
    /// <see cref="SpatialVector.AffineClamp"/>: with lo ≥ 0 bit for bit the plain output put through Clip(lo, hi)).</summary>
    public override bool ForwardClamped(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs, float lo, float hi)
    {
        if (!(lo >= 0f)) return false;
        Forward(ctx, inputs, outputs, lo, hi);
        return true;
    }

    private void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs, float lo, float hi)
    {
        Tensor x = inputs[0], y = outputs[0];
        int n = x.Shape[0], c = x.Shape[1], s = (int)(x.Shape.Rank == 2 ? 1 : x.Length / Math.Max(1L, (long)n * c));
        var stats = new Stats(c);
        if (ctx.Saved is IDisposable old) old.Dispose();
        ctx.Saved = stats;
        long count = (long)n * s;
        bool training = ctx.Training;
        if (training && count < 2)
            throw new ShapeMismatchException($"BatchNormalization in training needs more than one value per channel, got input {x.Shape}.");
        float[] xa = x.Array, ya = y.Array, scale = inputs[1].Array, bias = inputs[2].Array, runMean = inputs[3].Array, runVar = inputs[4].Array;
        float eps = Epsilon, momentum = Momentum;
        int slices = Slices(c, count);
        KernelParallel.For(slices, slice =>
        {
            var xs = xa.AsSpan();
            var ys = ya.AsSpan();
            for (int ch = c * slice / slices, end = c * (slice + 1) / slices; ch < end; ch++)
            {
                if (training)
                {
                    var (mean, sq) = BatchNorm.Moments(xs, n, c, s, ch);
                    double var = sq / count;
                    stats.Mean[ch] = mean;
                    stats.InvStd[ch] = (float)(1.0 / Math.Sqrt(var + eps));
                    runMean[ch] = runMean[ch] * momentum + mean * (1 - momentum);
                    runVar[ch] = runVar[ch] * momentum + (float)(sq / (count - 1)) * (1 - momentum);
                }
                else
                {
                    stats.Mean[ch] = runMean[ch];
                    stats.InvStd[ch] = 1f / MathF.Sqrt(runVar[ch] + eps);
                }
                Normalize(xs, ys, n, c, s, ch, scale[ch], bias[ch], stats, lo, hi);
            }
        });
    }

    /// <summary>y = (x − mean)·invStd·scale + B for channel <paramref name="ch"/> of every image, from the saved statistics
    /// (clamped to [lo, hi] unless those are ±∞).</summary>
    private static void Normalize(ReadOnlySpan<float> xs, Span<float> ys, int n, int c, int s, int ch, float scale, float bias, Stats stats,
        float lo, float hi)
    {
        float a = Slope(scale, stats, ch), b = Intercept(bias, stats, ch, a);
        if (lo == float.NegativeInfinity && hi == float.PositiveInfinity) { BatchNorm.Normalize(xs, ys, n, c, s, ch, a, b); return; }
        for (int i = 0; i < n; i++)
        {
            int off = (i * c + ch) * s;
            SpatialVector.AffineClamp(xs.Slice(off, s), a, b, lo, hi, ys.Slice(off, s));
        }
    }

    private static float Slope(float scale, Stats stats, int ch) => scale * stats.InvStd[ch];
    private static float Intercept(float bias, Stats stats, int ch, float slope) => bias - stats.Mean[ch] * slope;

    /// <summary>The output is the per-channel affine map with the statistics forward saved: recomputable without
    /// touching the running statistics.</summary>
    public override bool Recomputable => true;
    public override bool RecomputesInPlace => true;

    public override void Recompute(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        RecomputeClamped(ctx, inputs, outputs, float.NegativeInfinity, float.PositiveInfinity);

    public override bool RecomputeClamped(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs, float lo, float hi)
    {
        var stats = ctx.Saved as Stats ?? throw new InvalidOperationException("BatchNormalization.Recompute called without Forward.");
        Tensor x = inputs[0];
        int n = x.Shape[0], c = x.Shape[1], s = (int)(x.Shape.Rank == 2 ? 1 : x.Length / Math.Max(1L, (long)n * c));
        float[] xa = x.Array, ya = outputs[0].Array, scale = inputs[1].Array, bias = inputs[2].Array;
        // Forward's per-channel maps, applied image by image: memory in order (forward walks a channel's planes across
        // the batch because its statistics pass does; a lone affine pass streams better this way). Same bits.
        var a = new float[c];
        var b = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            a[ch] = Slope(scale[ch], stats, ch);
            b[ch] = Intercept(bias[ch], stats, ch, a[ch]);
        }
        bool clamp = lo != float.NegativeInfinity || hi != float.PositiveInfinity;
        int slices = (int)Math.Clamp(Math.Min(4L * KernelParallel.MaxThreads, (long)n * c * s / 32768), 1, Math.Max(1, n));
        KernelParallel.For(slices, slice =>
        {
            for (int i = n * slice / slices, end = n * (slice + 1) / slices; i < end; i++)
                for (int ch = 0; ch < c; ch++)
                {
                    int off = (i * c + ch) * s;
                    if (clamp) SpatialVector.AffineClamp(xa.AsSpan(off, s), a[ch], b[ch], lo, hi, ya.AsSpan(off, s));
                    else SpatialVector.Affine(xa.AsSpan(off, s), a[ch], b[ch], ya.AsSpan(off, s));
                }
        });
        return true;
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        var stats = ctx.Saved as Stats ?? throw new InvalidOperationException("BatchNormalization.Backward called without Forward.");
        Tensor x = inputs[0];
        int n = x.Shape[0], c = x.Shape[1], s = (int)(x.Shape.Rank == 2 ? 1 : x.Length / Math.Max(1L, (long)n * c));
        long count = (long)n * s;
        float[] xa = x.Array, dya = outputGrads[0].Array, scale = inputs[1].Array;
        float[]? dx = inputGrads[0]?.Array, dscale = inputGrads[1]?.Array, dbias = inputGrads[2]?.Array;
        float[]? dmean = !ctx.Training ? inputGrads[3]?.Array : null, dvar = !ctx.Training ? inputGrads[4]?.Array : null;
        bool training = ctx.Training;
        // dx over dy (BackwardInPlace): a channel's planes are written only after its sums have read them.
        bool inPlace = ReferenceEquals(inputGrads[0], outputGrads[0]);
        int slices = Slices(c, count);
        KernelParallel.For(slices, slice =>
        {
            var xs = xa.AsSpan();
            var dys = dya.AsSpan();
            for (int ch = c * slice / slices, end = c * (slice + 1) / slices; ch < end; ch++)
            {
                float mean = stats.Mean[ch], invStd = stats.InvStd[ch];
                var (sumDy, sumDyXc) = BatchNorm.GradientSums(dys, xs, n, c, s, ch, mean);
                if (dscale is not null) dscale[ch] += (float)(sumDyXc * invStd);
                if (dbias is not null) dbias[ch] += (float)sumDy;
                if (dmean is not null) dmean[ch] += (float)(-sumDy * scale[ch] * invStd);
                if (dvar is not null) dvar[ch] += (float)(-0.5 * sumDyXc * scale[ch] * invStd * invStd * invStd);
                if (dx is null) continue;
                float a = scale[ch] * invStd;
                // Training: dx = scale·invStd·(dy − mean(dy) − x̂·mean(dy·x̂)) = a·dy + b·(x − mean) + shift.
                float b = training ? (float)(-scale[ch] * invStd * invStd * invStd * sumDyXc / count) : 0f;
                float shift = training ? (float)(-a * sumDy / count) : 0f;
                // dx over dy (in place) or added to dx; the channel's sums above have read dy already.
                if (training) BatchNorm.Gradient(dys, xs, n, c, s, ch, a, b, mean, shift, dx, overwrite: inPlace);
                else
                    for (int i = 0; i < n; i++)
                    {
                        int off = (i * c + ch) * s;
                        if (inPlace) TensorPrimitives.Multiply(dys.Slice(off, s), a, dx.AsSpan(off, s));
                        else SpatialVector.Axpy(a, dys.Slice(off, s), dx.AsSpan(off, s));
                    }
            }
        });
    }
}

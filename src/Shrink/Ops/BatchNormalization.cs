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

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        Tensor x = inputs[0], y = outputs[0];
        int n = x.Shape[0], c = x.Shape[1], s = (int)(x.Shape.Rank == 2 ? 1 : x.Length / Math.Max(1L, (long)n * c));
        var scale = inputs[1].Span;
        var bias = inputs[2].Span;
        var stats = new Stats(c);
        if (ctx.Saved is IDisposable old) old.Dispose();
        ctx.Saved = stats;
        var xs = x.Span;
        var ys = y.Span;
        if (ctx.Training)
        {
            long count = (long)n * s;
            if (count < 2)
                throw new ShapeMismatchException($"BatchNormalization in training needs more than one value per channel, got input {x.Shape}.");
            var runMean = inputs[3].Span;
            var runVar = inputs[4].Span;
            for (int ch = 0; ch < c; ch++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += TensorPrimitives.Sum<float>(xs.Slice((i * c + ch) * s, s));
                float mean = (float)(sum / count);
                double sq = 0;
                for (int i = 0; i < n; i++) sq += SpatialVector.SumSquaredDeviation(xs.Slice((i * c + ch) * s, s), mean);
                double var = sq / count;
                stats.Mean[ch] = mean;
                stats.InvStd[ch] = (float)(1.0 / Math.Sqrt(var + Epsilon));
                runMean[ch] = runMean[ch] * Momentum + mean * (1 - Momentum);
                runVar[ch] = runVar[ch] * Momentum + (float)(sq / (count - 1)) * (1 - Momentum);
            }
        }
        else
        {
            var runMean = inputs[3].Span;
            var runVar = inputs[4].Span;
            for (int ch = 0; ch < c; ch++)
            {
                stats.Mean[ch] = runMean[ch];
                stats.InvStd[ch] = 1f / MathF.Sqrt(runVar[ch] + Epsilon);
            }
        }
        for (int ch = 0; ch < c; ch++)
        {
            float a = scale[ch] * stats.InvStd[ch];
            float b = bias[ch] - stats.Mean[ch] * a;
            for (int i = 0; i < n; i++)
            {
                int off = (i * c + ch) * s;
                SpatialVector.Affine(xs.Slice(off, s), a, b, ys.Slice(off, s));
            }
        }
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        var stats = ctx.Saved as Stats ?? throw new InvalidOperationException("BatchNormalization.Backward called without Forward.");
        Tensor x = inputs[0];
        int n = x.Shape[0], c = x.Shape[1], s = (int)(x.Shape.Rank == 2 ? 1 : x.Length / Math.Max(1L, (long)n * c));
        long count = (long)n * s;
        var xs = x.Span;
        var dys = outputGrads[0].Span;
        var scale = inputs[1].Span;
        Span<float> dx = inputGrads[0] is { } t0 ? t0.Span : default;
        Span<float> dscale = inputGrads[1] is { } t1 ? t1.Span : default;
        Span<float> dbias = inputGrads[2] is { } t2 ? t2.Span : default;
        Span<float> dmean = !ctx.Training && inputGrads[3] is { } t3 ? t3.Span : default;
        Span<float> dvar = !ctx.Training && inputGrads[4] is { } t4 ? t4.Span : default;
        for (int ch = 0; ch < c; ch++)
        {
            float mean = stats.Mean[ch], invStd = stats.InvStd[ch];
            double sumDy = 0, sumDyXc = 0;
            for (int i = 0; i < n; i++)
            {
                int off = (i * c + ch) * s;
                sumDy += TensorPrimitives.Sum<float>(dys.Slice(off, s));
                sumDyXc += SpatialVector.DotCentered(dys.Slice(off, s), xs.Slice(off, s), mean);
            }
            if (!dscale.IsEmpty) dscale[ch] += (float)(sumDyXc * invStd);
            if (!dbias.IsEmpty) dbias[ch] += (float)sumDy;
            if (!dmean.IsEmpty) dmean[ch] += (float)(-sumDy * scale[ch] * invStd);
            if (!dvar.IsEmpty) dvar[ch] += (float)(-0.5 * sumDyXc * scale[ch] * invStd * invStd * invStd);
            if (dx.IsEmpty) continue;
            float a = scale[ch] * invStd;
            if (ctx.Training)
            {
                // dx = scale·invStd·(dy − mean(dy) − x̂·mean(dy·x̂)) = a·dy + b·(x − mean) + c.
                float b = (float)(-scale[ch] * invStd * invStd * invStd * sumDyXc / count);
                float shift = (float)(-a * sumDy / count);
                for (int i = 0; i < n; i++)
                {
                    int off = (i * c + ch) * s;
                    var d = dx.Slice(off, s);
                    SpatialVector.BatchNormGrad(a, dys.Slice(off, s), b, xs.Slice(off, s), mean, d);
                    TensorPrimitives.Add(d, shift, d);
                }
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    int off = (i * c + ch) * s;
                    SpatialVector.Axpy(a, dys.Slice(off, s), dx.Slice(off, s));
                }
            }
        }
    }
}

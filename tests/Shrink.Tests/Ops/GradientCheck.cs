using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

/// <summary>
/// Central-difference gradient checks. The probe is L = Σ w·y with a fixed random w per output, so dL/dy = w.
/// Operators compute in float32; L and the differences are accumulated in double, and eps is large enough
/// (1e-2 by default) that float32 rounding (~1e-7·|L|/eps) stays well under the tolerance while the O(eps²)
/// truncation error of central differences does too. Inputs of non-smooth ops must stay farther than eps
/// from kinks (ReLU at 0, ties in max pooling): use <see cref="AwayFromZero"/> or distinct values.
/// </summary>
public static class GradientCheck
{
    public sealed record Result(bool Passed, double WorstError, string Where)
    {
        public override string ToString() => Passed ? $"ok (worst {WorstError:G3})" : $"FAILED at {Where} (error {WorstError:G3})";
    }

    /// <summary>Asserts analytic and numeric gradients agree for every input in <paramref name="wrt"/> (default: all).</summary>
    public static void AssertOp(Operator op, Tensor[] inputs, bool training = false, int[]? wrt = null,
        float eps = 1e-2f, double rtol = 1e-2, double atol = 2e-3, int maxElementsPerInput = 64)
    {
        var r = CheckOp(op, inputs, training, wrt, eps, rtol, atol, maxElementsPerInput);
        Xunit.Assert.True(r.Passed, $"{op}: {r}");
    }

    public static Result CheckOp(Operator op, Tensor[] inputs, bool training = false, int[]? wrt = null,
        float eps = 1e-2f, double rtol = 1e-2, double atol = 2e-3, int maxElementsPerInput = 64)
    {
        wrt ??= Enumerable.Range(0, inputs.Length).ToArray();
        var outShapes = op.InferShapes(inputs.Select(t => t.Shape).ToArray());
        var rng = new Random(1234);
        var weights = outShapes.Select(s =>
        {
            var w = new Tensor(s);
            Init.Uniform(w, -1, 1, rng);
            return w;
        }).ToArray();

        // Analytic.
        var outputs = outShapes.Select(s => new Tensor(s)).ToArray();
        var ctx = new OpContext(training, new Random(7));
        op.Forward(ctx, inputs, outputs);
        var grads = new Tensor?[inputs.Length];
        foreach (int i in wrt) grads[i] = new Tensor(inputs[i].Shape);
        op.Backward(ctx, inputs, outputs, weights, grads);
        ctx.Dispose();

        double worst = 0;
        string where = "";
        bool passed = true;
        foreach (int i in wrt)
        {
            var x = inputs[i];
            var picks = Enumerable.Range(0, x.Length).ToArray();
            if (picks.Length > maxElementsPerInput)
                picks = picks.OrderBy(_ => rng.Next()).Take(maxElementsPerInput).ToArray();
            foreach (int e in picks)
            {
                float saved = x[e];
                x[e] = saved + eps;
                double plus = Probe(op, inputs, outShapes, weights, training);
                x[e] = saved - eps;
                double minus = Probe(op, inputs, outShapes, weights, training);
                x[e] = saved;
                double numeric = (plus - minus) / (2.0 * eps);
                double analytic = grads[i]![e];
                double err = Math.Abs(numeric - analytic);
                double allowed = atol + rtol * Math.Max(Math.Abs(numeric), Math.Abs(analytic));
                if (err > allowed && passed)
                {
                    passed = false;
                    where = $"input {i} element {e}: analytic {analytic:G6}, numeric {numeric:G6}";
                }
                worst = Math.Max(worst, err);
            }
        }
        return new Result(passed, worst, where);
    }

    private static double Probe(Operator op, Tensor[] inputs, Shape[] outShapes, Tensor[] weights, bool training)
    {
        var outputs = outShapes.Select(s => new Tensor(s)).ToArray();
        using var ctx = new OpContext(training, new Random(7));
        op.Forward(ctx, inputs, outputs);
        double sum = 0;
        for (int o = 0; o < outputs.Length; o++)
        {
            var y = outputs[o].Span;
            var w = weights[o].Span;
            for (int k = 0; k < y.Length; k++) sum += (double)w[k] * y[k];
        }
        return sum;
    }

    /// <summary>A seeded tensor with entries uniform in ±[margin, 1]: no entry within margin of zero.</summary>
    public static Tensor AwayFromZero(Shape shape, int seed, float margin = 0.1f)
    {
        var t = new Tensor(shape);
        var rng = new Random(seed);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++)
        {
            float m = margin + (1 - margin) * (float)rng.NextDouble();
            s[i] = rng.Next(2) == 0 ? m : -m;
        }
        return t;
    }

    /// <summary>A seeded tensor uniform in [low, high].</summary>
    public static Tensor Random(Shape shape, int seed, float low = -1, float high = 1)
    {
        var t = new Tensor(shape);
        Init.Uniform(t, low, high, new Random(seed));
        return t;
    }
}

using Shrink.Execution.Losses;

namespace Shrink.Tests.Execution;

/// <summary>
/// Central-difference check of a loss's gradient with respect to its prediction. Losses return double and
/// accumulate in double, so with eps = 1e-2 on float32 inputs the numeric derivative's error is dominated by the
/// O(eps²·f''') truncation term (≈ 1e-5 for softmax losses on O(1) logits, 0 for MSE). The step is divided by the
/// float32 difference actually applied, so rounding of x ± eps does not count. Tolerance: |a − n| ≤ atol + rtol·max.
/// </summary>
public static class LossGradientCheck
{
    public sealed record Result(bool Passed, double WorstError, string Where)
    {
        public override string ToString() => Passed ? $"ok (worst {WorstError:G3})" : $"FAILED at {Where} (error {WorstError:G3})";
    }

    public static void Assert(Loss loss, Tensor prediction, Targets targets, float eps = 1e-2f, double rtol = 1e-2, double atol = 1e-4)
    {
        var r = Check(loss, prediction, targets, eps, rtol, atol);
        Xunit.Assert.True(r.Passed, $"{loss}: {r}");
    }

    public static Result Check(Loss loss, Tensor prediction, Targets targets, float eps = 1e-2f, double rtol = 1e-2, double atol = 1e-4)
    {
        var grad = new Tensor(prediction.Shape);
        loss.Compute(prediction, targets, grad);
        double worst = 0;
        string where = "";
        bool passed = true;
        for (int e = 0; e < prediction.Length; e++)
        {
            float saved = prediction[e];
            float up = saved + eps, down = saved - eps;
            prediction[e] = up;
            double plus = loss.Compute(prediction, targets, null);
            prediction[e] = down;
            double minus = loss.Compute(prediction, targets, null);
            prediction[e] = saved;
            double numeric = (plus - minus) / ((double)up - down);
            double analytic = grad[e];
            double err = Math.Abs(numeric - analytic);
            if (err > atol + rtol * Math.Max(Math.Abs(numeric), Math.Abs(analytic)) && passed)
            {
                passed = false;
                where = $"element {e}: analytic {analytic:G6}, numeric {numeric:G6}";
            }
            worst = Math.Max(worst, err);
        }
        return new Result(passed, worst, where);
    }
}

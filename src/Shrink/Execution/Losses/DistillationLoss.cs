using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Execution.Losses;

/// <summary>
/// Knowledge distillation (Hinton et al.): α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) averaged over the batch
/// ('batchmean') + (1−α)·CE(student, labels) with optional label smoothing. The prediction is the student's logits
/// [N, C]; <see cref="Targets.TeacherLogits"/> has the same shape. The T² factor keeps the soft-target gradient's
/// scale independent of T. Labels are needed only when α &lt; 1.
/// Gradient: α·T·(softmax(s/T) − softmax(t/T))/N + (1−α)·(softmax(s) − target)/N.
/// </summary>
public sealed class DistillationLoss : Loss
{
    public DistillationLoss(float temperature, float alpha, float labelSmoothing = 0)
    {
        if (!(temperature > 0) || float.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Distillation temperature must be positive and finite.");
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Distillation weight alpha must be in [0, 1].");
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must be in [0, 1].");
        Temperature = temperature;
        Alpha = alpha;
        LabelSmoothing = labelSmoothing;
    }

    public float Temperature { get; }
    public float Alpha { get; }
    public float LabelSmoothing { get; }

    public override string Name => "distillation";

    public override double Compute(Tensor prediction, Targets targets, Tensor? gradient)
    {
        var (n, c) = CheckLogits(prediction, "student prediction");
        var teacher = targets.TeacherLogits ?? throw new ArgumentException("distillation loss needs the teacher's logits (Targets.TeacherLogits is null).", nameof(targets));
        if (teacher.Shape != prediction.Shape)
            throw new ShapeMismatchException($"distillation loss: teacher logits have shape {teacher.Shape}, student logits have {prediction.Shape}.");
        CheckGradient(prediction, gradient);
        double alpha = Alpha, t = Temperature;
        bool hard = alpha < 1;
        int[] labels = hard ? CheckLabels(targets, n, c) : [];

        var work = 3 * c <= 1536 ? stackalloc double[3 * c] : new double[3 * c];
        var ps = work[..c];            // softmax(s/T)
        var pt = work.Slice(c, c);     // softmax(t/T)
        var p1 = work.Slice(2 * c, c); // softmax(s), for the hard term
        double kl = 0, ce = 0;
        for (int i = 0; i < n; i++)
        {
            var s = prediction.Span.Slice(i * c, c);
            var tr = teacher.Span.Slice(i * c, c);
            double lsS = Softmax.Row(s, t, ps, out double maxS);
            double lsT = Softmax.Row(tr, t, pt, out double maxT);
            for (int k = 0; k < c; k++)
            {
                if (pt[k] == 0) continue; // 0·log 0 = 0, as PyTorch's kl_div
                double logPt = tr[k] / t - maxT - lsT;
                double logPs = s[k] / t - maxS - lsS;
                kl += pt[k] * (logPt - logPs);
            }
            if (hard)
            {
                double ls1 = Softmax.Row(s, 1.0, p1, out double max1);
                ce += CrossEntropyLoss.RowLoss(s, labels[i], LabelSmoothing, max1, ls1);
            }
            if (gradient is not null)
            {
                var g = gradient.Span.Slice(i * c, c);
                double soft = alpha * t / n;
                double hardScale = (1 - alpha) / n;
                double off = LabelSmoothing / (double)c;
                for (int k = 0; k < c; k++)
                {
                    double v = soft * (ps[k] - pt[k]);
                    if (hard) v += hardScale * (p1[k] - off - (k == labels[i] ? 1 - LabelSmoothing : 0));
                    g[k] = (float)v;
                }
            }
        }
        double loss = alpha * t * t * kl / n;
        if (hard) loss += (1 - alpha) * ce / n;
        return loss;
    }
}

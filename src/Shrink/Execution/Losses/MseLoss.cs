using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Execution.Losses;

/// <summary>
/// Mean squared error over all elements — PyTorch's <c>F.mse_loss(prediction, values)</c> (reduction 'mean').
/// Gradient: 2·(prediction − values) / count.
/// </summary>
public sealed class MseLoss : Loss
{
    public override string Name => "mse";

    public override double Compute(Tensor prediction, Targets targets, Tensor? gradient)
    {
        var values = targets.Values ?? throw new ArgumentException("mse loss needs regression targets (Targets.Values is null).", nameof(targets));
        if (values.Shape != prediction.Shape)
            throw new ShapeMismatchException($"mse loss: targets have shape {values.Shape}, prediction has {prediction.Shape}.");
        CheckGradient(prediction, gradient);
        int count = prediction.Length;
        if (count == 0) throw new ShapeMismatchException($"mse loss: prediction {prediction.Shape} is empty.");
        var p = prediction.Span;
        var y = values.Span;
        double sum = 0;
        for (int i = 0; i < count; i++)
        {
            double d = (double)p[i] - y[i];
            sum += d * d;
        }
        if (gradient is not null)
        {
            var g = gradient.Span;
            TensorPrimitives.Subtract(p, y, g);
            TensorPrimitives.Multiply(g, (float)(2.0 / count), g);
        }
        return sum / count;
    }
}

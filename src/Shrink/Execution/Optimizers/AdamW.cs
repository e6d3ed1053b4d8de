using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Execution.Optimizers;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov &amp; Hutter), as torch.optim.AdamW in PyTorch 1.13:
/// p ·= 1 − lr·wd; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε),
/// with t the parameter's own step count. Bias corrections are computed in double, element-wise work in float32.
/// </summary>
public sealed class AdamW : Optimizer
{
    private const string ExpAvg = "exp_avg";
    private const string ExpAvgSq = "exp_avg_sq";

    public AdamW(IEnumerable<Parameter> parameters, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(parameters)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "AdamW beta1 must be in [0, 1).");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "AdamW beta2 must be in [0, 1).");
        if (!(eps >= 0) || double.IsInfinity(eps)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "AdamW eps must be finite and non-negative.");
        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "AdamW weight decay must be finite and non-negative.");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    public override string Name => "AdamW";

    protected override bool IsKnownBuffer(string name) => name is ExpAvg or ExpAvgSq;

    protected override void Update(Parameter parameter, Tensor grad, ParameterState state, float lr)
    {
        var p = parameter.Data.Span;
        var g = grad.Span;
        var shape = parameter.Data.Shape;
        var m = Buffer(state, ExpAvg, shape, out _).Span;
        var v = Buffer(state, ExpAvgSq, shape, out _).Span;
        var s = Scratch(p.Length);

        if (WeightDecay != 0) TensorPrimitives.Multiply(p, (float)(1 - (double)lr * WeightDecay), p);

        TensorPrimitives.Multiply(m, (float)Beta1, m);
        TensorPrimitives.MultiplyAdd(g, (float)(1 - Beta1), m, m);
        TensorPrimitives.Multiply(v, (float)Beta2, v);
        TensorPrimitives.Multiply(g, g, s);
        TensorPrimitives.MultiplyAdd(s, (float)(1 - Beta2), v, v);

        double bc1 = 1 - Math.Pow(Beta1, state.Step);
        double bc2 = 1 - Math.Pow(Beta2, state.Step);
        double stepSize = lr / bc1;

        TensorPrimitives.Sqrt(v, s);
        TensorPrimitives.Divide(s, (float)Math.Sqrt(bc2), s);
        TensorPrimitives.Add(s, (float)Eps, s);
        TensorPrimitives.Divide(m, s, s);
        TensorPrimitives.MultiplyAdd(s, (float)-stepSize, p, p);
    }
}

using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Execution.Optimizers;

/// <summary>
/// Stochastic gradient descent with PyTorch's exact semantics (torch.optim.SGD): d = g + wd·p; with momentum
/// buf = d on the first step, else buf = μ·buf + (1−dampening)·d; then d = d + μ·buf (Nesterov) or d = buf;
/// finally p −= lr·d. The gradient is not modified.
/// </summary>
public sealed class Sgd : Optimizer
{
    private const string MomentumBuffer = "momentum_buffer";

    public Sgd(IEnumerable<Parameter> parameters, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters)
    {
        if (!(momentum >= 0) || double.IsInfinity(momentum))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "SGD momentum must be finite and non-negative.");
        if (!double.IsFinite(dampening))
            throw new ArgumentOutOfRangeException(nameof(dampening), dampening, "SGD dampening must be finite.");
        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "SGD weight decay must be finite and non-negative.");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a positive momentum and zero dampening.", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    public double Momentum { get; }
    public double Dampening { get; }
    public double WeightDecay { get; }
    public bool Nesterov { get; }

    public override string Name => "Sgd";

    protected override bool IsKnownBuffer(string name) => name == MomentumBuffer;

    protected override void Update(Parameter parameter, Tensor grad, ParameterState state, float lr)
    {
        var p = parameter.Data.Span;
        ReadOnlySpan<float> d = grad.Span;
        if (WeightDecay != 0)
        {
            var s = Scratch(p.Length);
            TensorPrimitives.MultiplyAdd(p, (float)WeightDecay, d, s); // d = g + wd·p
            d = s;
        }
        if (Momentum != 0)
        {
            var buf = Buffer(state, MomentumBuffer, parameter.Data.Shape, out bool created).Span;
            if (created) d.CopyTo(buf);
            else
            {
                TensorPrimitives.Multiply(buf, (float)Momentum, buf);
                TensorPrimitives.MultiplyAdd(d, (float)(1 - Dampening), buf, buf);
            }
            if (Nesterov)
            {
                var s = Scratch(p.Length); // may alias d: element-wise, each element read before written
                TensorPrimitives.MultiplyAdd(buf, (float)Momentum, d, s);
                d = s;
            }
            else d = buf;
        }
        TensorPrimitives.MultiplyAdd(d, -lr, p, p);
    }
}

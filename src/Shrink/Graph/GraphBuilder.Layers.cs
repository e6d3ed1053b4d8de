using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Graph;

// Dense, activation, arithmetic and shape layers. Each returns the output value; name (optional) names the node
// within the current scope, otherwise it is numbered after the op ("sigmoid3").
public sealed partial class GraphBuilder
{
    /// <summary>
    /// PyTorch's Linear: Gemm(transB) with weight [out, in] and bias [out], both U(±1/√in), as parameters
    /// "{name}.weight" and "{name}.bias"; name defaults to "fc1", "fc2"...
    /// </summary>
    public Value Linear(Value x, int outFeatures, bool bias = true, string? name = null)
    {
        if (x.Shape.Rank != 2)
            throw new ShapeMismatchException($"Linear '{name ?? "fc"}' needs input of shape [N, features], got {x.Shape} from '{x.Name}' (Flatten it first).");
        int inFeatures = x.Shape[1];
        if (inFeatures <= 0) throw new ShapeMismatchException($"Linear '{name ?? "fc"}' needs a known feature count, got {x.Shape} from '{x.Name}'.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        string layer = name is null ? NextName("fc") : NextName(name, numbered: false);
        float bound = 1f / MathF.Sqrt(inFeatures);
        var w = new Tensor(new Shape(outFeatures, inFeatures));
        Init.Uniform(w, -bound, bound, Rng);
        var inputs = new List<Value> { x, Parameter(layer, "weight", w) };
        if (bias)
        {
            var b = new Tensor(new Shape(outFeatures));
            Init.Uniform(b, -bound, bound, Rng);
            inputs.Add(Parameter(layer, "bias", b));
        }
        return Graph.AddNode(new Gemm { TransB = true }, inputs, layer).Outputs[0];
    }

    public Value Relu(Value x, string? name = null) => OneOutput(new Relu(), x, name);

    /// <summary>min(max(x, 0), 6) as Clip(0, 6).</summary>
    public Value Relu6(Value x, string? name = null) => OneOutput(new Clip { Min = 0, Max = 6 }, x, name, "relu6");

    public Value LeakyRelu(Value x, float alpha = 0.01f, string? name = null) => OneOutput(new LeakyRelu { Alpha = alpha }, x, name);

    /// <summary>
    /// PyTorch's PReLU(num_parameters = channels): slope initialised to 0.25, shaped [C,1,1] for NCHW input (dimension 1
    /// of rank-4 input) or [C] for [N, C]; channels 1 gives a single shared slope. Parameter "{name}.weight".
    /// </summary>
    public Value PRelu(Value x, int channels, string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        string layer = name is null ? NextName("prelu") : NextName(name, numbered: false);
        var shape = channels == 1 ? new Shape(1)
            : x.Shape.Rank == 2 ? new Shape(channels)
            : new Shape([channels, .. Enumerable.Repeat(1, Math.Max(0, x.Shape.Rank - 2))]);
        var slope = new Tensor(shape);
        slope.Fill(0.25f);
        return Graph.AddNode(new PRelu(), [x, Parameter(layer, "weight", slope)], layer).Outputs[0];
    }

    public Value Sigmoid(Value x, string? name = null) => OneOutput(new Sigmoid(), x, name);
    public Value Silu(Value x, string? name = null) => OneOutput(new Silu(), x, name);
    public Value Tanh(Value x, string? name = null) => OneOutput(new Tanh(), x, name);

    /// <summary>PyTorch's hardsigmoid: HardSigmoid(alpha 1/6, beta 1/2).</summary>
    public Value HardSigmoid(Value x, string? name = null) => OneOutput(new HardSigmoid { Alpha = 1f / 6, Beta = 0.5f }, x, name);

    public Value HardSwish(Value x, string? name = null) => OneOutput(new HardSwish(), x, name);

    public Value Add(Value a, Value b, string? name = null) => ApplyNode(new Add(), name, a, b).Outputs[0];
    public Value Sub(Value a, Value b, string? name = null) => ApplyNode(new Sub(), name, a, b).Outputs[0];
    public Value Mul(Value a, Value b, string? name = null) => ApplyNode(new Mul(), name, a, b).Outputs[0];
    public Value Div(Value a, Value b, string? name = null) => ApplyNode(new Div(), name, a, b).Outputs[0];
    public Value MatMul(Value a, Value b, string? name = null) => ApplyNode(new MatMul(), name, a, b).Outputs[0];

    public Value Concat(int axis, params Value[] xs) => Concat(axis, null, xs);

    public Value Concat(int axis, string? name, params Value[] xs)
    {
        if (xs.Length == 0) throw new ArgumentException("Concat needs at least one input.", nameof(xs));
        return ApplyNode(new Concat { Axis = axis }, name, xs).Outputs[0];
    }

    public Value Flatten(Value x, int axis = 1, string? name = null) => OneOutput(new Flatten { Axis = axis }, x, name);

    public Value Reshape(Value x, params int[] shape) => Reshape(x, null, shape);

    public Value Reshape(Value x, string? name, params int[] shape) => OneOutput(new Reshape { Shape = (int[])shape.Clone() }, x, name);

    public Value Transpose(Value x, params int[] perm) => Transpose(x, null, perm);

    /// <summary>Permutes dimensions; an empty <paramref name="perm"/> reverses them (ONNX's default).</summary>
    public Value Transpose(Value x, string? name, params int[] perm) =>
        OneOutput(new Transpose { Perm = perm.Length == 0 ? null : (int[])perm.Clone() }, x, name);

    public Value Dropout(Value x, float p = 0.5f, string? name = null)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        return OneOutput(new Dropout { Ratio = p }, x, name);
    }

    public Value Softmax(Value x, int axis = -1, string? name = null) => OneOutput(new Softmax { Axis = axis }, x, name);

    public Value Identity(Value x, string? name = null) => OneOutput(new Identity(), x, name);

    /// <summary>Adds a one-output node named <paramref name="name"/>, or numbered after <paramref name="baseName"/> (default: the op type).</summary>
    private Value OneOutput(Operator op, Value x, string? name, string? baseName = null) =>
        name is null && baseName is not null ? Graph.AddNode(op, [x], NextName(baseName)).Outputs[0] : ApplyNode(op, name, x).Outputs[0];
}

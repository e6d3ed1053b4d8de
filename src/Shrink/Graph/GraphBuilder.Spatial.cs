using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Graph;

/// <summary>Spatial layers: convolution, batch norm, pooling, padding (PyTorch's signatures and initialisations).</summary>
public sealed partial class GraphBuilder
{
    /// <summary>
    /// A square-kernel Conv2d. Weight [out, in/groups, k, k] and bias [out] are drawn like PyTorch's defaults,
    /// U(±1/√fanIn) with fanIn = in/groups·k·k (kaiming-uniform with a = √5). Named "{layer}.weight", "{layer}.bias".
    /// </summary>
    public Value Conv2d(Value x, int outChannels, int kernel, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true, string? name = null) =>
        Conv2d(x, outChannels, (kernel, kernel), stride, (padding, padding), dilation, groups, bias, name);

    /// <summary>A Conv2d with a kh×kw kernel and (padH, padW) padding, e.g. the k×1 / 1×k convs of a CP decomposition.</summary>
    public Value Conv2d(Value x, int outChannels, (int H, int W) kernel, int stride = 1, (int H, int W) padding = default,
        int dilation = 1, int groups = 1, bool bias = true, string? name = null)
    {
        RequireChannels(x, "Conv2d");
        int inChannels = x.Shape[1];
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d groups={groups} must divide in_channels {inChannels} (input {x.Shape}) and out_channels {outChannels}.", nameof(groups));
        if (outChannels < 1 || kernel.H < 1 || kernel.W < 1)
            throw new ArgumentException($"Conv2d needs out_channels ≥ 1 and a kernel ≥ 1x1, got {outChannels} and {kernel.H}x{kernel.W}.");
        string layer = NextName(name ?? "conv", numbered: name is null);
        int fanIn = inChannels / groups * kernel.H * kernel.W;
        var w = new Tensor(new Shape(outChannels, inChannels / groups, kernel.H, kernel.W));
        Init.KaimingUniformDefault(w, fanIn, Rng);
        var inputs = new List<Value> { x, Parameter(layer, "weight", w) };
        if (bias)
        {
            var b = new Tensor(new Shape(outChannels));
            float bound = 1f / MathF.Sqrt(fanIn);
            Init.Uniform(b, -bound, bound, Rng);
            inputs.Add(Parameter(layer, "bias", b));
        }
        var op = new Conv
        {
            Strides = [stride, stride],
            Pads = [padding.H, padding.W, padding.H, padding.W],
            Dilations = [dilation, dilation],
            Group = groups,
        };
        return Graph.AddNode(op, inputs, layer).Outputs[0];
    }

    /// <summary>
    /// BatchNorm2d: weight 1, bias 0 (trainable), running_mean 0 and running_var 1 (frozen). <paramref name="momentum"/>
    /// is PyTorch's (weight of the new batch); the op stores ONNX's 1 − momentum.
    /// </summary>
    public Value BatchNorm2d(Value x, float eps = 1e-5f, float momentum = 0.1f, string? name = null)
    {
        RequireChannels(x, "BatchNorm2d");
        int c = x.Shape[1];
        string layer = NextName(name ?? "bn", numbered: name is null);
        var weight = new Tensor(new Shape(c));
        weight.Fill(1f);
        var runVar = new Tensor(new Shape(c));
        runVar.Fill(1f);
        var inputs = new[]
        {
            x,
            Parameter(layer, "weight", weight),
            Parameter(layer, "bias", new Tensor(new Shape(c))),
            Parameter(layer, "running_mean", new Tensor(new Shape(c)), trainable: false),
            Parameter(layer, "running_var", runVar, trainable: false),
        };
        return Graph.AddNode(new BatchNormalization { Epsilon = eps, Momentum = 1f - momentum }, inputs, layer).Outputs[0];
    }

    /// <summary>MaxPool2d with a square window; stride defaults to the kernel (PyTorch).</summary>
    public Value MaxPool2d(Value x, int kernel, int? stride = null, int padding = 0, bool ceilMode = false)
    {
        int s = stride ?? kernel;
        return Apply(new MaxPool
        {
            KernelShape = [kernel, kernel],
            Strides = [s, s],
            Pads = [padding, padding, padding, padding],
            CeilMode = ceilMode,
        }, x);
    }

    /// <summary>AvgPool2d with a square window; stride defaults to the kernel, padding counts by default (PyTorch).</summary>
    public Value AvgPool2d(Value x, int kernel, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
    {
        int s = stride ?? kernel;
        return Apply(new AveragePool
        {
            KernelShape = [kernel, kernel],
            Strides = [s, s],
            Pads = [padding, padding, padding, padding],
            CeilMode = ceilMode,
            CountIncludePad = countIncludePad,
        }, x);
    }

    /// <summary>Mean over the spatial positions: [N, C, H, W] → [N, C, 1, 1].</summary>
    public Value GlobalAvgPool(Value x) => Apply(new GlobalAveragePool(), x);

    /// <summary>Max over the spatial positions: [N, C, H, W] → [N, C, 1, 1].</summary>
    public Value GlobalMaxPool(Value x) => Apply(new Ops.GlobalMaxPool(), x);

    /// <summary>Constant padding of the last two axes of an NCHW value.</summary>
    public Value Pad2d(Value x, int top, int left, int bottom, int right, float value = 0)
    {
        if (x.Shape.Rank != 4) throw new ShapeMismatchException($"Pad2d expects an NCHW input, got {x.Shape}.");
        return Apply(new Pad { Pads = [0, 0, top, left, 0, 0, bottom, right], Value = value }, x);
    }

    private static void RequireChannels(Value x, string layer)
    {
        if (x.Shape.Rank < 2 || x.Shape[1] == Shape.Dynamic)
            throw new ShapeMismatchException($"{layer} needs an input with a known channel dimension, got '{x.Name}' {x.Shape}.");
    }
}

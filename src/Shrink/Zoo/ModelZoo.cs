using Shrink.Graph;
using Shrink.Profiling;
using Shrink.Tensors;

namespace Shrink.Zoo;

/// <summary>What a zoo architecture is built for: input channels and size, and the number of classes.</summary>
public sealed record ZooInput(int Channels = 1, int Height = 28, int Width = 28, int Classes = 10)
{
    public Shape Shape => new(Shape.Dynamic, Channels, Height, Width);

    public override string ToString() => $"{Channels}x{Height}x{Width}, {Classes} classes";
}

/// <summary>One architecture of the zoo: its name, a line of description, and how to build it from an input and a seed.</summary>
public sealed record ZooArchitecture(string Name, string Description, Func<ZooInput, int, Graph.Graph> Build);

/// <summary>
/// A row of <c>shrink zoo list</c> at an input: <paramref name="Parameters"/> counts every stored tensor as the profiler
/// does (batch-norm running statistics included); <paramref name="TrainableParameters"/> is PyTorch's
/// <c>sum(p.numel() for p in model.parameters())</c>; <paramref name="Macs"/> are per sample (conv and dense layers).
/// </summary>
public sealed record ZooDescription(string Name, string Description, ZooInput Input, long Parameters, long TrainableParameters, long Macs);

/// <summary>
/// The ready architectures, by lower-case name (looked up case-insensitively). Each builds a freshly initialised graph
/// for any input channels, size and class count; inputs below <see cref="SmallInput"/> pixels high get the CIFAR-style
/// stems described on each family. Parameter names follow the PyTorch reference implementations (tools/zoo_torch.py
/// builds the same networks; the tests check that parameter and MAC counts agree).
/// </summary>
public static class ModelZoo
{
    /// <summary>Inputs lower than this (e.g. 28×28, 32×32) get the CIFAR-style stems; 64×64 and up the ImageNet ones.</summary>
    public const int SmallInput = 64;

    // Register may run while other threads look models up (parallel candidate evaluation): every access takes the lock.
    private static readonly Lock Sync = new();
    private static readonly List<ZooArchitecture> Ordered = [];
    private static readonly Dictionary<string, ZooArchitecture> Registry = new(StringComparer.OrdinalIgnoreCase);

    static ModelZoo()
    {
        Register(new("lenet5", "LeNet-5: two 5x5 convs with max pooling, three dense layers", LeNet5.Build));
        Register(new("mlp", "Multi-layer perceptron: 512-256 hidden units with dropout", Mlp.Build));
        Register(new("vgg11", "VGG-11 with batch norm, global-pool classifier", (i, s) => Vgg.Build("vgg11", Vgg.Vgg11, i, s)));
        Register(new("vgg16", "VGG-16 with batch norm, global-pool classifier", (i, s) => Vgg.Build("vgg16", Vgg.Vgg16, i, s)));
        Register(new("vgg19", "VGG-19 with batch norm, global-pool classifier", (i, s) => Vgg.Build("vgg19", Vgg.Vgg19, i, s)));
        Register(new("resnet18", "ResNet-18: basic blocks 2-2-2-2, widths 64-512", ResNet.ResNet18));
        Register(new("resnet20", "ResNet-20 (He et al. CIFAR): 3x3 basic blocks, widths 16-32-64", ResNet.ResNet20));
        Register(new("resnet50", "ResNet-50: bottlenecks 3-4-6-3, widths 256-2048", ResNet.ResNet50));
        Register(new("resnet56", "ResNet-56 (He et al. CIFAR): 3x9 basic blocks, widths 16-32-64", ResNet.ResNet56));
        Register(new("mobilenet_v1", "MobileNet v1: 13 depthwise-separable blocks, width 1.0", MobileNet.V1), "mobilenetv1");
        Register(new("mobilenet_v2", "MobileNet v2: inverted residuals with ReLU6, width 1.0", MobileNet.V2), "mobilenetv2");
        Register(new("shufflenet_v2", "ShuffleNet v2 1.0x: channel split and shuffle units 4-8-4", ShuffleNet.V2));
        Register(new("densenet121", "DenseNet-121: growth 32, dense blocks 6-12-24-16", DenseNet.DenseNet121));
        Register(new("densenet_cifar", "DenseNet-121 layout with growth 12 (kuangliu's densenet_cifar)", DenseNet.DenseNetCifar));
        Register(new("googlenet", "GoogLeNet (CIFAR version): inception modules 3a-5b with batch norm", GoogLeNet.Build));
    }

    /// <summary>Every architecture, in the order of the zoo listing (aliases not repeated).</summary>
    public static IReadOnlyList<ZooArchitecture> Architectures
    {
        get { lock (Sync) return [.. Ordered]; }
    }

    /// <summary>Canonical names and aliases.</summary>
    public static IEnumerable<string> Names
    {
        get { lock (Sync) return [.. Registry.Keys]; }
    }

    /// <summary>Adds (or replaces, in place) an architecture, reachable by its name and any <paramref name="aliases"/>. Thread-safe.</summary>
    public static void Register(ZooArchitecture architecture, params string[] aliases)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        lock (Sync)
        {
            int at = Registry.TryGetValue(architecture.Name, out var old) ? Ordered.IndexOf(old) : -1;
            if (at >= 0) Ordered[at] = architecture; // a replacement keeps its place in the listing
            else Ordered.Add(architecture);
            Registry[architecture.Name] = architecture;
            foreach (var alias in aliases) Registry[alias] = architecture;
        }
    }

    public static bool Contains(string name)
    {
        lock (Sync) return Registry.ContainsKey(name);
    }

    /// <summary>The architecture called <paramref name="name"/> (or an alias); a <see cref="ShrinkException"/> listing the zoo otherwise.</summary>
    public static ZooArchitecture Get(string name)
    {
        lock (Sync)
            return Registry.TryGetValue(name, out var arch) ? arch
                : throw new ShrinkException($"'{name}' is not a zoo model or an .onnx file; the zoo has: {string.Join(", ", Ordered.Select(a => a.Name))}.");
    }

    /// <summary>A freshly initialised (untrained) model; throws a <see cref="ShrinkException"/> listing the zoo for an unknown name.</summary>
    public static Graph.Graph Create(string name, ZooInput? input = null, int seed = 0)
    {
        var arch = Get(name);
        input ??= new ZooInput();
        if (input.Channels < 1 || input.Height < 1 || input.Width < 1 || input.Classes < 1)
            throw new ShrinkException($"Zoo model '{arch.Name}' needs positive channels, size and classes, got {input}.");
        try
        {
            return arch.Build(input, seed);
        }
        catch (ShapeMismatchException e)
        {
            throw new ShrinkException($"Zoo model '{arch.Name}' cannot be built for input {input}: {e.Message}", e);
        }
    }

    /// <summary>Parameters and MACs per sample of every architecture at <paramref name="input"/> (default 1×28×28, 10 classes).</summary>
    public static IReadOnlyList<ZooDescription> Describe(ZooInput? input = null)
    {
        input ??= new ZooInput();
        return Architectures.Select(a => Describe(a.Name, input)).ToList();
    }

    /// <summary>One architecture's row of <see cref="Describe(ZooInput?)"/>.</summary>
    public static ZooDescription Describe(string name, ZooInput? input = null)
    {
        input ??= new ZooInput();
        var arch = Get(name);
        var graph = Create(name, input);
        var profile = Profiler.Profile(graph, batchSize: 1);
        long trainable = graph.TrainableParameters.Sum(p => (long)p.Data.Length);
        return new ZooDescription(arch.Name, arch.Description, input, graph.ParameterCount, trainable, profile.MacsPerSample);
    }
}

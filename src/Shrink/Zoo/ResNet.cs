using Shrink.Graph;

namespace Shrink.Zoo;

/// <summary>
/// Residual networks (He et al. 2016) with torchvision's parameter names ("layer1.0.conv1.weight",
/// "layer2.0.downsample.0.weight", "fc.weight").
/// <list type="bullet">
/// <item>ResNet-18 (basic blocks 2-2-2-2) and ResNet-50 (bottlenecks 3-4-6-3, stride on the 3×3 conv as torchvision's
/// v1.5), widths 64-128-256-512. Inputs of 64×64 and more get the ImageNet stem (7×7 stride-2 conv, 3×3 stride-2 max
/// pool); smaller ones a 3×3 stride-1 conv and no max pool (kuangliu/pytorch-cifar).</item>
/// <item>ResNet-20 and ResNet-56: He et al.'s CIFAR networks, 3×3 stem and three stages of 3 or 9 basic blocks with
/// 16-32-64 channels, for any input size; shape-changing shortcuts are option B (1×1 conv + BN projections).</item>
/// </list>
/// Initialisation: PyTorch's defaults, except that the last BN of every residual branch starts with gamma = 0 (Goyal
/// et al. 2017, torchvision's zero_init_residual), so that each block starts as the identity; training from scratch
/// is steadier. Parameter and MAC counts are unaffected.
/// </summary>
public static class ResNet
{
    public static Graph.Graph ResNet18(ZooInput input, int seed) =>
        Build("resnet18", input, seed, bottleneck: false, [2, 2, 2, 2], [64, 128, 256, 512], cifarStem: input.Height < ModelZoo.SmallInput);

    public static Graph.Graph ResNet50(ZooInput input, int seed) =>
        Build("resnet50", input, seed, bottleneck: true, [3, 4, 6, 3], [64, 128, 256, 512], cifarStem: input.Height < ModelZoo.SmallInput);

    public static Graph.Graph ResNet20(ZooInput input, int seed) => Build("resnet20", input, seed, bottleneck: false, [3, 3, 3], [16, 32, 64], cifarStem: true);

    public static Graph.Graph ResNet56(ZooInput input, int seed) => Build("resnet56", input, seed, bottleneck: false, [9, 9, 9], [16, 32, 64], cifarStem: true);

    /// <summary>A ResNet with <paramref name="blocks"/>[i] blocks of width <paramref name="widths"/>[i] in stage i (stride 2 from the second stage on).</summary>
    public static Graph.Graph Build(string name, ZooInput input, int seed, bool bottleneck, int[] blocks, int[] widths, bool cifarStem)
    {
        var b = new GraphBuilder(name, seed);
        var x = b.Input(input.Channels, input.Height, input.Width);
        x = cifarStem
            ? b.Conv2d(x, widths[0], 3, stride: 1, padding: 1, bias: false, name: "conv1")
            : b.Conv2d(x, widths[0], 7, stride: 2, padding: 3, bias: false, name: "conv1");
        x = b.Relu(b.BatchNorm2d(x, name: "bn1"));
        if (!cifarStem) x = b.MaxPool2d(x, 3, stride: 2, padding: 1);
        for (int stage = 0; stage < blocks.Length; stage++)
            for (int i = 0; i < blocks[stage]; i++)
                using (b.Scope($"layer{stage + 1}.{i}"))
                {
                    int stride = stage > 0 && i == 0 ? 2 : 1;
                    x = bottleneck ? Bottleneck(b, x, widths[stage], stride) : BasicBlock(b, x, widths[stage], stride);
                }
        x = b.Flatten(b.GlobalAvgPool(x));
        return b.Build(b.Linear(x, input.Classes, name: "fc"));
    }

    /// <summary>conv3×3-BN-ReLU-conv3×3-BN plus the shortcut, then ReLU.</summary>
    public static Value BasicBlock(GraphBuilder b, Value x, int planes, int stride)
    {
        var y = b.Relu(b.BatchNorm2d(b.Conv2d(x, planes, 3, stride, padding: 1, bias: false, name: "conv1"), name: "bn1"));
        y = ZeroGamma(b.BatchNorm2d(b.Conv2d(y, planes, 3, padding: 1, bias: false, name: "conv2"), name: "bn2"));
        return b.Relu(b.Add(y, Shortcut(b, x, planes, stride)));
    }

    /// <summary>conv1×1-BN-ReLU-conv3×3(stride)-BN-ReLU-conv1×1(4·planes)-BN plus the shortcut, then ReLU.</summary>
    public static Value Bottleneck(GraphBuilder b, Value x, int planes, int stride)
    {
        var y = b.Relu(b.BatchNorm2d(b.Conv2d(x, planes, 1, bias: false, name: "conv1"), name: "bn1"));
        y = b.Relu(b.BatchNorm2d(b.Conv2d(y, planes, 3, stride, padding: 1, bias: false, name: "conv2"), name: "bn2"));
        y = ZeroGamma(b.BatchNorm2d(b.Conv2d(y, planes * 4, 1, bias: false, name: "conv3"), name: "bn3"));
        return b.Relu(b.Add(y, Shortcut(b, x, planes * 4, stride)));
    }

    /// <summary>The identity, or a 1×1 conv + BN projection ("downsample.0", "downsample.1") when the shape changes.</summary>
    private static Value Shortcut(GraphBuilder b, Value x, int outChannels, int stride)
    {
        if (stride == 1 && x.Shape[1] == outChannels) return x;
        using (b.Scope("downsample"))
            return b.BatchNorm2d(b.Conv2d(x, outChannels, 1, stride, bias: false, name: "0"), name: "1");
    }

    /// <summary>Sets the scale (gamma) of the batch norm that produced <paramref name="bnOutput"/> to zero.</summary>
    internal static Value ZeroGamma(Value bnOutput)
    {
        bnOutput.Producer!.Inputs[1].Parameter!.Data.Clear();
        return bnOutput;
    }
}

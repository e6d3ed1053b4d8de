using Shrink.Graph;

namespace Shrink.Zoo;

/// <summary>
/// DenseNet (Huang et al. 2017), BC variant as torchvision's: each dense layer is BN-ReLU-1×1 conv (bnSize·growth)-
/// BN-ReLU-3×3 conv (growth) whose output is concatenated to its input; transitions halve the channels (BN-ReLU-1×1
/// conv) and the map (2×2 average pool). Names as torchvision ("features.denseblock1.denselayer1.conv1.weight",
/// "features.transition1.conv.weight", "features.norm5.weight", "classifier.weight").
/// Inputs of 64×64 and more get the ImageNet stem (conv0 7×7 stride 2 to 2·growth, norm0, ReLU, 3×3 stride-2 max
/// pool); smaller ones a 3×3 stride-1 conv0 straight into the first block (kuangliu/pytorch-cifar).
/// </summary>
public static class DenseNet
{
    public static Graph.Graph DenseNet121(ZooInput input, int seed) => Build("densenet121", input, seed, growthRate: 32, blockConfig: [6, 12, 24, 16]);

    /// <summary>kuangliu's densenet_cifar: DenseNet-121's depth with growth rate 12 (about 1 M parameters).</summary>
    public static Graph.Graph DenseNetCifar(ZooInput input, int seed) => Build("densenet_cifar", input, seed, growthRate: 12, blockConfig: [6, 12, 24, 16]);

    /// <summary>A DenseNet with the given growth rate and number of layers per dense block (first stem width 2·growth).</summary>
    public static Graph.Graph Build(string name, ZooInput input, int seed, int growthRate, int[] blockConfig, int bnSize = 4)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(growthRate);
        if (blockConfig.Length == 0 || blockConfig.Any(n => n < 1))
            throw new ArgumentException($"DenseNet block config must list at least one block of at least one layer, got [{string.Join(", ", blockConfig)}].", nameof(blockConfig));
        var b = new GraphBuilder(name, seed);
        var x = b.Input(input.Channels, input.Height, input.Width);
        using (b.Scope("features"))
        {
            if (input.Height < ModelZoo.SmallInput)
                x = b.Conv2d(x, 2 * growthRate, 3, padding: 1, bias: false, name: "conv0");
            else
            {
                x = b.Relu(b.BatchNorm2d(b.Conv2d(x, 2 * growthRate, 7, stride: 2, padding: 3, bias: false, name: "conv0"), name: "norm0"), name: "relu0");
                x = b.MaxPool2d(x, 3, stride: 2, padding: 1);
            }
            for (int block = 0; block < blockConfig.Length; block++)
            {
                for (int layer = 0; layer < blockConfig[block]; layer++)
                    using (b.Scope($"denseblock{block + 1}.denselayer{layer + 1}"))
                        x = DenseLayer(b, x, growthRate, bnSize);
                if (block < blockConfig.Length - 1)
                    using (b.Scope($"transition{block + 1}"))
                        x = Transition(b, x, x.Shape[1] / 2);
            }
            x = b.Relu(b.BatchNorm2d(x, name: "norm5"));
        }
        x = b.Flatten(b.GlobalAvgPool(x));
        return b.Build(b.Linear(x, input.Classes, name: "classifier"));
    }

    /// <summary>x ++ conv3×3(ReLU(BN(conv1×1(ReLU(BN(x)))))), growing x by <paramref name="growthRate"/> channels.</summary>
    public static Value DenseLayer(GraphBuilder b, Value x, int growthRate, int bnSize)
    {
        var y = b.Conv2d(b.Relu(b.BatchNorm2d(x, name: "norm1")), bnSize * growthRate, 1, bias: false, name: "conv1");
        y = b.Conv2d(b.Relu(b.BatchNorm2d(y, name: "norm2")), growthRate, 3, padding: 1, bias: false, name: "conv2");
        return b.Concat(1, x, y);
    }

    /// <summary>BN-ReLU-1×1 conv to <paramref name="outChannels"/>, then 2×2 average pool.</summary>
    public static Value Transition(GraphBuilder b, Value x, int outChannels) =>
        b.AvgPool2d(b.Conv2d(b.Relu(b.BatchNorm2d(x, name: "norm")), outChannels, 1, bias: false, name: "conv"), 2);
}

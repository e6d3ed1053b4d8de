using Shrink.Graph;

namespace Shrink.Zoo;

/// <summary>
/// GoogLeNet (Szegedy et al. 2015) as kuangliu/pytorch-cifar's CIFAR version: a 3×3 conv to 192 channels (+BN, ReLU),
/// inception modules 3a-3b, max pool, 4a-4e, max pool, 5a-5b (all with BN), global average pool, linear.
/// Names as kuangliu's ("pre_layers.0.weight", "a3.b2.3.weight", "linear.weight"). Inputs of 64×64 and more first
/// go through a 7×7 stride-2 conv to 64 channels (+BN, ReLU) and a 3×3 stride-2 max pool ("pre_layers.0" to ".3"), so
/// that the inception stages see a CIFAR-sized map.
/// </summary>
public static class GoogLeNet
{
    /// <summary>Inception modules (name, 1×1, 3×3 reduce, 3×3, 5×5 reduce, "5×5" (two 3×3s), pool projection); null is a max pool.</summary>
    private static readonly (string Name, int N1, int N3Red, int N3, int N5Red, int N5, int Pool)?[] Modules =
    [
        ("a3", 64, 96, 128, 16, 32, 32), ("b3", 128, 128, 192, 32, 96, 64), null,
        ("a4", 192, 96, 208, 16, 48, 64), ("b4", 160, 112, 224, 24, 64, 64), ("c4", 128, 128, 256, 24, 64, 64),
        ("d4", 112, 144, 288, 32, 64, 64), ("e4", 256, 160, 320, 32, 128, 128), null,
        ("a5", 256, 160, 320, 32, 128, 128), ("b5", 384, 192, 384, 48, 128, 128),
    ];

    public static Graph.Graph Build(ZooInput input, int seed)
    {
        var b = new GraphBuilder("googlenet", seed);
        var x = b.Input(input.Channels, input.Height, input.Width);
        using (b.Scope("pre_layers"))
        {
            int i = 0;
            if (input.Height >= ModelZoo.SmallInput)
            {
                x = b.Relu(b.BatchNorm2d(b.Conv2d(x, 64, 7, stride: 2, padding: 3, name: "0"), name: "1"), name: "2");
                x = b.MaxPool2d(x, 3, stride: 2, padding: 1);
                i = 4;
            }
            x = b.Relu(b.BatchNorm2d(b.Conv2d(x, 192, 3, padding: 1, name: $"{i}"), name: $"{i + 1}"), name: $"{i + 2}");
        }
        foreach (var m in Modules)
        {
            if (m is not { } s) x = b.MaxPool2d(x, 3, stride: 2, padding: 1);
            else
                using (b.Scope(s.Name))
                    x = Inception(b, x, s.N1, s.N3Red, s.N3, s.N5Red, s.N5, s.Pool);
        }
        x = b.Flatten(b.GlobalAvgPool(x));
        return b.Build(b.Linear(x, input.Classes, name: "linear"));
    }

    /// <summary>
    /// Four branches concatenated: b1 1×1; b2 1×1 → 3×3; b3 1×1 → 3×3 → 3×3; b4 3×3 max pool (stride 1) → 1×1.
    /// Every conv has a bias and is followed by BN and ReLU (Sequential indices conv j, BN j+1, ReLU j+2).
    /// </summary>
    public static Value Inception(GraphBuilder b, Value x, int n1, int n3Red, int n3, int n5Red, int n5, int pool)
    {
        Value b1, b2, b3, b4;
        using (b.Scope("b1"))
            b1 = ConvBnRelu(b, x, n1, 1, 0);
        using (b.Scope("b2"))
            b2 = ConvBnRelu(b, ConvBnRelu(b, x, n3Red, 1, 0), n3, 3, 3);
        using (b.Scope("b3"))
            b3 = ConvBnRelu(b, ConvBnRelu(b, ConvBnRelu(b, x, n5Red, 1, 0), n5, 3, 3), n5, 3, 6);
        using (b.Scope("b4"))
            b4 = ConvBnRelu(b, b.MaxPool2d(x, 3, stride: 1, padding: 1), pool, 1, 1);
        return b.Concat(1, b1, b2, b3, b4);
    }

    private static Value ConvBnRelu(GraphBuilder b, Value x, int outChannels, int kernel, int index) =>
        b.Relu(b.BatchNorm2d(b.Conv2d(x, outChannels, kernel, padding: kernel / 2, name: $"{index}"), name: $"{index + 1}"), name: $"{index + 2}");
}

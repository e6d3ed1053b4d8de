using Shrink.Graph;

namespace Shrink.Zoo;

/// <summary>
/// VGG-11/16/19 with batch norm (Simonyan and Zisserman 2015; the CIFAR variant of kuangliu/pytorch-cifar): stages of
/// 3×3 conv + BN + ReLU separated by 2×2 max pools, then global average pool and Linear(512, classes).
/// <para>Pooling rule: a max pool is skipped when the map is already smaller than 2×2, since it would shrink it below
/// 1×1. 32×32 inputs keep all five pools (32-16-8-4-2-1); 28×28 inputs skip the fifth (28-14-7-3-1).</para>
/// Parameter names follow PyTorch's Sequential indices: "features.0.weight" (conv), "features.1.weight" (BN), ...,
/// "classifier.weight"; skipped pools take no index.
/// </summary>
public static class Vgg
{
    /// <summary>Convolution widths, with 0 for a max pool.</summary>
    public static readonly int[] Vgg11 = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];
    public static readonly int[] Vgg16 = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];
    public static readonly int[] Vgg19 = [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0];

    public static Graph.Graph Build(string name, int[] config, ZooInput input, int seed)
    {
        var b = new GraphBuilder(name, seed);
        var x = b.Input(input.Channels, input.Height, input.Width);
        using (b.Scope("features"))
        {
            int index = 0;
            foreach (int width in config)
            {
                if (width == 0)
                {
                    if (x.Shape[2] < 2 || x.Shape[3] < 2) continue;
                    x = b.MaxPool2d(x, 2);
                    index++;
                    continue;
                }
                x = b.Conv2d(x, width, 3, padding: 1, name: $"{index}");
                x = b.BatchNorm2d(x, name: $"{index + 1}");
                x = b.Relu(x, name: $"{index + 2}");
                index += 3;
            }
        }
        x = b.Flatten(b.GlobalAvgPool(x));
        return b.Build(b.Linear(x, input.Classes, name: "classifier"));
    }
}

using Shrink.Graph;

namespace Shrink.Zoo;

/// <summary>
/// MobileNet v1 (Howard et al. 2017) and v2 (Sandler et al. 2018), width 1.0. Small inputs (below 64×64) keep the
/// resolution longer, as kuangliu/pytorch-cifar does: v1's stem conv has stride 1; v2's stem conv and its 24-channel
/// stage have stride 1.
/// </summary>
public static class MobileNet
{
    /// <summary>v1's depthwise-separable blocks: (output channels, stride).</summary>
    private static readonly (int Out, int Stride)[] V1Blocks =
        [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)];

    /// <summary>v2's stages: expansion t, channels c, repeats n, stride s (the paper's table 2).</summary>
    private static readonly (int T, int C, int N, int S)[] V2Stages =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    /// <summary>
    /// MobileNet v1 with kuangliu's names: conv1/bn1, "layers.{i}.conv1" (depthwise 3×3) / bn1 / conv2 (pointwise) /
    /// bn2, global average pool, "linear".
    /// </summary>
    public static Graph.Graph V1(ZooInput input, int seed)
    {
        var b = new GraphBuilder("mobilenet_v1", seed);
        var x = b.Input(input.Channels, input.Height, input.Width);
        bool small = input.Height < ModelZoo.SmallInput;
        x = b.Relu(b.BatchNorm2d(b.Conv2d(x, 32, 3, stride: small ? 1 : 2, padding: 1, bias: false, name: "conv1"), name: "bn1"));
        for (int i = 0; i < V1Blocks.Length; i++)
            using (b.Scope($"layers.{i}"))
            {
                int c = x.Shape[1];
                x = b.Relu(b.BatchNorm2d(b.Conv2d(x, c, 3, V1Blocks[i].Stride, padding: 1, groups: c, bias: false, name: "conv1"), name: "bn1"));
                x = b.Relu(b.BatchNorm2d(b.Conv2d(x, V1Blocks[i].Out, 1, bias: false, name: "conv2"), name: "bn2"));
            }
        x = b.Flatten(b.GlobalAvgPool(x));
        return b.Build(b.Linear(x, input.Classes, name: "linear"));
    }

    /// <summary>
    /// MobileNet v2 with torchvision's names ("features.0.0.weight", "features.1.conv.0.0.weight", "classifier.1.weight"):
    /// ReLU6, residual connection when stride is 1 and the width is kept, 1280-channel head, dropout 0.2.
    /// </summary>
    public static Graph.Graph V2(ZooInput input, int seed)
    {
        var b = new GraphBuilder("mobilenet_v2", seed);
        var x = b.Input(input.Channels, input.Height, input.Width);
        bool small = input.Height < ModelZoo.SmallInput;
        int index = 0;
        using (b.Scope("features"))
        {
            x = ConvBnRelu6(b, x, 32, 3, small ? 1 : 2, groups: 1, $"{index++}");
            for (int stage = 0; stage < V2Stages.Length; stage++)
            {
                var (t, c, n, s) = V2Stages[stage];
                if (small && stage == 1) s = 1;
                for (int i = 0; i < n; i++)
                    using (b.Scope($"{index++}"))
                        x = InvertedResidual(b, x, c, i == 0 ? s : 1, t);
            }
            x = ConvBnRelu6(b, x, 1280, 1, 1, groups: 1, $"{index}");
        }
        x = b.Dropout(b.Flatten(b.GlobalAvgPool(x)), 0.2f);
        using (b.Scope("classifier"))
            return b.Build(b.Linear(x, input.Classes, name: "1"));
    }

    /// <summary>
    /// [1×1 expand + BN + ReLU6] (when t ≠ 1) → 3×3 depthwise + BN + ReLU6 → 1×1 linear projection + BN, plus x when
    /// the stride is 1 and the width is kept. Names "conv.{j}" as torchvision's Sequential.
    /// </summary>
    public static Value InvertedResidual(GraphBuilder b, Value x, int outChannels, int stride, int expansion)
    {
        int inChannels = x.Shape[1], hidden = inChannels * expansion, j = 0;
        Value y = x;
        using (b.Scope("conv"))
        {
            if (expansion != 1) y = ConvBnRelu6(b, y, hidden, 1, 1, groups: 1, $"{j++}");
            y = ConvBnRelu6(b, y, hidden, 3, stride, groups: hidden, $"{j++}");
            y = b.Conv2d(y, outChannels, 1, bias: false, name: $"{j++}");
            y = b.BatchNorm2d(y, name: $"{j}");
        }
        return stride == 1 && inChannels == outChannels ? b.Add(x, y) : y;
    }

    /// <summary>torchvision's Conv2dNormActivation: "{name}.0" conv (no bias), "{name}.1" BN, ReLU6.</summary>
    private static Value ConvBnRelu6(GraphBuilder b, Value x, int outChannels, int kernel, int stride, int groups, string name)
    {
        using (b.Scope(name))
            return b.Relu6(b.BatchNorm2d(b.Conv2d(x, outChannels, kernel, stride, (kernel - 1) / 2, groups: groups, bias: false, name: "0"), name: "1"));
    }
}

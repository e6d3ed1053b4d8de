using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Zoo;

/// <summary>
/// ShuffleNet v2 1.0× (Ma et al. 2018) with torchvision's names ("stage2.0.branch1.0.weight", "conv5.1.weight",
/// "fc.weight"): stem 24 channels, stages of 4-8-4 units with 116-232-464 channels, 1×1 conv to 1024, global average
/// pool, linear. Small inputs (below 64×64) get a stride-1 stem conv and no max pool (kuangliu/pytorch-cifar).
/// </summary>
public static class ShuffleNet
{
    private static readonly int[] Repeats = [4, 8, 4];
    private static readonly int[] Channels = [24, 116, 232, 464, 1024];

    public static Graph.Graph V2(ZooInput input, int seed) => Build("shufflenet_v2", input, seed, Repeats, Channels);

    /// <summary>
    /// A ShuffleNet v2 with <paramref name="repeats"/>[i] units in stage i + 2 and <paramref name="channels"/> = stem,
    /// the stages' widths (even), and the final 1×1 conv (torchvision's stages_repeats and stages_out_channels).
    /// </summary>
    public static Graph.Graph Build(string name, ZooInput input, int seed, int[] repeats, int[] channels)
    {
        if (channels.Length != repeats.Length + 2 || channels[1..^1].Any(c => c < 2 || c % 2 != 0))
            throw new ArgumentException($"ShuffleNet v2 needs a stem width, an even width per stage and a final width: {repeats.Length + 2} channel counts for {repeats.Length} stages.", nameof(channels));
        var b = new GraphBuilder(name, seed);
        var x = b.Input(input.Channels, input.Height, input.Width);
        bool small = input.Height < ModelZoo.SmallInput;
        using (b.Scope("conv1"))
            x = b.Relu(b.BatchNorm2d(b.Conv2d(x, channels[0], 3, small ? 1 : 2, padding: 1, bias: false, name: "0"), name: "1"));
        if (!small) x = b.MaxPool2d(x, 3, stride: 2, padding: 1);
        for (int stage = 0; stage < repeats.Length; stage++)
            for (int i = 0; i < repeats[stage]; i++)
                using (b.Scope($"stage{stage + 2}.{i}"))
                    x = ShuffleUnit(b, x, channels[stage + 1], i == 0 ? 2 : 1);
        using (b.Scope($"conv{repeats.Length + 2}"))
            x = b.Relu(b.BatchNorm2d(b.Conv2d(x, channels[^1], 1, bias: false, name: "0"), name: "1"));
        x = b.Flatten(b.GlobalAvgPool(x));
        return b.Build(b.Linear(x, input.Classes, name: "fc"));
    }

    /// <summary>
    /// Stride 1: split the channels in two halves, transform the second (branch2), concatenate with the first.
    /// Stride 2: both branches see the whole input and each downsamples (branch1: depthwise 3×3 + BN, 1×1 + BN + ReLU).
    /// Then the two halves are interleaved (channel shuffle with 2 groups).
    /// </summary>
    public static Value ShuffleUnit(GraphBuilder b, Value x, int outChannels, int stride)
    {
        int half = outChannels / 2;
        Value left, right;
        if (stride == 1)
        {
            var parts = b.ApplyNode(new Split { Axis = 1, NumOutputs = 2 }, "split", x).Outputs;
            left = parts[0];
            right = Branch2(b, parts[1], half, stride);
        }
        else
        {
            using (b.Scope("branch1"))
            {
                int c = x.Shape[1];
                left = b.BatchNorm2d(b.Conv2d(x, c, 3, stride, padding: 1, groups: c, bias: false, name: "0"), name: "1");
                left = b.Relu(b.BatchNorm2d(b.Conv2d(left, half, 1, bias: false, name: "2"), name: "3"));
            }
            right = Branch2(b, x, half, stride);
        }
        return ChannelShuffle(b, b.Concat(1, left, right), groups: 2);
    }

    /// <summary>1×1 + BN + ReLU → depthwise 3×3 (stride) + BN → 1×1 + BN + ReLU.</summary>
    private static Value Branch2(GraphBuilder b, Value x, int channels, int stride)
    {
        using (b.Scope("branch2"))
        {
            x = b.Relu(b.BatchNorm2d(b.Conv2d(x, channels, 1, bias: false, name: "0"), name: "1"));
            x = b.BatchNorm2d(b.Conv2d(x, channels, 3, stride, padding: 1, groups: channels, bias: false, name: "3"), name: "4");
            return b.Relu(b.BatchNorm2d(b.Conv2d(x, channels, 1, bias: false, name: "5"), name: "6"));
        }
    }

    /// <summary>[N, g·c, H, W] → [N, g, c, H, W] → swap g and c → [N, c·g, H, W] (the graph is built for one H×W).</summary>
    public static Value ChannelShuffle(GraphBuilder b, Value x, int groups)
    {
        int c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        x = b.Reshape(x, 0, groups, c / groups, h, w);
        x = b.Transpose(x, 0, 2, 1, 3, 4);
        return b.Reshape(x, 0, c, h, w);
    }
}

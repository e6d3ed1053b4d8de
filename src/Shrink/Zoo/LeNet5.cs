using Shrink.Graph;

namespace Shrink.Zoo;

/// <summary>
/// LeNet-5 (LeCun et al. 1998) with ReLU and max pooling: conv 5x5 ×6 → pool → conv 5x5 ×16 → pool → 120 → 84 →
/// classes. 28×28 inputs get padding 2 on the first conv so the feature maps are those of the original 32×32.
/// </summary>
public static class LeNet5
{
    public static Graph.Graph Build(ZooInput input, int seed)
    {
        var b = new GraphBuilder("lenet5", seed);
        var x = b.Input(input.Channels, input.Height, input.Width);
        x = b.MaxPool2d(b.Relu(b.Conv2d(x, 6, kernel: 5, padding: input.Height < 32 ? 2 : 0, name: "conv1")), 2);
        x = b.MaxPool2d(b.Relu(b.Conv2d(x, 16, kernel: 5, name: "conv2")), 2);
        x = b.Flatten(x);
        x = b.Relu(b.Linear(x, 120, name: "fc1"));
        x = b.Relu(b.Linear(x, 84, name: "fc2"));
        return b.Build(b.Linear(x, input.Classes, name: "fc3"));
    }
}

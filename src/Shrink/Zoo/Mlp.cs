using Shrink.Graph;

namespace Shrink.Zoo;

/// <summary>A multi-layer perceptron over the flattened image: 512 → 256 → classes, ReLU and dropout 0.2.</summary>
public static class Mlp
{
    public static Graph.Graph Build(ZooInput input, int seed)
    {
        var b = new GraphBuilder("mlp", seed);
        var x = b.Flatten(b.Input(input.Channels, input.Height, input.Width));
        x = b.Dropout(b.Relu(b.Linear(x, 512, name: "fc1")), 0.2f);
        x = b.Dropout(b.Relu(b.Linear(x, 256, name: "fc2")), 0.2f);
        return b.Build(b.Linear(x, input.Classes, name: "fc3"));
    }
}

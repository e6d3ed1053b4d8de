using Shrink.Execution;
using Shrink.Graph;
using Shrink.Tests.Goldens;
using Shrink.Zoo;

namespace Shrink.Tests.Zoo;

/// <summary>
/// Small instances of every zoo block against PyTorch (tools/zoo_torch.py, tiny_cases): the golden holds PyTorch's
/// state_dict (batch-norm statistics randomised), an input and the eval-mode output. The C# graph is built with the
/// same configuration, every parameter is loaded by name, and the outputs must agree — which checks the wiring
/// (shortcuts, concat order, channel shuffle, strides and paddings), not only the counts.
/// </summary>
public class ZooGoldenTests
{
    private static Shrink.Graph.Graph Block(string name, int c, int h, int w, Func<GraphBuilder, Value, Value> body)
    {
        var b = new GraphBuilder(name);
        return b.Build(body(b, b.Input(c, h, w)));
    }

    private static Shrink.Graph.Graph Build(string name) => name switch
    {
        "lenet5" => ModelZoo.Create("lenet5", new ZooInput(1, 12, 12, 10)),
        "resnet_basic" => ResNet.Build(name, new ZooInput(2, 12, 12, 3), 0, bottleneck: false, [1, 1, 1], [4, 8, 16], cifarStem: true),
        "resnet_bottleneck" => ResNet.Build(name, new ZooInput(2, 20, 20, 3), 0, bottleneck: true, [1, 2], [4, 8], cifarStem: false),
        "shufflenet" => ShuffleNet.Build(name, new ZooInput(2, 16, 16, 3), 0, [1, 2, 1], [8, 16, 32, 64, 24]),
        "densenet" => DenseNet.Build(name, new ZooInput(2, 12, 12, 3), 0, growthRate: 4, blockConfig: [2, 2]),
        "inception" => Block(name, 6, 5, 5, (b, x) => GoogLeNet.Inception(b, x, 4, 3, 5, 2, 3, 3)),
        "inverted_residual" => Block(name, 8, 5, 5, (b, x) => MobileNet.InvertedResidual(b, x, 8, 1, 6)),
        "inverted_residual_s2" => Block(name, 8, 5, 5, (b, x) => MobileNet.InvertedResidual(b, x, 12, 2, 1)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [InlineData("lenet5")]
    [InlineData("resnet_basic")]
    [InlineData("resnet_bottleneck")]
    [InlineData("shufflenet")]
    [InlineData("densenet")]
    [InlineData("inception")]
    [InlineData("inverted_residual")]
    [InlineData("inverted_residual_s2")]
    public void Output_matches_pytorch_with_the_same_weights(string name)
    {
        var golden = Golden.Load($"zoo/{name}");
        var g = Build(name);
        foreach (var p in g.Parameters)
        {
            Assert.True(golden.Has(p.Name), $"{name}: PyTorch has no tensor '{p.Name}'");
            var t = golden.Tensor(p.Name);
            Assert.True(t.Shape == p.Data.Shape, $"{name}: '{p.Name}' is {p.Data.Shape} here, {t.Shape} in PyTorch");
            p.Data.CopyFrom(t);
        }
        using var y = new Executor(g).Run(golden.Tensor("input"));
        // float32 sums in a different order (im2col GEMM vs. PyTorch's kernels) through a few layers.
        Golden.AssertClose(golden.Tensor("output"), y, rtol: 1e-4, atol: 1e-4, what: name);
    }
}

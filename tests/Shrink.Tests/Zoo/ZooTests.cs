using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Shrink.Execution;
using Shrink.Graph;
using Shrink.Profiling;
using Shrink.Tensors;
using Shrink.Zoo;

namespace Shrink.Tests.Zoo;

/// <summary>
/// Every zoo architecture against its PyTorch twin in tools/zoo_torch.py (Goldens/zoo/counts.json): parameter count
/// (trainable, and with batch-norm running statistics), parameter tensor names, conv/linear layer count and MACs per
/// sample, at the default 1×28×28 input, at 3×32×32, and at larger inputs that exercise the ImageNet stems.
/// </summary>
public class ZooTests
{
    public sealed record Row(string Name, int[] Input, int Classes, long Params, long Buffers, long Macs, int Tensors, int Layers, string NamesSha256)
    {
        public ZooInput ZooInput => new(Input[0], Input[1], Input[2], Classes);
        public override string ToString() => $"{Name} {Input[0]}x{Input[1]}x{Input[2]}/{Classes}";
    }

    private static readonly Lazy<Row[]> Rows = new(() =>
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Goldens", "zoo", "counts.json");
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        return JsonSerializer.Deserialize<Row[]>(File.ReadAllText(path), options)!;
    });

    public static IEnumerable<object[]> Cases() => Rows.Value.Select((r, i) => new object[] { i, r.ToString() });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Counts_names_and_macs_match_pytorch(int index, string what)
    {
        var row = Rows.Value[index];
        var g = ModelZoo.Create(row.Name, row.ZooInput);
        g.Verify();
        long trainable = g.TrainableParameters.Sum(p => (long)p.Data.Length);
        Assert.True(row.Params == trainable, $"{what}: {trainable} trainable parameters, PyTorch has {row.Params}");
        Assert.True(row.Params + row.Buffers == g.ParameterCount, $"{what}: {g.ParameterCount} stored values, PyTorch has {row.Params + row.Buffers}");
        long macs = Profiler.Profile(g).MacsPerSample;
        Assert.True(row.Macs == macs, $"{what}: {macs} MACs per sample, PyTorch has {row.Macs}");
        Assert.Equal(row.Layers, g.Nodes.Count(n => n.OpType is "Conv" or "Gemm"));

        var names = g.Parameters.Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(row.Tensors, names.Length);
        string sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', names))));
        Assert.True(row.NamesSha256 == sha, $"{what}: parameter names differ from PyTorch's state_dict keys; ours: {string.Join(", ", names.Take(12))}...");
    }

    /// <summary>Inputs for the inference check: big models at a smaller size to keep the suite quick.</summary>
    public static IEnumerable<object[]> InferenceCases() =>
        ModelZoo.Architectures.Select(a => a.Name switch
        {
            "resnet50" or "densenet121" or "googlenet" => new object[] { a.Name, 3, 16, 16, 7 },
            _ => new object[] { a.Name, 1, 28, 28, 10 },
        });

    [Theory]
    [MemberData(nameof(InferenceCases))]
    public void Batch_of_two_infers_to_finite_logits(string name, int channels, int height, int width, int classes)
    {
        var g = ModelZoo.Create(name, new ZooInput(channels, height, width, classes), seed: 1);
        Assert.Equal(name, g.Name);
        Assert.Single(g.Inputs);
        Assert.Single(g.Outputs);
        Assert.InRange(g.Nodes.Count, 6, 2000);
        Assert.All(g.Nodes, n => Assert.False(string.IsNullOrEmpty(n.Name)));
        Assert.Equal(g.Nodes.Count, g.Nodes.Select(n => n.Name).Distinct().Count());

        var x = new Tensor(new Shape(2, channels, height, width));
        Init.Uniform(x, -1, 1, new Random(5));
        using var y = new Executor(g).Run(x);
        Assert.Equal(new Shape(2, classes), y.Shape);
        Assert.False(y.HasNonFinite(), $"{name}: non-finite logits");
        Assert.True(y.Span.ToArray().Distinct().Count() > 1, $"{name}: constant logits");
    }

    [Theory]
    [InlineData("lenet5")]
    [InlineData("resnet20")]
    [InlineData("mobilenet_v2")]
    [InlineData("shufflenet_v2")]
    [InlineData("densenet_cifar")]
    public void Onnx_round_trip_keeps_outputs_and_names(string name)
    {
        var g = ModelZoo.Create(name, seed: 2);
        var back = Shrink.Tests.Onnx.OnnxTestUtil.RoundTrip(g);
        Shrink.Tests.Onnx.OnnxTestUtil.AssertSameOutputs(g, back, batch: 2);
        Assert.Equal(g.Parameters.Select(p => p.Name).Order(StringComparer.Ordinal), back.Parameters.Select(p => p.Name).Order(StringComparer.Ordinal));
        Shrink.Tests.Onnx.ExportFiles.Write("zoo_" + name, g);
    }

    [Fact]
    public void Names_follow_the_pytorch_module_paths()
    {
        var resnet = ModelZoo.Create("resnet18");
        foreach (var n in new[] { "conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "layer4.1.bn2.bias", "fc.weight" })
            Assert.True(resnet.TryGetValue(n, out var v) && v.Parameter is not null, $"resnet18 has no parameter {n}");
        Assert.NotNull(resnet.FindNode("layer3.1.conv2"));
        var vgg = ModelZoo.Create("vgg11");
        Assert.True(vgg.TryGetValue("features.0.weight", out _) && vgg.TryGetValue("features.1.running_mean", out _) && vgg.TryGetValue("classifier.bias", out _));
    }

    [Fact]
    public void Vgg_skips_the_pool_that_would_shrink_a_28_pixel_map_below_one()
    {
        int Pools(int size) => ModelZoo.Create("vgg11", new ZooInput(1, size, size)).Nodes.Count(n => n.OpType == "MaxPool");
        Assert.Equal(4, Pools(28));
        Assert.Equal(5, Pools(32));
        Assert.Equal(2, Pools(4));
    }

    [Fact]
    public void ResNet_blocks_start_with_a_zero_last_gamma()
    {
        var g = ModelZoo.Create("resnet20");
        Assert.All(g.Parameters.Where(p => p.Name.EndsWith(".bn2.weight", StringComparison.Ordinal)), p => Assert.All(p.Data.ToArray(), v => Assert.Equal(0f, v)));
        Assert.All(g.Parameters.Where(p => p.Name.EndsWith(".bn1.weight", StringComparison.Ordinal)), p => Assert.All(p.Data.ToArray(), v => Assert.Equal(1f, v)));
    }

    [Fact]
    public void Seeds_make_models_reproducible()
    {
        var a = ModelZoo.Create("lenet5", seed: 3).Parameters.First().Data;
        var b = ModelZoo.Create("lenet5", seed: 3).Parameters.First().Data;
        var c = ModelZoo.Create("lenet5", seed: 4).Parameters.First().Data;
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
    }

    [Fact]
    public async Task Registering_while_others_read_the_zoo_is_safe_and_keeps_the_order()
    {
        // Architectures used to be the live list: enumerating it while Register ran threw "collection was modified",
        // and a replacement moved to the end of the listing.
        var order = ModelZoo.Architectures.Select(a => a.Name).ToArray();
        var lenet = ModelZoo.Get("lenet5");
        var writer = Task.Run(() =>
        {
            for (int i = 0; i < 2000; i++) ModelZoo.Register(lenet);
        });
        while (!writer.IsCompleted)
        {
            Assert.Equal(order.Length, ModelZoo.Architectures.Count(a => a.Name.Length > 0));
            Assert.Same(lenet, ModelZoo.Get("LeNet5"));
        }
        await writer;
        Assert.Equal(order, ModelZoo.Architectures.Select(a => a.Name));
    }

    [Fact]
    public void Aliases_and_case_resolve_to_the_same_architecture()
    {
        Assert.True(ModelZoo.Contains("mobilenetv2"));
        Assert.True(ModelZoo.Contains("MobileNet_V1"));
        Assert.Equal("mobilenet_v2", ModelZoo.Create("mobilenetv2").Name);
        Assert.Equal(ModelZoo.Architectures.Count, ModelZoo.Architectures.Select(a => a.Name).Distinct().Count());
        foreach (var name in new[] { "lenet5", "mlp", "vgg11", "vgg16", "vgg19", "resnet18", "resnet20", "resnet50", "resnet56",
                     "mobilenet_v1", "mobilenet_v2", "shufflenet_v2", "densenet121", "googlenet" })
            Assert.True(ModelZoo.Contains(name), name);
    }

    [Fact]
    public void Unknown_name_lists_the_zoo()
    {
        var e = Assert.Throws<ShrinkException>(() => ModelZoo.Create("resnet1000"));
        Assert.Contains("'resnet1000'", e.Message);
        Assert.Contains("resnet18", e.Message);
        Assert.Contains("googlenet", e.Message);
        Assert.False(ModelZoo.Contains("resnet1000"));
    }

    [Fact]
    public void Impossible_inputs_are_a_clear_error()
    {
        var e = Assert.Throws<ShrinkException>(() => ModelZoo.Create("lenet5", new ZooInput(1, 8, 8)));
        Assert.Contains("lenet5", e.Message);
        Assert.Contains("1x8x8", e.Message);
        Assert.Throws<ShrinkException>(() => ModelZoo.Create("mlp", new ZooInput(Classes: 0)));
    }

    [Fact]
    public void Describe_lists_every_architecture_at_the_default_input()
    {
        var rows = ModelZoo.Describe();
        Assert.Equal(ModelZoo.Architectures.Select(a => a.Name), rows.Select(r => r.Name));
        var golden = Rows.Value.Where(r => r.Input is [1, 28, 28] && r.Classes == 10).ToDictionary(r => r.Name);
        foreach (var r in rows)
        {
            Assert.Equal(golden[r.Name].Params, r.TrainableParameters);
            Assert.Equal(golden[r.Name].Params + golden[r.Name].Buffers, r.Parameters);
            Assert.Equal(golden[r.Name].Macs, r.Macs);
            Assert.False(string.IsNullOrWhiteSpace(r.Description));
        }
    }

    [Fact]
    public void Small_densenet_takes_growth_rate_and_block_config()
    {
        var g = DenseNet.Build("densenet_tiny", new ZooInput(), seed: 0, growthRate: 8, blockConfig: [2, 2]);
        // conv0 (16) + 2 layers (+8 each) = 32, transition to 16, + 2 layers = 32 features into the classifier.
        Assert.Equal(new Shape(10, 32), g["classifier.weight"].Shape);
        Assert.Equal(1, g.Nodes.Count(n => n.OpType == "AveragePool"));
        Assert.Throws<ArgumentException>(() => DenseNet.Build("bad", new ZooInput(), 0, 8, []));
    }
}

using System.Text.Json.Nodes;
using Shrink.Kernels;
using Shrink.Onnx;
using Shrink.Profiling;
using Shrink.Zoo;

namespace Shrink.Tests.Cli;

[Collection("Cli")]
public class CliProfileTests
{
    [Fact]
    public void Profile_json_has_the_fields_and_matches_the_library_profiler()
    {
        var r = CliRunner.Run("profile", "--model", "lenet5", "--batch-size", "4", "--runs", "2", "--json");
        Assert.Equal(0, r.ExitCode);
        var o = JsonNode.Parse(r.Stdout)!.AsObject();
        var expected = Profiler.Profile(ModelZoo.Create("lenet5"), batchSize: 4);

        Assert.False(o.ContainsKey("accuracy"));
        foreach (var field in new[] { "size_mb", "macs", "params", "memory_mb", "latency_ms", "latency_bs1_ms", "latency_bsN_ms", "p90", "threads", "layers" })
            Assert.True(o.ContainsKey(field), $"missing '{field}' in {r.Stdout}");
        Assert.Equal(expected.Parameters, (long)o["params"]!);
        Assert.Equal(expected.MacsPerSample, (long)o["macs"]!);
        Assert.Equal(expected.SizeMb, (double)o["size_mb"]!, 5);
        Assert.Equal(expected.MemoryMb, (double)o["memory_mb"]!, 5);
        Assert.Equal(4, (int)o["batch_size"]!);
        Assert.Equal(KernelParallel.MaxThreads, (int)o["threads"]!);
        Assert.True((double)o["latency_bs1_ms"]! > 0 && (double)o["latency_bsN_ms"]! > 0 && (double)o["p90"]! >= (double)o["latency_bs1_ms"]!);

        var layers = o["layers"]!.AsArray();
        Assert.Equal(expected.Layers.Select(l => l.Name), layers.Select(l => (string)l!["name"]!));
        Assert.Equal(expected.Layers.Select(l => l.OpType), layers.Select(l => (string)l!["op"]!));
        Assert.Equal(expected.Layers.Select(l => l.Parameters), layers.Select(l => (long)l!["params"]!));
        Assert.Equal(expected.Layers.Select(l => l.Macs / 4), layers.Select(l => (long)l!["macs"]!));
        Assert.Equal(expected.MacsPerSample, layers.Sum(l => (long)l!["macs"]!));
        Assert.Equal("[4,6,28,28]", (string)layers[0]!["output_shape"]!);
        // human output went to stderr
        Assert.Contains("conv1", r.Stderr);
    }

    [Fact]
    public void Profile_prints_a_table_and_totals_on_stdout()
    {
        var r = CliRunner.Run("profile", "--model", "lenet5", "--runs", "1", "--batch-size", "2");
        Assert.Equal(0, r.ExitCode);
        foreach (var s in new[] { "conv1", "fc3", "total", "61,706", "MACs", "memory", "latency batch 1", "latency batch 2", "threads" })
            Assert.Contains(s, r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void Profile_threads_and_input_shape_of_a_zoo_model()
    {
        int before = KernelParallel.MaxThreads;
        var r = CliRunner.Run("profile", "--model", "lenet5", "--input-shape", "1x3x32x32", "--threads", "1", "--runs", "1", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(before, KernelParallel.MaxThreads);
        var o = JsonNode.Parse(r.Stdout)!.AsObject();
        Assert.Equal(1, (int)o["threads"]!);
        Assert.Equal("[1,3,32,32]", (string)o["input_shape"]!);
        var expected = Profiler.Profile(ModelZoo.Create("lenet5", new ZooInput(3, 32, 32)));
        Assert.Equal(expected.Parameters, (long)o["params"]!);
        Assert.Equal(expected.MacsPerSample, (long)o["macs"]!);
    }

    [Fact]
    public void Profile_an_onnx_file_without_latency()
    {
        using var dir = new CliTempDir();
        var g = ModelZoo.Create("resnet20", new ZooInput(3, 16, 16));
        string path = dir.File("r.onnx");
        OnnxModel.Save(g, path);
        var r = CliRunner.Run("profile", "--model", path, "--runs", "0", "--batch-size", "2", "--json");
        Assert.Equal(0, r.ExitCode);
        var o = JsonNode.Parse(r.Stdout)!.AsObject();
        var expected = Profiler.Profile(OnnxModel.Load(path), batchSize: 2);
        Assert.Equal(expected.Parameters, (long)o["params"]!);
        Assert.Equal(expected.MacsPerSample, (long)o["macs"]!);
        Assert.Equal(expected.MemoryMb, (double)o["memory_mb"]!, 5);
        Assert.False(o.ContainsKey("latency_ms"));
    }
}

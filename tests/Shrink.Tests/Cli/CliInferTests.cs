using System.Text.Json.Nodes;
using Shrink.Data;
using Shrink.Execution;
using Shrink.Ops;
using Shrink.Onnx;
using Shrink.Tensors;
using Shrink.Zoo;

namespace Shrink.Tests.Cli;

[Collection("Cli")]
public class CliInferTests
{
    internal static Tensor Random(Shape shape, int seed)
    {
        var rng = new Random(seed);
        var t = new Tensor(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    /// <summary>LeNet-5 (dynamic batch, 1x28x28) saved as ONNX in <paramref name="dir"/>.</summary>
    internal static string LeNet(CliTempDir dir)
    {
        string path = dir.File("lenet5.onnx");
        OnnxModel.Save(ModelZoo.Create("lenet5", seed: 3), path);
        return path;
    }

    private static void AssertEqual(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.True(expected.MaxAbsDiff(actual) <= 1e-6f, $"max difference {expected.MaxAbsDiff(actual)}");
    }

    [Theory]
    [InlineData("pb", "pb")]
    [InlineData("npy", "npy")]
    [InlineData("npy", "pb")]
    public void Infer_round_trip_equals_the_executor(string inputFormat, string outputFormat)
    {
        using var dir = new CliTempDir();
        string model = LeNet(dir);
        var x = Random(new Shape(3, 1, 28, 28), 11);
        string input = dir.File($"x.{inputFormat}");
        TensorFiles.Write(input, x);
        string outDir = Path.Combine(dir.Path, "out", "nested");

        var r = CliRunner.Run("infer", "--model", model, "--input", input, "--out-dir", outDir, "--format", outputFormat);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("output_0", r.Stdout);
        Assert.Equal(new[] { $"output_0.{outputFormat}" }, Directory.GetFiles(outDir).Select(f => Path.GetFileName(f)).ToArray());

        var expected = new Executor(OnnxModel.Load(model)).Run(x);
        var got = TensorFiles.Read(Path.Combine(outDir, $"output_0.{outputFormat}"));
        AssertEqual(expected, got);
        if (outputFormat == "npy") AssertEqual(expected, Npy.ReadTensor(Path.Combine(outDir, "output_0.npy")));
    }

    [Fact]
    public void Infer_keeps_graph_input_and_output_order()
    {
        using var dir = new CliTempDir();
        var g = new Shrink.Graph.Graph("two");
        var a = g.AddInput("a", new Shape(-1, 4));
        var b = g.AddInput("b", new Shape(-1, 4));
        var diff = g.AddNode(new Sub(), [a, b], "sub").Outputs[0];
        g.AddOutput(g.AddNode(new Relu(), [diff], "relu").Outputs[0]);
        g.AddOutput(diff);
        string model = dir.File("two.onnx");
        OnnxModel.Save(g, model);
        var x = Random(new Shape(2, 4), 1);
        var y = Random(new Shape(2, 4), 2);
        TensorFiles.Write(dir.File("a.pb"), x);
        TensorFiles.Write(dir.File("b.npy"), y);

        var r = CliRunner.Run("infer", "--model", model, "--input", dir.File("a.pb"), "--input", dir.File("b.npy"), "--out-dir", dir.File("out"), "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var o = JsonNode.Parse(r.Stdout)!.AsObject();
        Assert.Equal(2, o["outputs"]!.AsArray().Count);

        var expected = new Executor(OnnxModel.Load(model)).Run(x, y);
        AssertEqual(expected[0], TensorFiles.Read(dir.File("out/output_0.pb")));
        AssertEqual(expected[1], TensorFiles.Read(dir.File("out/output_1.pb")));
        Assert.True(TensorFiles.Read(dir.File("out/output_0.pb")).Span.ToArray().All(v => v >= 0));
    }

    [Fact]
    public void Infer_single_output_to_a_file_and_integer_inputs_convert()
    {
        using var dir = new CliTempDir();
        string model = LeNet(dir);
        var pixels = new byte[2 * 28 * 28];
        new Random(5).NextBytes(pixels);
        Shrink.Tests.Data.DataFixtures.WriteNpy(dir.File("u8.npy"), "|u1", [2, 1, 28, 28], pixels);

        var r = CliRunner.Run("infer", "--model", model, "--input", dir.File("u8.npy"), "--out", dir.File("y.npy"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var x = new Tensor(new Shape(2, 1, 28, 28), pixels.Select(p => (float)p).ToArray());
        AssertEqual(new Executor(OnnxModel.Load(model)).Run(x), TensorFiles.Read(dir.File("y.npy")));
    }

    [Fact]
    public void Infer_runs_a_fixed_batch_model_at_another_batch()
    {
        using var dir = new CliTempDir();
        var dynamic = ModelZoo.Create("lenet5", seed: 4);
        var fixedBatch = dynamic.Clone();
        fixedBatch.SetInputShape(0, new Shape(1, 1, 28, 28));
        string model = dir.File("fixed.onnx");
        OnnxModel.Save(fixedBatch, model);
        Assert.Equal(new Shape(1, 1, 28, 28), OnnxModel.Load(model).Inputs[0].Shape);
        var x = Random(new Shape(3, 1, 28, 28), 9);
        TensorFiles.Write(dir.File("x.pb"), x);

        var r = CliRunner.Run("infer", "--model", model, "--input", dir.File("x.pb"), "--out-dir", dir.File("out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        AssertEqual(new Executor(dynamic).Run(x), TensorFiles.Read(dir.File("out/output_0.pb")));
    }
}

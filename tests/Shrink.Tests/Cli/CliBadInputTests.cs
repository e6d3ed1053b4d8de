using Google.Protobuf;
using Shrink.Onnx;
using Shrink.Onnx.Proto;
using Shrink.Tensors;
using Shrink.Zoo;
using static Shrink.Tests.Onnx.OnnxTestUtil;

namespace Shrink.Tests.Cli;

/// <summary>
/// Issue 3 item 6 through the command line: each bad input ends with exit code 2, exactly one "shrink: error:" line on
/// stderr, no stack trace, and no output file.
/// </summary>
[Collection("Cli")]
public class CliBadInputTests
{
    /// <summary>Runs infer on <paramref name="model"/> with a valid LeNet-sized input and checks the bad-input contract and that nothing was written.</summary>
    private static string InferFails(CliTempDir dir, string model, params string[] inputs)
    {
        if (inputs.Length == 0)
        {
            TensorFiles.Write(dir.File("x.pb"), CliInferTests.Random(new Shape(1, 1, 28, 28), 1));
            inputs = [dir.File("x.pb")];
        }
        var before = dir.Files();
        string outDir = dir.File("out");
        var args = new List<string> { "infer", "--model", model, "--out-dir", outDir };
        foreach (var i in inputs) args.AddRange(["--input", i]);
        var line = CliRunner.Run(args.ToArray()).AssertBadInput();
        Assert.False(Directory.Exists(outDir), "the output folder was created");
        Assert.Equal(before, dir.Files());
        return line;
    }

    private static string ProfileFails(string model)
    {
        var line = CliRunner.Run("profile", "--model", model, "--runs", "0").AssertBadInput();
        return line;
    }

    private static string Write(CliTempDir dir, string name, byte[] bytes)
    {
        string path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Not_an_onnx_file()
    {
        using var dir = new CliTempDir();
        string model = Write(dir, "notes.onnx", "this is a text file, not a model\n"u8.ToArray());
        var line = InferFails(dir, model);
        Assert.Contains("notes.onnx", line);
        Assert.Contains("not an ONNX", line);
        Assert.Contains("notes.onnx", ProfileFails(model));
    }

    [Fact]
    public void Missing_model_file()
    {
        using var dir = new CliTempDir();
        Assert.Contains("nowhere.onnx", InferFails(dir, dir.File("nowhere.onnx")));
    }

    [Fact]
    public void Truncated_onnx_file()
    {
        using var dir = new CliTempDir();
        using var ms = new MemoryStream();
        OnnxModel.Save(ModelZoo.Create("lenet5"), ms);
        var bytes = ms.ToArray();
        string model = Write(dir, "cut.onnx", bytes[..(bytes.Length * 6 / 10)]);
        var line = InferFails(dir, model);
        Assert.Contains("cut.onnx", line);
        Assert.Contains("truncated", line);
    }

    [Fact]
    public void Unknown_ops_are_all_listed_with_their_nodes()
    {
        using var dir = new CliTempDir();
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1, 28, 28));
        g.Node.Add(Node("Erf", "erf_1", ["x"], ["a"]));
        g.Node.Add(Node("Relu", "relu_2", ["a"], ["b"]));
        g.Node.Add(Node("Einsum", "einsum_3", ["b"], ["c"], Attr("equation", "nchw->nchw")));
        g.Node.Add(Node("Erf", "erf_4", ["c"], ["d"]));
        g.Output.Add(FloatInfo("d", -1, 1, 28, 28));
        string model = Write(dir, "ops.onnx", Model(g).ToByteArray());
        var line = InferFails(dir, model);
        foreach (var s in new[] { "Erf (node 'erf_1')", "Einsum (node 'einsum_3')", "Erf (node 'erf_4')" }) Assert.Contains(s, line);
        Assert.DoesNotContain("relu_2", line);
        Assert.Contains("einsum_3", ProfileFails(model));
    }

    [Fact]
    public void Unsupported_attribute_value()
    {
        using var dir = new CliTempDir();
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1, 28, 28));
        g.Initializer.Add(Int64s("pads", [0, 0, 1, 1, 0, 0, 1, 1], 8));
        g.Node.Add(Node("Pad", "pad_reflect", ["x", "pads"], ["y"], Attr("mode", "reflect")));
        g.Output.Add(FloatInfo("y", -1, 1, 30, 30));
        string model = Write(dir, "pad.onnx", Model(g).ToByteArray());
        var line = InferFails(dir, model);
        Assert.Contains("pad_reflect", line);
        Assert.Contains("reflect", line);
    }

    [Fact]
    public void Shape_that_does_not_fit()
    {
        using var dir = new CliTempDir();
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1, 28, 28));
        g.Initializer.Add(Floats("w", new float[15], 5, 3));
        g.Node.Add(Node("Flatten", "flat", ["x"], ["f"]));
        g.Node.Add(Node("Gemm", "fc_bad", ["f", "w"], ["y"], Attr("transB", 1L)));
        g.Output.Add(FloatInfo("y", -1, 5));
        string model = Write(dir, "shape.onnx", Model(g).ToByteArray());
        Assert.Contains("fc_bad", InferFails(dir, model));
        Assert.Contains("fc_bad", ProfileFails(model));
    }

    [Fact]
    public void Input_file_whose_shape_does_not_match()
    {
        using var dir = new CliTempDir();
        string model = CliInferTests.LeNet(dir);
        TensorFiles.Write(dir.File("rgb.pb"), new Tensor(new Shape(1, 3, 28, 28)));
        var line = InferFails(dir, model, dir.File("rgb.pb"));
        Assert.Contains("rgb.pb", line);
        Assert.Contains("[1,3,28,28]", line);
        Assert.Contains("[N,1,28,28]", line);

        TensorFiles.Write(dir.File("flat.npy"), new Tensor(new Shape(1, 784)));
        Assert.Contains("flat.npy", InferFails(dir, model, dir.File("flat.npy")));
    }

    [Fact]
    public void Input_file_whose_type_does_not_match()
    {
        using var dir = new CliTempDir();
        string model = CliInferTests.LeNet(dir);
        var t = new TensorProto { Name = "x", DataType = (int)TensorProto.Types.DataType.Int32, Dims = { 1, 1, 28, 28 } };
        t.Int32Data.Add(new int[784]);
        string pb = Write(dir, "ints.pb", t.ToByteArray());
        var line = InferFails(dir, model, pb);
        Assert.Contains("ints.pb", line);
        Assert.Contains("int32", line);

        Shrink.Tests.Data.DataFixtures.WriteNpy(dir.File("half.npy"), "<f2", [1, 1, 28, 28], new byte[784 * 2]);
        line = InferFails(dir, model, dir.File("half.npy"));
        Assert.Contains("half.npy", line);
        Assert.Contains("float16", line);
    }

    [Fact]
    public void Input_file_that_is_not_a_tensor_or_is_truncated()
    {
        using var dir = new CliTempDir();
        string model = CliInferTests.LeNet(dir);
        string text = Write(dir, "text.pb", "hello, not a tensor"u8.ToArray());
        Assert.Contains("text.pb", InferFails(dir, model, text));

        var full = TensorFiles.ToPbBytes(new Tensor(new Shape(1, 1, 28, 28)), "x");
        string cut = Write(dir, "cut.pb", full[..(full.Length - 100)]);
        var line = InferFails(dir, model, cut);
        Assert.Contains("cut.pb", line);
        Assert.Contains("truncated", line);

        using var ms = new MemoryStream();
        Shrink.Data.Npy.Write(ms, new Tensor(new Shape(1, 1, 28, 28)));
        string cutNpy = Write(dir, "cut.npy", ms.ToArray()[..1000]);
        Assert.Contains("cut.npy", InferFails(dir, model, cutNpy));
    }

    [Fact]
    public void Wrong_number_of_inputs()
    {
        using var dir = new CliTempDir();
        string model = CliInferTests.LeNet(dir);
        TensorFiles.Write(dir.File("a.pb"), new Tensor(new Shape(1, 1, 28, 28)));
        var line = InferFails(dir, model, dir.File("a.pb"), dir.File("a.pb"));
        Assert.Contains("takes 1 input", line);
        Assert.Contains("got 2", line);
    }

    [Fact]
    public void Missing_data_set_for_eval_says_where_it_looked()
    {
        using var dir = new CliTempDir();
        string model = CliInferTests.LeNet(dir);
        var r = CliRunner.Run("eval", "--model", model, "--dataset", "no-such-dataset-xyz", "--json");
        var line = r.AssertBadInput();
        Assert.Contains("no-such-dataset-xyz", line);
        Assert.Contains("Looked in", line);
        Assert.Contains(Path.Combine("data", "no-such-dataset-xyz"), line);
    }

    [Fact]
    public void Eval_batch_size_below_1_fails_before_any_work()
    {
        var line = CliRunner.Run("eval", "--model", "lenet5", "--dataset", "no-such-dataset-xyz", "--batch-size", "0").AssertBadInput();
        Assert.Contains("--batch-size must be at least 1, got 0", line);
    }

    [Fact]
    public void Training_output_that_cannot_be_written_fails_before_any_work()
    {
        using var dir = new CliTempDir();
        File.WriteAllText(dir.File("plain"), "a file, not a folder");
        string model = Path.Combine(dir.File("plain"), "m.onnx");
        var line = CliRunner.Run("train", "--model", "lenet5", "--dataset", "no-such-dataset-xyz", "--out", model).AssertBadInput();
        Assert.Contains($"Cannot write '{model}'", line);
        Assert.DoesNotContain("no-such-dataset-xyz", line); // before the data set is even looked up
        Assert.Equal(["plain"], dir.Files());
    }

    [Theory]
    [InlineData("--epochs", "0", "Epochs")]
    [InlineData("--max-steps", "0", "--max-steps")]
    [InlineData("--batch-size", "0", "Batch size")]
    [InlineData("--schedule", "linear", "Unknown schedule 'linear'")]
    [InlineData("--optimizer", "rmsprop", "Unknown optimizer 'rmsprop'")]
    [InlineData("--weight-decay", "-1", "Weight decay")]
    [InlineData("--label-smoothing", "1", "Label smoothing")]
    [InlineData("--augment", "twirl", "--augment")]
    [InlineData("--recipe", "nosuchnet", "nosuchnet")]
    public void Impossible_training_options_fail_before_any_work(string option, string value, string named)
    {
        var r = CliRunner.Run("train", "--model", "lenet5", "--dataset", "no-such-dataset-xyz", option, value);
        var line = r.AssertBadInput();
        Assert.Contains(named, line);
        Assert.DoesNotContain("no-such-dataset-xyz", line); // rejected before the data set is even looked up
    }
}

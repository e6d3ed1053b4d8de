using Google.Protobuf;
using Shrink.Graph;
using Shrink.Onnx;
using Shrink.Onnx.Proto;
using static Shrink.Tests.Onnx.OnnxTestUtil;

namespace Shrink.Tests.Onnx;

public class OnnxBadInputTests
{
    [Fact]
    public void NotOnnx_TextFile()
    {
        var e = Assert.ThrowsAny<OnnxImportException>(() => FromBytes("hello, this is not a model\n"u8.ToArray()));
        Assert.Contains("not", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void NotOnnx_RandomBytes()
    {
        var bytes = new byte[4096];
        new Random(3).NextBytes(bytes);
        var e = Assert.ThrowsAny<OnnxImportException>(() => FromBytes(bytes));
        Assert.Contains("stream", e.Message);
    }

    [Fact]
    public void Empty_File()
    {
        var e = Assert.Throws<OnnxImportException>(() => FromBytes([]));
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void MissingFile_NamesPath()
    {
        var e = Assert.Throws<OnnxImportException>(() => OnnxModel.Load("/nonexistent/dir/model.onnx"));
        Assert.Contains("/nonexistent/dir/model.onnx", e.Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.99)]
    public void Truncated_File(double keep)
    {
        var bytes = ToBytes(OnnxBasicTests.Mlp());
        var cut = bytes.AsSpan(0, (int)(bytes.Length * keep)).ToArray();
        var e = Assert.ThrowsAny<OnnxImportException>(() => FromBytes(cut));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }

    [Fact]
    public void Truncated_EveryPrefix_ThrowsOnlyOnnxImportException()
    {
        var bytes = ToBytes(OnnxBasicTests.Mlp());
        for (int n = 1; n < bytes.Length; n += 7)
        {
            try
            {
                FromBytes(bytes.AsSpan(0, n).ToArray());
            }
            catch (ShrinkException) { continue; }
            Assert.Fail($"prefix of {n} bytes loaded without error");
        }
    }

    [Fact]
    public void UnknownOps_AllListedWithNodeNames()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Node.Add(Node("Relu", "r0", ["x"], ["a"]));
        g.Node.Add(Node("Erf", "erf_1", ["a"], ["b"]));
        g.Node.Add(Node("Relu", "r1", ["b"], ["c"]));
        g.Node.Add(Node("Einsum", "einsum_2", ["c"], ["d"]));
        g.Node.Add(new NodeProto { OpType = "FancyOp", Domain = "com.example", Name = "custom_3", Input = { "d" }, Output = { "e" } });
        g.Node.Add(Node("Erf", "erf_4", ["e"], ["f"]));
        g.Output.Add(FloatInfo("f", -1, 4));
        var e = Assert.Throws<UnsupportedOperatorException>(() => Load(Model(g)));
        Assert.Equal(4, e.Unsupported.Count);
        foreach (var s in new[] { "Erf (node 'erf_1')", "Einsum (node 'einsum_2')", "com.example.FancyOp (node 'custom_3')", "Erf (node 'erf_4')" })
            Assert.Contains(s, e.Message);
        Assert.DoesNotContain("r0", e.Message);
    }

    [Fact]
    public void Opset_OutOfRange()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Node.Add(Node("Relu", "r0", ["x"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g, opset: 7)));
        Assert.Contains("opset 7", e.Message);
        e = Assert.Throws<OnnxImportException>(() => Load(Model(g, opset: 18)));
        Assert.Contains("opset 18", e.Message);
    }

    [Fact]
    public void ShapeThatDoesNotFit_NamesNode()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Initializer.Add(Floats("w", new float[15], 5, 3));
        g.Node.Add(Node("Gemm", "fc_bad", ["x", "w"], ["y"], Attr("transB", 1L)));
        g.Output.Add(FloatInfo("y", -1, 5));
        var e = Assert.Throws<ShapeMismatchException>(() => Load(Model(g)));
        Assert.Contains("fc_bad", e.Message);
    }

    [Fact]
    public void DanglingInput_NamesNodeAndValue()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Node.Add(Node("Relu", "r0", ["nowhere"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("'r0'", e.Message);
        Assert.Contains("nowhere", e.Message);
    }

    [Fact]
    public void IntegerGraphInput_Rejected()
    {
        var g = new GraphProto { Name = "g" };
        var info = FloatInfo("x", -1, 4);
        info.Type.TensorType.ElemType = 7;
        g.Input.Add(info);
        g.Node.Add(Node("Relu", "r0", ["x"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("float32", e.Message);
    }

    [Fact]
    public void CorruptInitializer_WrongByteCount()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 3));
        g.Initializer.Add(new TensorProto { Name = "w", DataType = 1, Dims = { 4, 3 }, RawData = ByteString.CopyFrom(new byte[10]) });
        g.Node.Add(Node("Gemm", "fc", ["x", "w"], ["y"], Attr("transB", 1L)));
        g.Output.Add(FloatInfo("y", -1, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("'w'", e.Message);
    }
}

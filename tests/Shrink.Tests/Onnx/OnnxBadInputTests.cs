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

public class OnnxAttributeErrorTests
{
    private static GraphProto Spatial(NodeProto node, params TensorProto[] inits)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 2, 6, 6));
        g.Initializer.Add(inits);
        g.Node.Add(node);
        g.Output.Add(FloatInfo(node.Output[0], -1, 2, 6, 6));
        return g;
    }

    [Fact]
    public void PadReflect_NamesNodeAndMode()
    {
        var g = Spatial(Node("Pad", "pad_reflect", ["x", "pads"], ["y"], Attr("mode", "reflect")), Int64s("pads", [0, 0, 1, 1, 0, 0, 1, 1], 8));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("node 'pad_reflect' (Pad)", e.Message);
        Assert.Contains("reflect", e.Message);
    }

    [Fact]
    public void NonConstantReshapeShape_NamesNode()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 8));
        g.Input.Add(FloatInfo("s", 2));
        g.Node.Add(Node("Reshape", "reshape_dyn", ["x", "s"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 2, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("node 'reshape_dyn' (Reshape)", e.Message);
        Assert.Contains("constant", e.Message);
    }

    [Fact]
    public void UnknownAutoPad_NamesNode()
    {
        var g = Spatial(Node("MaxPool", "pool", ["x"], ["y"], Attr("kernel_shape", new long[] { 3, 3 }), Attr("auto_pad", "SOMETIMES")));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("node 'pool' (MaxPool)", e.Message);
        Assert.Contains("SOMETIMES", e.Message);
    }

    [Fact]
    public void UsedMaxPoolIndices_NamesOutput()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 2, 6, 6));
        g.Node.Add(Node("MaxPool", "pool", ["x"], ["y", "idx"], Attr("kernel_shape", new long[] { 2, 2 })));
        g.Node.Add(Node("Relu", "use_idx", ["idx"], ["z"]));
        g.Output.Add(FloatInfo("z", -1, 2, 5, 5));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("use_idx", e.Message);
        Assert.Contains("output 1 of node 'pool' (MaxPool)", e.Message);
    }

    [Fact]
    public void ReduceMeanOverChannels_NamesNode()
    {
        var g = Spatial(Node("ReduceMean", "mean_c", ["x"], ["y"], Attr("axes", new long[] { 1 })));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("node 'mean_c' (ReduceMean)", e.Message);
    }

    [Theory]
    [InlineData("VALID", 4)]
    [InlineData("SAME_UPPER", 6)]
    [InlineData("SAME_LOWER", 6)]
    public void ConvAutoPad_Supported(string autoPad, int size)
    {
        var w = Enumerable.Range(0, 3 * 2 * 3 * 3).Select(i => (i % 7 - 3) * 0.1f).ToArray();
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 2, 6, 6));
        g.Initializer.Add(Floats("w", w, 3, 2, 3, 3));
        g.Node.Add(Node("Conv", "conv", ["x", "w"], ["y"], Attr("auto_pad", autoPad)));
        g.Output.Add(FloatInfo("y", -1, 3, size, size));
        var graph = Load(Model(g));
        Assert.Equal(new Shrink.Tensors.Shape(-1, 3, size, size), graph.Outputs[0].Shape);
    }

    [Fact]
    public void ConvSameUpper_EvenKernel_PadsAtTheEnd()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1, 5, 5));
        g.Initializer.Add(Floats("w", new float[4], 1, 1, 2, 2));
        g.Node.Add(Node("Conv", "conv", ["x", "w"], ["y"], Attr("auto_pad", "SAME_UPPER")));
        g.Output.Add(FloatInfo("y", -1, 1, 5, 5));
        Assert.Equal("Conv", Load(Model(g)).Nodes[0].OpType);
        Assert.Contains("0,0,1,1", string.Join(",", ((Shrink.Ops.Conv)Load(Model(g)).Nodes[0].Op).Pads));
    }

    [Fact]
    public void ShapeMismatchInConv_NamesNode()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 2, 6, 6));
        g.Initializer.Add(Floats("w", new float[3 * 5 * 9], 3, 5, 3, 3));
        g.Node.Add(Node("Conv", "conv_bad", ["x", "w"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 3, 4, 4));
        var e = Assert.Throws<ShapeMismatchException>(() => Load(Model(g)));
        Assert.Contains("conv_bad", e.Message);
    }

    [Theory]
    [InlineData("strides", 0L)]
    [InlineData("dilations", 0L)]
    [InlineData("strides", 1L << 40)]
    public void ConvBadStrideOrDilation_NamesNodeAndAttribute(string attribute, long value)
    {
        // Stride 0 used to divide by zero while resolving SAME_UPPER; a huge value overflowed the int cast.
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1, 5, 5));
        g.Initializer.Add(Floats("w", new float[9], 1, 1, 3, 3));
        g.Node.Add(Node("Conv", "conv_s", ["x", "w"], ["y"], Attr("auto_pad", "SAME_UPPER"), Attr(attribute, [value, value])));
        g.Output.Add(FloatInfo("y", -1, 1, 5, 5));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("conv_s", e.Message);
        Assert.Contains(attribute, e.Message);
    }

    [Fact]
    public void ConvGroupOutOfInt32Range_NamesNode()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1, 5, 5));
        g.Initializer.Add(Floats("w", new float[9], 1, 1, 3, 3));
        g.Node.Add(Node("Conv", "conv_g", ["x", "w"], ["y"], Attr("group", (1L << 32) + 1)));
        g.Output.Add(FloatInfo("y", -1, 1, 3, 3));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("conv_g", e.Message);
        Assert.Contains("group", e.Message);
    }

    [Fact]
    public void InitializerWhoseDimensionsOverflow_IsRejectedBeforeAllocating()
    {
        // 2^31−1 cubed wraps a long product; the importer must say "too large", not allocate or crash.
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Initializer.Add(Floats("w", [1f], int.MaxValue, int.MaxValue, int.MaxValue));
        g.Node.Add(Node("Add", "add", ["x", "w"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("too large", e.Message);
    }

    [Fact]
    public void InitializerDeclaringMoreDataThanItHolds_IsRejected()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Initializer.Add(Floats("w", [1f, 2f], 1 << 29, 4)); // 2^31 elements declared, 2 present
        g.Node.Add(Node("Add", "add", ["x", "w"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("'w'", e.Message);
    }

    [Fact]
    public void RangeOverTheRunTimeBatch_NamesNodeInsteadOfFoldingToEmpty()
    {
        // Range(0, x.shape[0]) depends on the batch: it used to fold silently to an empty tensor.
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Initializer.Add(Int64s("zero", [0]));
        g.Initializer.Add(Int64s("one", [1]));
        g.Initializer.Add(Int64s("i0", [0]));
        g.Node.Add(Node("Shape", "shape", ["x"], ["s"]));
        g.Node.Add(Node("Gather", "gather", ["s", "i0"], ["n"]));
        g.Node.Add(Node("Range", "range_n", ["zero", "n", "one"], ["r"]));
        g.Node.Add(Node("Reshape", "reshape", ["x", "r"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("range_n", e.Message);
        Assert.Contains("run time", e.Message);
    }

    [Fact]
    public void RangeWithDeltaZero_NamesNode()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Initializer.Add(Int64s("zero", [0], []));
        g.Initializer.Add(Int64s("four", [4], []));
        g.Node.Add(Node("Range", "range0", ["zero", "four", "zero"], ["r"]));
        g.Node.Add(Node("Reshape", "reshape", ["x", "r"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("range0", e.Message);
        Assert.Contains("delta 0", e.Message);
    }
}

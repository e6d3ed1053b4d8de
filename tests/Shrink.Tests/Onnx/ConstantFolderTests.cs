using Shrink.Execution;
using Shrink.Onnx;
using Shrink.Onnx.Proto;
using Shrink.Ops;
using Shrink.Tensors;
using static Shrink.Tests.Onnx.OnnxTestUtil;

namespace Shrink.Tests.Onnx;

/// <summary>
/// Import-time folding of Slice and friends over sizes known only at run time: such a size is carried as a symbol, never
/// as a reserved int64 value, so a Slice whose bounds depend on it is refused instead of folded into a wrong constant,
/// and the int64 extremes exporters write as slice ends stay ordinary numbers.
/// </summary>
public class ConstantFolderTests
{
    /// <summary>y = x + w[0 : x.shape[dim]]: the end is a run-time size (the batch for dim 0, another dynamic size for 1).</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void SliceEndFromARunTimeSize_IsRefusedNamingTheNode(long dim)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, -1));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f], 8));
        g.Initializer.Add(Int64s("dim", [dim]));
        g.Initializer.Add(Int64s("zero", [0], 1));
        g.Node.Add(Node("Shape", "shape", ["x"], ["s"]));
        g.Node.Add(Node("Gather", "gather", ["s", "dim"], ["n"]));
        g.Node.Add(Node("Slice", "slice_w", ["w", "zero", "n", "zero"], ["w_n"]));
        g.Node.Add(Node("Add", "add", ["x", "w_n"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, -1));
        // The run-time size used to be the reserved value INT64_MIN (batch) or −INT64_MAX, and a Slice read it as
        // "to the start": w_n folded silently to an empty constant.
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("slice_w", e.Message);
        Assert.Contains("ends", e.Message);
        Assert.Contains("run time", e.Message);
    }

    [Fact]
    public void SliceStartFromRunTimeArithmetic_IsRefused()
    {
        // start = x.shape[1] - 2: arithmetic on a run-time size is still one.
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, -1));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f, 4f], 4));
        g.Initializer.Add(Int64s("one", [1], 1));
        g.Initializer.Add(Int64s("two", [2], 1));
        g.Initializer.Add(Int64s("big", [long.MaxValue], 1));
        g.Node.Add(Node("Shape", "shape", ["x"], ["s"]));
        g.Node.Add(Node("Gather", "gather", ["s", "one"], ["n"]));
        g.Node.Add(Node("Sub", "sub", ["n", "two"], ["start"]));
        g.Node.Add(Node("Slice", "slice_w", ["w", "start", "big"], ["w_n"]));
        g.Node.Add(Node("Add", "add", ["x", "w_n"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, -1));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("slice_w", e.Message);
        Assert.Contains("starts", e.Message);
    }

    /// <summary>w[::-1] as exporters write it: ends INT64_MIN (PyTorch, tf2onnx) or −INT64_MAX, here through a Constant and an Identity.</summary>
    [Theory]
    [InlineData(long.MinValue)]
    [InlineData(-long.MaxValue)]
    public void ReverseSlice_WithInt64ExtremeEnds_Folds(long end)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f, 4f], 4));
        g.Initializer.Add(Int64s("start", [-1], 1));
        g.Initializer.Add(Int64s("axes", [0], 1));
        g.Initializer.Add(Int64s("step", [-1], 1));
        g.Node.Add(new NodeProto { OpType = "Constant", Name = "c_end", Output = { "end0" }, Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = Int64s("", [end], 1) } } });
        g.Node.Add(Node("Identity", "id", ["end0"], ["end"]));
        g.Node.Add(Node("Slice", "reverse", ["w", "start", "end", "axes", "step"], ["w_r"]));
        g.Node.Add(Node("Add", "add", ["x", "w_r"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 4));
        var graph = Load(Model(g));
        var y = new Executor(graph).Run(new Tensor(new Shape(2, 4)));
        Assert.Equal([4f, 3f, 2f, 1f, 4f, 3f, 2f, 1f], y.ToArray());
    }

    /// <summary>x.view(x.shape[:1] + [-1]): the batch symbol survives a Slice of the shape and a Concat.</summary>
    [Fact]
    public void SliceOfTheShape_KeepsTheBatchSymbol()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 2, 3));
        g.Initializer.Add(Int64s("zero", [0], 1));
        g.Initializer.Add(Int64s("one", [1], 1));
        g.Initializer.Add(Int64s("minus1", [-1], 1));
        g.Node.Add(Node("Shape", "shape", ["x"], ["s"]));
        g.Node.Add(Node("Slice", "head", ["s", "zero", "one"], ["n"]));
        g.Node.Add(Node("Concat", "cat", ["n", "minus1"], ["target"], Attr("axis", 0L)));
        g.Node.Add(Node("Reshape", "reshape", ["x", "target"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 6));
        var graph = Load(Model(g));
        Assert.Equal([0, -1], ((Reshape)graph.FindNode("reshape")!.Op).Shape);
        Assert.Equal(new Shape(3, 6), new Executor(graph).Run(new Tensor(new Shape(3, 2, 3))).Shape);
    }

    /// <summary>Spec cases the folder got wrong: a step longer than the axis (overflowed to an empty slice) and a
    /// start below 0 with a negative step (clamped to 0, not −1).</summary>
    [Theory]
    [InlineData(0L, long.MaxValue, long.MaxValue, 1f)]
    [InlineData(-5L, long.MinValue, -1L, 1f)]
    [InlineData(3L, long.MinValue, long.MinValue, 4f)]
    public void SliceClampsAsTheSpecSays(long start, long end, long step, float expected)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f, 4f], 4));
        g.Initializer.Add(Int64s("start", [start], 1));
        g.Initializer.Add(Int64s("end", [end], 1));
        g.Initializer.Add(Int64s("axes", [0], 1));
        g.Initializer.Add(Int64s("step", [step], 1));
        g.Node.Add(Node("Slice", "slice", ["w", "start", "end", "axes", "step"], ["w_s"]));
        g.Node.Add(Node("Add", "add", ["x", "w_s"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 1));
        var y = new Executor(Load(Model(g))).Run(new Tensor(new Shape(1, 1)));
        Assert.Equal([expected], y.ToArray());
    }

    [Fact]
    public void SliceWithRepeatedAxes_NamesNodeAndAxis()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 2));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f, 4f], 2, 2));
        g.Initializer.Add(Int64s("starts", [0, 0], 2));
        g.Initializer.Add(Int64s("ends", [1, 2], 2));
        g.Initializer.Add(Int64s("axes", [1, -1], 2));
        g.Node.Add(Node("Slice", "slice_rep", ["w", "starts", "ends", "axes"], ["w_s"]));
        g.Node.Add(Node("Add", "add", ["x", "w_s"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 2));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("slice_rep", e.Message);
        Assert.Contains("axis -1", e.Message);
    }

    [Fact]
    public void SliceMissingItsEnds_NamesNode()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 4));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f, 4f], 4));
        g.Initializer.Add(Int64s("start", [0], 1));
        g.Node.Add(Node("Slice", "slice_short", ["w", "start"], ["w_s"]));
        g.Node.Add(Node("Add", "add", ["x", "w_s"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 4));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("slice_short", e.Message);
        Assert.Contains("input 2 is missing", e.Message);
    }

    [Fact]
    public void GatherIndexBeyond32Bits_IsOutOfRange()
    {
        // 2^32 + 1 used to wrap to index 1 when cast to int.
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f, 4f], 4));
        g.Initializer.Add(Int64s("i", [(1L << 32) + 1], 1));
        g.Node.Add(Node("Gather", "gather_w", ["w", "i"], ["w_i"]));
        g.Node.Add(Node("Add", "add", ["x", "w_i"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 1));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("gather_w", e.Message);
        Assert.Contains("4294967297", e.Message);
    }

    [Fact]
    public void ConstantOfShapeTooLarge_IsRefusedBeforeAllocating()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1));
        g.Initializer.Add(Int64s("shape", [1 << 20, 1 << 20], 2));
        g.Node.Add(Node("ConstantOfShape", "huge", ["shape"], ["z"]));
        g.Node.Add(Node("Add", "add", ["x", "z"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 1));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("huge", e.Message);
    }

    [Fact]
    public void PadsFromARunTimeSize_NamesNode()
    {
        // pads = [0, 0, 0, x.shape[1]]: a run-time size where Pad needs a number.
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, -1));
        g.Initializer.Add(Int64s("zeros", [0, 0, 0], 3));
        g.Initializer.Add(Int64s("one", [1], 1));
        g.Node.Add(Node("Shape", "shape", ["x"], ["s"]));
        g.Node.Add(Node("Gather", "gather", ["s", "one"], ["n"]));
        g.Node.Add(Node("Concat", "cat", ["zeros", "n"], ["pads"], Attr("axis", 0L)));
        g.Node.Add(Node("Pad", "pad_n", ["x", "pads"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, -1));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g, opset: 11)));
        Assert.Contains("pad_n", e.Message);
        Assert.Contains("run time", e.Message);
    }

    /// <summary>y = x + op(w) with w [2, 3] folded at import.</summary>
    private static ModelProto FoldedUnary(string op, params AttributeProto[] attrs)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 6));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3));
        g.Node.Add(Node(op, "the_node", ["w"], ["w2"], attrs));
        g.Node.Add(Node("Add", "add", ["x", "w2"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 6));
        return Model(g);
    }

    [Theory]
    [InlineData(new long[] { 0, 0 }, "not a permutation")] // used to fold to a wrong constant
    [InlineData(new long[] { 1 }, "not a permutation")]
    [InlineData(new long[] { 0, 2 }, "not a permutation")]
    public void TransposeWithABadPerm_NamesNode(long[] perm, string why)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 3, 2));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3));
        g.Node.Add(Node("Transpose", "the_node", ["w"], ["w2"], Attr("perm", perm)));
        g.Node.Add(Node("Add", "add", ["x", "w2"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 3, 2));
        var e = Assert.Throws<OnnxImportException>(() => Load(Model(g)));
        Assert.Contains("the_node", e.Message);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void FlattenWithAxisOutOfRange_NamesNode()
    {
        // Flatten's axis is in [-r, r]; 5 on a rank-2 constant used to be clamped to 2 silently.
        var e = Assert.Throws<OnnxImportException>(() => Load(FoldedUnary("Flatten", Attr("axis", 5L))));
        Assert.Contains("the_node", e.Message);
        Assert.Contains("axis 5", e.Message);
        var ok = new Executor(Load(FoldedUnary("Flatten", Attr("axis", -2L)))).Run(new Tensor(new Shape(1, 6)));
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], ok.ToArray());
    }

    [Fact]
    public void CastToString_NamesNode()
    {
        var e = Assert.Throws<OnnxImportException>(() => Load(FoldedUnary("Cast", Attr("to", 8L))));
        Assert.Contains("the_node", e.Message);
        Assert.Contains("String", e.Message);
    }
}

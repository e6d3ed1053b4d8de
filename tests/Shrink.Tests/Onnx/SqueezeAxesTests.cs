using Shrink.Execution;
using Shrink.Onnx;
using Shrink.Onnx.Proto;
using Shrink.Tensors;
using static Shrink.Tests.Onnx.OnnxTestUtil;

namespace Shrink.Tests.Onnx;

/// <summary>
/// Unsqueeze / Squeeze axes as the ONNX spec bounds them: [−r, r−1] with r the output rank for Unsqueeze and the input
/// rank for Squeeze, no axis twice, and a squeezed dimension must be 1 — over run-time tensors and over folded constants.
/// </summary>
public class SqueezeAxesTests
{
    /// <summary>x [N, 1, 3] through one Unsqueeze/Squeeze node with the axes as an opset-13 input (or an opset-11 attribute).</summary>
    private static ModelProto OneNode(string op, long[] axes, int opset = 13)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 1, 3));
        if (opset >= 13)
        {
            g.Initializer.Add(Int64s("axes", axes, axes.Length));
            g.Node.Add(Node(op, "the_node", ["x", "axes"], ["y"]));
        }
        else g.Node.Add(Node(op, "the_node", ["x"], ["y"], Attr("axes", axes)));
        g.Output.Add(FloatInfo("y", -1, 3));
        return Model(g, opset);
    }

    /// <summary>The same node over a constant w [1, 3], so that it is folded at import; y = x + folded.</summary>
    private static ModelProto Folded(string op, long[] axes)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(FloatInfo("x", -1, 3));
        g.Initializer.Add(Floats("w", [1f, 2f, 3f], 1, 3));
        g.Initializer.Add(Int64s("axes", axes, axes.Length));
        g.Node.Add(Node(op, "the_node", ["w", "axes"], ["w2"]));
        g.Node.Add(Node("Add", "add", ["x", "w2"], ["y"]));
        g.Output.Add(FloatInfo("y", -1, 3));
        return Model(g);
    }

    [Theory]
    [InlineData("Unsqueeze", new long[] { -1 }, new[] { 2, 1, 3, 1 })]
    [InlineData("Unsqueeze", new long[] { 3, 0 }, new[] { 1, 2, 1, 1, 3 })]
    [InlineData("Squeeze", new long[] { -2 }, new[] { 2, 3 })]
    [InlineData("Squeeze", new long[] { 1 }, new[] { 2, 3 })]
    public void ValidAxes_Import(string op, long[] axes, int[] expected)
    {
        foreach (int opset in new[] { 11, 13 })
        {
            var graph = Load(OneNode(op, axes, opset));
            var y = new Executor(graph).Run(new Tensor(new Shape(2, 1, 3)));
            Assert.Equal(new Shape(expected), y.Shape);
        }
    }

    [Theory]
    [InlineData("Unsqueeze", new long[] { 4 }, "axis 4")] // output rank 4: valid −4..3
    [InlineData("Unsqueeze", new long[] { -5 }, "axis -5")]
    [InlineData("Unsqueeze", new long[] { 0, 7 }, "axis 7")]
    [InlineData("Squeeze", new long[] { 3 }, "axis 3")] // input rank 3: valid −3..2
    [InlineData("Squeeze", new long[] { -4 }, "axis -4")]
    public void OutOfRangeAxis_NamesNodeAndAxis(string op, long[] axes, string axis)
    {
        foreach (int opset in new[] { 11, 13 })
        {
            var e = Assert.Throws<OnnxImportException>(() => Load(OneNode(op, axes, opset)));
            Assert.Contains("the_node", e.Message);
            Assert.Contains(axis, e.Message);
            Assert.Contains("out of range", e.Message);
        }
    }

    [Theory]
    [InlineData("Unsqueeze", new long[] { 1, 1 }, "axis 1")]
    [InlineData("Unsqueeze", new long[] { 0, -5 }, "axis -5")] // output rank 5: −5 is 0
    [InlineData("Squeeze", new long[] { 1, -2 }, "axis -2")]
    public void RepeatedAxis_NamesNodeAndAxis(string op, long[] axes, string axis)
    {
        var e = Assert.Throws<OnnxImportException>(() => Load(OneNode(op, axes)));
        Assert.Contains("the_node", e.Message);
        Assert.Contains(axis, e.Message);
        Assert.Contains("more than once", e.Message);
    }

    [Theory]
    [InlineData(2L, "its size is 3")]
    [InlineData(0L, "known only at run time")]
    public void SqueezeOfADimensionThatIsNot1_NamesNodeAndAxis(long axis, string why)
    {
        var e = Assert.Throws<OnnxImportException>(() => Load(OneNode("Squeeze", [axis])));
        Assert.Contains("the_node", e.Message);
        Assert.Contains($"axis {axis}", e.Message);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Folded_ValidAxes()
    {
        var x = Tensor.FromArray(new Shape(1, 3), 10f, 20f, 30f);
        Assert.Equal([11f, 22f, 33f], new Executor(Load(Folded("Squeeze", [0]))).Run(x).ToArray());
    }

    [Theory]
    [InlineData("Squeeze", new long[] { 1 }, "not 1")] // used to drop the size-3 axis and make a corrupt constant
    [InlineData("Squeeze", new long[] { 2 }, "out of range")]
    [InlineData("Unsqueeze", new long[] { 3 }, "out of range")]
    [InlineData("Unsqueeze", new long[] { 0, 0 }, "more than once")]
    public void Folded_BadAxes_NameNode(string op, long[] axes, string why)
    {
        var e = Assert.Throws<OnnxImportException>(() => Load(Folded(op, axes)));
        Assert.Contains("the_node", e.Message);
        Assert.Contains(why, e.Message);
    }
}

using Google.Protobuf;
using Shrink.Execution;
using Shrink.Graph;
using Shrink.Onnx;
using Shrink.Onnx.Proto;
using Shrink.Tensors;

namespace Shrink.Tests.Onnx;

/// <summary>Helpers for the ONNX tests: round trips through bytes, random inputs, and hand-written ONNX models.</summary>
internal static class OnnxTestUtil
{
    public static byte[] ToBytes(Shrink.Graph.Graph g)
    {
        using var ms = new MemoryStream();
        OnnxModel.Save(g, ms);
        return ms.ToArray();
    }

    public static Shrink.Graph.Graph FromBytes(byte[] bytes) => OnnxModel.Load(new MemoryStream(bytes));

    public static Shrink.Graph.Graph RoundTrip(Shrink.Graph.Graph g) => FromBytes(ToBytes(g));

    public static Tensor Random(Shape shape, int seed)
    {
        var rng = new Random(seed);
        var t = new Tensor(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    /// <summary>A parameter of the given shape with uniform(-bound, bound) values from <paramref name="rng"/>.</summary>
    public static Value Param(Shrink.Graph.Graph g, string name, Random rng, float bound, params int[] dims)
    {
        var t = new Tensor(new Shape(dims));
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
        return g.AddParameter(name, t);
    }

    /// <summary>Runs both graphs on the same random input(s) (batch <paramref name="batch"/>) and asserts outputs agree within <paramref name="tol"/>.</summary>
    public static void AssertSameOutputs(Shrink.Graph.Graph expected, Shrink.Graph.Graph actual, int batch = 2, float tol = 1e-5f)
    {
        Assert.Equal(expected.Inputs.Count, actual.Inputs.Count);
        Assert.Equal(expected.Outputs.Count, actual.Outputs.Count);
        var inputs = expected.Inputs.Select((v, i) => Random(v.Shape.Dims[0] == Shape.Dynamic ? v.Shape.WithBatch(batch) : v.Shape, 17 + i)).ToArray();
        var want = new Executor(expected).Run(inputs);
        var got = new Executor(actual).Run(inputs);
        for (int i = 0; i < want.Length; i++)
        {
            Assert.Equal(want[i].Shape, got[i].Shape);
            float scale = Math.Max(1f, System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(want[i].Span));
            float diff = want[i].MaxAbsDiff(got[i]);
            Assert.True(diff <= tol * scale, $"output {i}: max difference {diff} (scale {scale})");
        }
    }

    // ---- hand-written ONNX ----

    public static ModelProto Model(GraphProto g, int opset = 13)
    {
        var m = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return m;
    }

    public static ValueInfoProto FloatInfo(string name, params long[] dims)
    {
        var s = new TensorShapeProto();
        foreach (var d in dims)
            s.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "batch" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = s } } };
    }

    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.Add(inputs);
        n.Output.Add(outputs);
        n.Attribute.Add(attrs);
        return n;
    }

    public static TensorProto Floats(string name, float[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.Add(dims);
        t.FloatData.Add(values);
        return t;
    }

    public static TensorProto Int64s(string name, long[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = 7 };
        t.Dims.Add(dims);
        t.Int64Data.Add(values);
        return t;
    }

    public static AttributeProto Attr(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    public static AttributeProto Attr(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
    public static AttributeProto Attr(string name, string v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };
    public static AttributeProto Attr(string name, long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(v);
        return a;
    }

    public static Shrink.Graph.Graph Load(ModelProto m) => FromBytes(m.ToByteArray());
}

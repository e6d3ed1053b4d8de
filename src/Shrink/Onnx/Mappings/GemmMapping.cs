using Shrink.Graph;
using Shrink.Onnx.Proto;
using Shrink.Ops;

namespace Shrink.Onnx.Mappings;

/// <summary>Gemm: attributes transA, transB, alpha, beta; inputs A, B, optional C. B and C are usually initializers (Linear).</summary>
internal sealed class GemmMapping : OpMapping<Gemm>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var a = ctx.Attributes;
        var op = new Gemm
        {
            TransA = a.Int("transA", 0) != 0,
            TransB = a.Int("transB", 0) != 0,
            Alpha = a.Float("alpha", 1f),
            Beta = a.Float("beta", 1f),
        };
        return ctx.Add(op, ctx.Inputs());
    }

    protected override void Export(ExportContext ctx, Node node, Gemm op)
    {
        var p = ctx.AddNode(node);
        p.Attribute.Add(OnnxAttributes.Of("transA", op.TransA));
        p.Attribute.Add(OnnxAttributes.Of("transB", op.TransB));
        p.Attribute.Add(OnnxAttributes.Of("alpha", op.Alpha));
        p.Attribute.Add(OnnxAttributes.Of("beta", op.Beta));
    }
}

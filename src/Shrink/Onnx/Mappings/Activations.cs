using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Onnx.Mappings;

/// <summary>LeakyRelu: attribute alpha (default 0.01).</summary>
internal sealed class LeakyReluMapping : OpMapping<LeakyRelu>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx) =>
        ctx.Add(new LeakyRelu { Alpha = ctx.Attributes.Float("alpha", 0.01f) }, ctx.Input(0));

    protected override void Export(ExportContext ctx, Node node, LeakyRelu op) =>
        ctx.AddNode(node).Attribute.Add(OnnxAttributes.Of("alpha", op.Alpha));
}

/// <summary>HardSigmoid: attributes alpha (0.2), beta (0.5). PyTorch writes alpha = 1/6.</summary>
internal sealed class HardSigmoidMapping : OpMapping<HardSigmoid>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx) =>
        ctx.Add(new HardSigmoid { Alpha = ctx.Attributes.Float("alpha", 0.2f), Beta = ctx.Attributes.Float("beta", 0.5f) }, ctx.Input(0));

    protected override void Export(ExportContext ctx, Node node, HardSigmoid op)
    {
        var p = ctx.AddNode(node);
        p.Attribute.Add(OnnxAttributes.Of("alpha", op.Alpha));
        p.Attribute.Add(OnnxAttributes.Of("beta", op.Beta));
    }
}

/// <summary>HardSwish: an ONNX op from opset 14; exported at opset 13 as x · HardSigmoid(x; 1/6, 0.5).</summary>
internal sealed class HardSwishMapping : OpMapping<HardSwish>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx) => ctx.Add(new HardSwish(), ctx.Input(0));

    protected override void Export(ExportContext ctx, Node node, HardSwish op)
    {
        string x = node.Inputs[0].Name;
        string gate = ctx.FreshName(node.Outputs[0].Name + "/gate");
        var hs = ctx.AddNode(node, "HardSigmoid", [x], [gate], name: node.Name + "/HardSigmoid");
        hs.Attribute.Add(OnnxAttributes.Of("alpha", 1f / 6));
        hs.Attribute.Add(OnnxAttributes.Of("beta", 0.5f));
        ctx.AddNode(node, "Mul", [x, gate]);
    }
}

/// <summary>Silu (x·sigmoid(x)) is not an ONNX op: export only, as Sigmoid then Mul.</summary>
internal sealed class SiluMapping : OpMapping<Silu>
{
    public override IReadOnlyList<string> OnnxTypes => [];

    public override IReadOnlyList<Value> Import(ImportContext ctx) => throw ctx.Error("Silu is not an ONNX operator.");

    protected override void Export(ExportContext ctx, Node node, Silu op)
    {
        string x = node.Inputs[0].Name;
        string gate = ctx.FreshName(node.Outputs[0].Name + "/sigmoid");
        ctx.AddNode(node, "Sigmoid", [x], [gate], name: node.Name + "/Sigmoid");
        ctx.AddNode(node, "Mul", [x, gate]);
    }
}

/// <summary>Clip: min/max are attributes before opset 11 and optional constant inputs from 11 on.</summary>
internal sealed class ClipMapping : OpMapping<Clip>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        float min, max;
        if (ctx.Opset < 11)
        {
            min = ctx.Attributes.Float("min", float.MinValue);
            max = ctx.Attributes.Float("max", float.MaxValue);
        }
        else
        {
            min = ctx.ConstantFloat(1, "the min input", float.MinValue);
            max = ctx.ConstantFloat(2, "the max input", float.MaxValue);
        }
        return ctx.Add(new Clip { Min = min, Max = max }, ctx.Input(0));
    }

    protected override void Export(ExportContext ctx, Node node, Clip op)
    {
        var inputs = new List<string> { node.Inputs[0].Name };
        bool hasMax = op.Max != float.MaxValue;
        if (op.Min != float.MinValue || hasMax)
            inputs.Add(op.Min != float.MinValue ? ctx.Scalar(node.Name + "/min", op.Min) : "");
        if (hasMax) inputs.Add(ctx.Scalar(node.Name + "/max", op.Max));
        ctx.AddNode(node, inputs: inputs);
    }
}

/// <summary>Softmax: before opset 13 the default axis is 1 and the input is flattened to 2-D at the axis.</summary>
internal sealed class SoftmaxMapping : OpMapping<Softmax>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var x = ctx.Input(0);
        int axis = ctx.Attributes.Int32("axis", ctx.Opset < 13 ? 1 : -1);
        if (ctx.Opset < 13)
        {
            int rank = x.Shape.Rank;
            int a = axis < 0 ? axis + rank : axis;
            // Softmax-1/11 normalises over all dimensions from the axis on; that is one axis only when it is the last.
            ctx.Require(a == rank - 1, $"axis {axis} on a rank-{rank} input normalises over several dimensions (opset {ctx.Opset} semantics); only the last axis is supported.");
        }
        return ctx.Add(new Softmax { Axis = axis }, x);
    }

    protected override void Export(ExportContext ctx, Node node, Softmax op) =>
        ctx.AddNode(node).Attribute.Add(OnnxAttributes.Of("axis", (long)op.Axis));
}

/// <summary>Dropout: ratio is an attribute before opset 12 and an optional constant input from 12 on; identity at inference.</summary>
internal sealed class DropoutMapping : OpMapping<Dropout>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        float ratio = ctx.Opset < 12 ? ctx.Attributes.Float("ratio", 0.5f) : ctx.ConstantFloat(1, "the ratio input", 0.5f);
        if (ctx.Opset >= 12 && ctx.HasInput(2))
            ctx.Require(ctx.ConstantFloat(2, "the training_mode input", 0) == 0, "training_mode is true; Shrink imports models for inference.");
        return ctx.Add(new Dropout { Ratio = ratio }, ctx.Input(0));
    }

    protected override void Export(ExportContext ctx, Node node, Dropout op) =>
        ctx.AddNode(node, inputs: [node.Inputs[0].Name, ctx.Scalar(node.Name + "/ratio", op.Ratio)]);
}

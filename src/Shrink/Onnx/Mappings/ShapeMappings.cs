using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Onnx.Mappings;

/// <summary>BatchNormalization: epsilon, momentum; scale and bias trainable, running mean and variance frozen.</summary>
internal sealed class BatchNormalizationMapping : OpMapping<BatchNormalization>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var a = ctx.Attributes;
        ctx.Require(a.Int("training_mode", 0) == 0, "training_mode=1 is not supported; export the model in eval mode.");
        ctx.Require(a.Int("spatial", 1) == 1, "spatial=0 (per-activation statistics) is not supported.");
        var op = new BatchNormalization { Epsilon = a.Float("epsilon", 1e-5f), Momentum = a.Float("momentum", 0.9f) };
        return ctx.Add(op, ctx.Input(0), ctx.Input(1), ctx.Input(2), ctx.Input(3, trainable: false), ctx.Input(4, trainable: false));
    }

    protected override void Export(ExportContext ctx, Node node, BatchNormalization op)
    {
        var p = ctx.AddNode(node);
        p.Attribute.Add(OnnxAttributes.Of("epsilon", op.Epsilon));
        p.Attribute.Add(OnnxAttributes.Of("momentum", op.Momentum));
    }
}

/// <summary>Concat: attribute axis.</summary>
internal sealed class ConcatMapping : OpMapping<Concat>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx) =>
        ctx.Add(new Concat { Axis = ctx.Attributes.Int32("axis", 1) }, ctx.Inputs());

    protected override void Export(ExportContext ctx, Node node, Concat op) =>
        ctx.AddNode(node).Attribute.Add(OnnxAttributes.Of("axis", (long)op.Axis));
}

/// <summary>Flatten: attribute axis (default 1).</summary>
internal sealed class FlattenMapping : OpMapping<Flatten>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx) =>
        ctx.Add(new Flatten { Axis = ctx.Attributes.Int32("axis", 1) }, ctx.Input(0));

    protected override void Export(ExportContext ctx, Node node, Flatten op) =>
        ctx.AddNode(node).Attribute.Add(OnnxAttributes.Of("axis", (long)op.Axis));
}

/// <summary>Transpose: attribute perm (default: reverse).</summary>
internal sealed class TransposeMapping : OpMapping<Transpose>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx) =>
        ctx.Add(new Transpose { Perm = ctx.Attributes.IntArray("perm") }, ctx.Input(0));

    protected override void Export(ExportContext ctx, Node node, Transpose op)
    {
        var p = ctx.AddNode(node);
        if (op.Perm is not null) p.Attribute.Add(OnnxAttributes.Of("perm", op.Perm));
    }
}

/// <summary>
/// Reshape: the shape input must be constant (an initializer, a Constant or folded shape arithmetic) and becomes the
/// Shape attribute; the run-time batch size read by a Shape node becomes 0 ("copy") or −1.
/// </summary>
internal sealed class ReshapeMapping : OpMapping<Reshape>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var x = ctx.Input(0);
        var shape = ctx.ConstantWithSymbols(1, "the shape input");
        bool allowZero = ctx.Attributes.Int("allowzero", 0) != 0;
        ctx.Require(!allowZero || !Enumerable.Range(0, shape.Length).Any(i => shape.SymbolAt(i) == DimSymbol.None && shape[i] == 0),
            "allowzero=1 with a 0 in the shape (an empty tensor) is not supported.");
        return ctx.Add(new Reshape { Shape = Resolve(ctx, x.Shape, shape) }, x);
    }

    /// <summary>Turns symbolic dimensions into 0 (same position as a dynamic input dimension) or −1 (at most one).</summary>
    internal static int[] Resolve(ImportContext ctx, Shape input, ConstTensor shape)
    {
        if (shape.IsFloat) shape = ConstTensor.OfInts(shape.Dims, shape.AsLongs());
        var result = new int[shape.Length];
        bool minusOne = Enumerable.Range(0, shape.Length).Any(i => shape.SymbolAt(i) == DimSymbol.None && shape.Ints![i] == -1);
        for (int i = 0; i < shape.Length; i++)
        {
            var symbol = shape.SymbolAt(i);
            if (symbol == DimSymbol.Batch && i < input.Rank && input[i] == Shape.Dynamic) result[i] = 0;
            else if (symbol == DimSymbol.Batch && !minusOne) { result[i] = -1; minusOne = true; }
            else if (symbol != DimSymbol.None)
                throw ctx.Error($"the target shape [{string.Join(",", Enumerable.Range(0, shape.Length).Select(shape.ElementText))}] depends on run-time sizes Shrink cannot resolve.");
            else result[i] = ctx.Int32s([shape.Ints![i]], "the target shape's dimension")[0];
        }
        return result;
    }

    protected override void Export(ExportContext ctx, Node node, Reshape op) =>
        ctx.AddNode(node, inputs: [node.Inputs[0].Name, ctx.Ints(node.Name + "/shape", op.Shape)]);
}

/// <summary>Unsqueeze / Squeeze of a run-time tensor (over constants they are folded): a Reshape to the new shape.</summary>
internal sealed class UnsqueezeMapping : OpMapping
{
    public override IReadOnlyList<string> OnnxTypes => ["Unsqueeze", "Squeeze"];

    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var x = ctx.Input(0);
        bool unsqueeze = ctx.Proto.OpType == "Unsqueeze";
        var axes = ctx.Opset >= 13 ? (ctx.HasInput(1) ? ctx.ConstantInts(1, "the axes input") : null) : ctx.Attributes.Ints("axes");
        var (dims, source) = unsqueeze
            ? OnnxAxes.Unsqueeze(x.Shape.Dims.ToArray(), axes ?? throw ctx.Error("axes are missing."), ctx.Describe)
            : OnnxAxes.Squeeze(x.Shape.Dims.ToArray(), axes, ctx.Describe);
        var shape = new int[dims.Length];
        int dynamic = dims.Count(d => d == Shape.Dynamic);
        for (int i = 0; i < shape.Length; i++)
        {
            if (dims[i] != Shape.Dynamic) shape[i] = dims[i];
            else if (source[i] == i) shape[i] = 0;
            else if (dynamic == 1) shape[i] = -1;
            else throw ctx.Error($"cannot express the new shape of {x.Shape} with more than one dynamic dimension.");
        }
        return ctx.Add(new Reshape { Shape = shape }, x);
    }
}

/// <summary>Pad, constant mode: pads (and value) are attributes before opset 11 and constant inputs from 11 on.</summary>
internal sealed class PadMapping : OpMapping<Pad>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        string mode = ctx.Attributes.String("mode", "constant");
        ctx.Require(mode == "constant", $"mode '{mode}' is not supported (constant padding only).");
        long[] pads;
        float value;
        if (ctx.Opset < 11)
        {
            pads = ctx.Attributes.Ints("pads") ?? throw ctx.Error("pads are missing.");
            value = ctx.Attributes.Float("value", 0f);
        }
        else
        {
            pads = ctx.ConstantInts(1, "the pads input");
            value = ctx.ConstantFloat(2, "the constant_value input", 0f);
            ctx.Require(!ctx.HasInput(3), "the axes input is not supported.");
        }
        ctx.Require(pads.All(p => p >= 0), $"negative pads [{string.Join(",", pads)}] (cropping) are not supported.");
        return ctx.Add(new Pad { Pads = ctx.Int32s(pads, "pads"), Value = value }, ctx.Input(0));
    }

    protected override void Export(ExportContext ctx, Node node, Pad op)
    {
        var inputs = new List<string> { node.Inputs[0].Name, ctx.Ints(node.Name + "/pads", op.Pads) };
        if (op.Value != 0) inputs.Add(ctx.Scalar(node.Name + "/value", op.Value));
        ctx.AddNode(node, inputs: inputs).Attribute.Add(OnnxAttributes.Of("mode", "constant"));
    }
}

/// <summary>
/// Split: attribute axis; part sizes from the "split" attribute (opset &lt; 13) or input (13+, constant), or equal parts
/// (one per output, or opset 18's num_outputs). Exported with the sizes as an int64 initializer (opset 13).
/// </summary>
internal sealed class SplitMapping : OpMapping<Split>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var a = ctx.Attributes;
        int axis = a.Int32("axis", 0);
        long[]? sizes = ctx.Opset >= 13 ? (ctx.HasInput(1) ? ctx.ConstantInts(1, "the split input") : null) : a.Ints("split");
        int parts = a.Int32("num_outputs", ctx.Proto.Output.Count);
        var op = sizes is { Length: > 0 }
            ? new Split { Axis = axis, Sizes = ctx.Int32s(sizes, "split sizes"), NumOutputs = sizes.Length }
            : new Split { Axis = axis, NumOutputs = parts };
        return ctx.Add(op, ctx.Input(0));
    }

    protected override void Export(ExportContext ctx, Node node, Split op)
    {
        var x = node.Inputs[0].Shape;
        int axis = op.Axis < 0 ? op.Axis + x.Rank : op.Axis;
        var sizes = op.PartSizes(x[axis]);
        ctx.AddNode(node, inputs: [node.Inputs[0].Name, ctx.Ints(node.Name + "/split", sizes)])
            .Attribute.Add(OnnxAttributes.Of("axis", (long)op.Axis));
    }
}

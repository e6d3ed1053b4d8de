using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Onnx.Mappings;

/// <summary>MaxPool (2-D): kernel_shape, strides, pads / auto_pad, dilations, ceil_mode; the indices output is not supported.</summary>
internal sealed class MaxPoolMapping : OpMapping<MaxPool>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var x = ctx.Input(0);
        var a = ctx.Attributes;
        var kernel = a.IntArray("kernel_shape") ?? throw ctx.Error("kernel_shape is missing.");
        var strides = a.IntArray("strides") ?? [1, 1];
        var dilations = a.IntArray("dilations") ?? [1, 1];
        ctx.Require(a.Int("storage_order", 0) == 0, "storage_order=1 (column-major indices) is not supported.");
        var op = new MaxPool
        {
            KernelShape = kernel, Strides = strides, Dilations = dilations, CeilMode = a.Int("ceil_mode", 0) != 0,
            Pads = Spatial.Pads(ctx, x, kernel, strides, dilations),
        };
        return ctx.Add(op, x);
    }

    protected override void Export(ExportContext ctx, Node node, MaxPool op)
    {
        var p = ctx.AddNode(node);
        p.Attribute.Add(OnnxAttributes.Of("kernel_shape", op.KernelShape));
        p.Attribute.Add(OnnxAttributes.Of("strides", op.Strides));
        p.Attribute.Add(OnnxAttributes.Of("pads", op.Pads));
        if (op.Dilations.Any(d => d != 1)) p.Attribute.Add(OnnxAttributes.Of("dilations", op.Dilations));
        p.Attribute.Add(OnnxAttributes.Of("ceil_mode", op.CeilMode));
    }
}

/// <summary>AveragePool (2-D): kernel_shape, strides, pads / auto_pad, ceil_mode, count_include_pad.</summary>
internal sealed class AveragePoolMapping : OpMapping<AveragePool>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var x = ctx.Input(0);
        var a = ctx.Attributes;
        var kernel = a.IntArray("kernel_shape") ?? throw ctx.Error("kernel_shape is missing.");
        var strides = a.IntArray("strides") ?? [1, 1];
        ctx.Require(a.IntArray("dilations") is null || a.IntArray("dilations")!.All(d => d == 1), "dilated average pooling is not supported.");
        var op = new AveragePool
        {
            KernelShape = kernel, Strides = strides, CeilMode = a.Int("ceil_mode", 0) != 0,
            CountIncludePad = a.Int("count_include_pad", 0) != 0,
            Pads = Spatial.Pads(ctx, x, kernel, strides, [1, 1]),
        };
        return ctx.Add(op, x);
    }

    protected override void Export(ExportContext ctx, Node node, AveragePool op)
    {
        if (op.CountIncludePad && op.Pads.Any(v => v != 0) && SameSizeWithExplicitPad(node.Inputs[0].Shape, op))
        {
            // Zero padding counted in the average is exactly an explicit zero Pad then a pool without padding; written
            // so because some runtimes (OpenCV 4.6 DNN) ignore count_include_pad. PyTorch exports it the same way.
            string padded = ctx.FreshName(node.Outputs[0].Name + "/padded");
            int[] pads = [0, 0, op.Pads[0], op.Pads[1], 0, 0, op.Pads[2], op.Pads[3]];
            ctx.AddNode(node, "Pad", [node.Inputs[0].Name, ctx.Ints(node.Name + "/pads", pads)], [padded], name: node.Name + "/Pad")
                .Attribute.Add(OnnxAttributes.Of("mode", "constant"));
            Write(ctx.AddNode(node, inputs: [padded]), op, [0, 0, 0, 0], countIncludePad: false);
            return;
        }
        Write(ctx.AddNode(node), op, op.Pads, op.CountIncludePad);
    }

    /// <summary>In ceil mode an explicit pad can admit one more window at the end; then keep the attribute form.</summary>
    private static bool SameSizeWithExplicitPad(Tensors.Shape x, AveragePool op)
    {
        if (!op.CeilMode) return true;
        for (int i = 0; i < 2; i++)
        {
            int n = x[2 + i];
            if (n == Tensors.Shape.Dynamic) return false;
            int a = Pooling.OutputSize(n, op.KernelShape[i], op.Strides[i], op.Pads[i], op.Pads[i + 2], 1, true);
            int b = Pooling.OutputSize(n + op.Pads[i] + op.Pads[i + 2], op.KernelShape[i], op.Strides[i], 0, 0, 1, true);
            if (a != b) return false;
        }
        return true;
    }

    private static void Write(Onnx.Proto.NodeProto p, AveragePool op, int[] pads, bool countIncludePad)
    {
        p.Attribute.Add(OnnxAttributes.Of("kernel_shape", op.KernelShape));
        p.Attribute.Add(OnnxAttributes.Of("strides", op.Strides));
        p.Attribute.Add(OnnxAttributes.Of("pads", pads));
        p.Attribute.Add(OnnxAttributes.Of("ceil_mode", op.CeilMode));
        p.Attribute.Add(OnnxAttributes.Of("count_include_pad", countIncludePad));
    }
}

/// <summary>ReduceMean over the spatial axes of NCHW data (PyTorch's x.mean([2, 3])) is a global average pool; import only.</summary>
internal sealed class ReduceMeanMapping : OpMapping
{
    public override IReadOnlyList<string> OnnxTypes => ["ReduceMean"];

    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var x = ctx.Input(0);
        int rank = x.Shape.Rank;
        var axes = (ctx.Attributes.Ints("axes") ?? (ctx.HasInput(1) ? ctx.ConstantInts(1, "the axes input") : null))?
            .Select(v => v < 0 ? v + rank : v).Order().ToArray();
        ctx.Require(rank == 4 && axes is [2, 3],
            $"only a mean over the spatial axes [2,3] of 4-D data is supported, got axes [{string.Join(",", axes ?? [])}] on {x.Shape}.");
        bool keep = ctx.Attributes.Int("keepdims", 1) != 0;
        if (keep) return ctx.Add(new GlobalAveragePool(), x);
        var pooled = ctx.AddHelper(new GlobalAveragePool(), "GlobalAveragePool", x);
        return ctx.Add(new Flatten { Axis = 1 }, pooled);
    }
}

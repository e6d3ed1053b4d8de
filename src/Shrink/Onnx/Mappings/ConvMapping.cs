using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Onnx.Mappings;

/// <summary>Conv (2-D): strides, pads, dilations, group, auto_pad (resolved to pads), kernel_shape checked against W.</summary>
internal sealed class ConvMapping : OpMapping<Conv>
{
    public override IReadOnlyList<Value> Import(ImportContext ctx)
    {
        var x = ctx.Input(0);
        var w = ctx.Input(1);
        var a = ctx.Attributes;
        ctx.Require(w.Shape.Rank == 4, $"weight '{w.Name}' has shape {w.Shape}; only 2-D convolutions (4-D weights) are supported.");
        int[] kernel = [w.Shape[2], w.Shape[3]];
        if (a.IntArray("kernel_shape") is { } ks)
            ctx.Require(ks.SequenceEqual(kernel), $"kernel_shape [{string.Join(",", ks)}] does not match weight shape {w.Shape}.");
        var strides = a.IntArray("strides") ?? [1, 1];
        var dilations = a.IntArray("dilations") ?? [1, 1];
        var pads = Spatial.Pads(ctx, x, kernel, strides, dilations);
        var op = new Conv { Strides = strides, Pads = pads, Dilations = dilations, Group = a.Int32("group", 1) };
        return ctx.Add(op, ctx.HasInput(2) ? [x, w, ctx.Input(2)] : [x, w]);
    }

    protected override void Export(ExportContext ctx, Node node, Conv op)
    {
        var p = ctx.AddNode(node);
        var w = node.Inputs[1].Shape;
        p.Attribute.Add(OnnxAttributes.Of("kernel_shape", [w[2], w[3]]));
        p.Attribute.Add(OnnxAttributes.Of("strides", op.Strides));
        p.Attribute.Add(OnnxAttributes.Of("pads", op.Pads));
        p.Attribute.Add(OnnxAttributes.Of("dilations", op.Dilations));
        p.Attribute.Add(OnnxAttributes.Of("group", (long)op.Group));
    }
}

/// <summary>Attribute handling shared by Conv and the pools.</summary>
internal static class Spatial
{
    /// <summary>
    /// The explicit [top, left, bottom, right] pads: the pads attribute, or those auto_pad implies (SAME_* needs the
    /// input's spatial size, known at import for Shrink models whose only dynamic dimension is the batch).
    /// </summary>
    public static int[] Pads(ImportContext ctx, Value x, int[] kernel, int[] strides, int[] dilations)
    {
        ctx.Require(x.Shape.Rank == 4, $"input '{x.Name}' has shape {x.Shape}; only 2-D (NCHW) data is supported.");
        ctx.Require(kernel.Length == 2 && strides.Length == 2 && dilations.Length == 2, "only 2-D kernels, strides and dilations are supported.");
        ctx.Require(kernel.All(k => k > 0), $"kernel_shape [{string.Join(",", kernel)}] must be positive.");
        ctx.Require(strides.All(s => s > 0), $"strides [{string.Join(",", strides)}] must be positive.");
        ctx.Require(dilations.All(d => d > 0), $"dilations [{string.Join(",", dilations)}] must be positive.");
        string autoPad = ctx.Attributes.String("auto_pad", "NOTSET");
        switch (autoPad)
        {
            case "NOTSET":
            {
                var pads = ctx.Attributes.IntArray("pads") ?? [0, 0, 0, 0];
                ctx.Require(pads.Length == 4 && pads.All(p => p >= 0), $"pads [{string.Join(",", pads)}] must be 4 values ≥ 0 for 2-D data.");
                return pads;
            }
            case "VALID":
                return [0, 0, 0, 0];
            case "SAME_UPPER" or "SAME_LOWER":
            {
                var pads = new int[4];
                for (int i = 0; i < 2; i++)
                {
                    int size = x.Shape[2 + i];
                    ctx.Require(size > 0, $"auto_pad={autoPad} needs a known input size, but '{x.Name}' is {x.Shape}.");
                    int outSize = (size + strides[i] - 1) / strides[i];
                    int total = Math.Max(0, (outSize - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size);
                    int small = total / 2, large = total - small;
                    (pads[i], pads[i + 2]) = autoPad == "SAME_UPPER" ? (small, large) : (large, small);
                }
                return pads;
            }
            default:
                throw ctx.Error($"auto_pad '{autoPad}' is not supported (NOTSET, VALID, SAME_UPPER, SAME_LOWER).");
        }
    }
}

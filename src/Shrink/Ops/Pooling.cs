using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>Output-size arithmetic and attribute checks shared by Conv, MaxPool and AveragePool.</summary>
internal static class Pooling
{
    /// <summary>
    /// Output length along one axis: floor (or ceil) of (in + padBegin + padEnd − dilation·(k−1) − 1)/stride + 1.
    /// In ceil mode the last window must start inside the input or the left padding (PyTorch/ONNX rule).
    /// Returns <see cref="Shape.Dynamic"/> for a dynamic input and a value &lt; 1 when the window does not fit.
    /// </summary>
    public static int OutputSize(int input, int kernel, int stride, int padBegin, int padEnd, int dilation, bool ceilMode)
    {
        if (input == Shape.Dynamic) return Shape.Dynamic;
        int span = input + padBegin + padEnd - dilation * (kernel - 1) - 1;
        if (span < 0) return 0;
        int q = ceilMode ? (span + stride - 1) / stride : span / stride;
        int output = q + 1;
        if (ceilMode && (output - 1) * stride >= input + padBegin) output--;
        return output;
    }

    /// <summary>Throws unless <paramref name="values"/> has <paramref name="length"/> entries all ≥ <paramref name="min"/>.</summary>
    public static void RequireInts(int[] values, int length, int min, string op, string attribute)
    {
        if (values.Length != length)
            throw new ShapeMismatchException($"{op} attribute {attribute} must have {length} values for 2-D data, got [{string.Join(",", values)}].");
        foreach (int v in values)
            if (v < min)
                throw new ShapeMismatchException($"{op} attribute {attribute} [{string.Join(",", values)}] must be ≥ {min}" +
                    (min == 0 && attribute == "Pads" ? " (negative pads are not supported)." : "."));
    }

    /// <summary>The spatial output shape [N, channels, OH, OW] for X, or throws naming X when a window does not fit.</summary>
    public static Shape Output2d(string op, Shape x, int channels, int kh, int kw, int[] strides, int[] pads, int[] dilations, bool ceilMode)
    {
        int oh = OutputSize(x[2], kh, strides[0], pads[0], pads[2], dilations[0], ceilMode);
        int ow = OutputSize(x[3], kw, strides[1], pads[1], pads[3], dilations[1], ceilMode);
        if (oh == 0 || ow == 0)
            throw new ShapeMismatchException(
                $"{op} input {x} is smaller than the {kh}x{kw} window (dilations [{dilations[0]},{dilations[1]}], pads [{string.Join(",", pads)}]).");
        return new Shape(x[0], channels, oh, ow);
    }

    /// <summary>"2" when both values agree, else "2x1".</summary>
    public static string Pair(int[] v) => v[0] == v[1] ? $"{v[0]}" : $"{v[0]}x{v[1]}";

    /// <summary>"1" when all four pads agree, else "t,l,b,r".</summary>
    public static string Pads(int[] p) => p.All(v => v == p[0]) ? $"{p[0]}" : string.Join(",", p);
}

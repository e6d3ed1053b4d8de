using Shrink.Graph;

namespace Shrink.Onnx;

/// <summary>
/// A model file Shrink cannot read: not ONNX, truncated, an unsupported operator or attribute value, a non-constant
/// input where a constant is needed. The message is one line naming the file or the node.
/// </summary>
public class OnnxImportException : ShrinkException
{
    public OnnxImportException(string message) : base(message) { }
    public OnnxImportException(string message, Exception inner) : base(message, inner) { }
    public OnnxImportException() { }
}

/// <summary>Operators with no mapping: <see cref="Unsupported"/> lists every one of them (node name, op type), not only the first.</summary>
public sealed class UnsupportedOperatorException : OnnxImportException
{
    public UnsupportedOperatorException(IReadOnlyList<(string Node, string OpType)> unsupported)
        : base(Format(unsupported)) => Unsupported = unsupported;

    public UnsupportedOperatorException() : base("Unsupported ONNX operators.") => Unsupported = [];
    public UnsupportedOperatorException(string message) : base(message) => Unsupported = [];
    public UnsupportedOperatorException(string message, Exception inner) : base(message, inner) => Unsupported = [];

    public IReadOnlyList<(string Node, string OpType)> Unsupported { get; }

    private static string Format(IReadOnlyList<(string Node, string OpType)> ops)
    {
        var kinds = ops.Select(o => o.OpType).Distinct(StringComparer.Ordinal).Count();
        return $"Unsupported ONNX operator{(kinds == 1 ? "" : "s")} in {ops.Count} node{(ops.Count == 1 ? "" : "s")}: "
               + string.Join(", ", ops.Select(o => $"{o.OpType} (node '{o.Node}')")) + ".";
    }
}

/// <summary>A graph Shrink cannot write as ONNX (an operator with no export mapping, a parameter with a bad shape...).</summary>
public sealed class OnnxExportException : ShrinkException
{
    public OnnxExportException(string message) : base(message) { }
    public OnnxExportException(string message, Exception inner) : base(message, inner) { }
    public OnnxExportException() { }
}

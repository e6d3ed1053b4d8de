using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Onnx;

/// <summary>
/// How one ONNX operator maps to Shrink and back. Each mapping is a small class in <c>Onnx/Mappings/</c>; the
/// <see cref="OpTable"/> finds every subclass by reflection, so supporting a new operator is one new file.
/// </summary>
internal abstract class OpMapping
{
    /// <summary>ONNX op types (default domain) this mapping imports.</summary>
    public abstract IReadOnlyList<string> OnnxTypes { get; }

    /// <summary>The Shrink operator class this mapping exports, or null for import-only mappings (ReduceMean...).</summary>
    public virtual Type? ShrinkType => null;

    /// <summary>
    /// Adds the Shrink node(s) for <see cref="ImportContext.Proto"/> and returns the values standing for its outputs,
    /// in order (trailing optional outputs such as Dropout's mask may be left out when nothing reads them).
    /// </summary>
    public abstract IReadOnlyList<Value> Import(ImportContext ctx);

    /// <summary>Writes <paramref name="node"/> as one or more ONNX nodes.</summary>
    public virtual void Export(ExportContext ctx, Node node) =>
        throw new OnnxExportException($"{node.Describe()}: no ONNX export for {node.OpType}.");
}

/// <summary>A mapping for Shrink operator <typeparamref name="TOp"/> whose ONNX name is its <see cref="Operator.OpType"/>.</summary>
internal abstract class OpMapping<TOp> : OpMapping where TOp : Operator
{
    public override IReadOnlyList<string> OnnxTypes => [typeof(TOp).Name];
    public override Type ShrinkType => typeof(TOp);

    public sealed override void Export(ExportContext ctx, Node node) => Export(ctx, node, (TOp)node.Op);

    protected abstract void Export(ExportContext ctx, Node node, TOp op);
}

/// <summary>Operators with no attributes and the same inputs in ONNX and Shrink (Relu, Sigmoid, Add...).</summary>
internal abstract class SimpleMapping<TOp> : OpMapping<TOp> where TOp : Operator, new()
{
    public override IReadOnlyList<Value> Import(ImportContext ctx) => ctx.Add(new TOp(), ctx.Inputs());

    protected override void Export(ExportContext ctx, Node node, TOp op) => ctx.AddNode(node);
}

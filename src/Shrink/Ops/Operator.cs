using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// An operator: its typed attributes plus, in one place, shape inference, forward, backward and cost.
/// Instances are immutable once built (attributes are init-only), so a node's operator can be shared by clones.
/// </summary>
public abstract class Operator
{
    /// <summary>The ONNX operator name this maps to one-to-one ("Conv", "Gemm", "Relu"...).</summary>
    public abstract string OpType { get; }

    /// <summary>Fewest and most inputs accepted (optional trailing inputs such as a bias are simply absent).</summary>
    public virtual (int Min, int Max) InputArity => (1, 1);

    /// <summary>
    /// Output shapes for the given input shapes, any of which may have a dynamic (-1) batch dimension.
    /// Throws <see cref="ShapeMismatchException"/> naming both shapes when they do not fit; the graph adds the node.
    /// </summary>
    public abstract Shape[] InferShapes(ReadOnlySpan<Shape> inputs);

    /// <summary>
    /// Computes <paramref name="outputs"/> (allocated by the caller with the inferred shapes; contents undefined)
    /// from <paramref name="inputs"/>. State needed by <see cref="Backward"/> goes into <see cref="OpContext.Saved"/>.
    /// </summary>
    public abstract void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs);

    /// <summary>
    /// Adds dLoss/dInput[i] into <paramref name="inputGrads"/>[i] for every non-null entry (accumulate, never
    /// overwrite: a value read twice gets both contributions), given dLoss/dOutput in <paramref name="outputGrads"/>.
    /// Called after <see cref="Forward"/> on the same context, with the same input and output tensors.
    /// </summary>
    public abstract void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads);

    /// <summary>
    /// Whether <see cref="Backward"/> reads the data of input <paramref name="index"/> (false: at most its shape). The
    /// tape releases activations that no backward reads as soon as forward is done with them.
    /// </summary>
    public virtual bool BackwardReadsInput(int index) => true;

    /// <summary>Whether <see cref="Backward"/> reads the data of output <paramref name="index"/> (false: at most its shape).</summary>
    public virtual bool BackwardReadsOutput(int index) => true;

    /// <summary>
    /// Whether <see cref="Recompute"/> is supported: one output, cheap to make again (element-wise work), a
    /// deterministic function of the inputs and of what <see cref="Forward"/> saved. The economical tape may then
    /// release such an output after forward, even when a backward reads it, and recompute it when backward needs it.
    /// </summary>
    public virtual bool Recomputable => false;

    /// <summary>
    /// Writes into <paramref name="outputs"/> exactly (bit for bit) what <see cref="Forward"/> wrote on the same
    /// <paramref name="ctx"/> from the same <paramref name="inputs"/>, with no side effect (running statistics and
    /// saved state stay as they are). Only called when <see cref="Recomputable"/>; may run any number of times.
    /// </summary>
    public virtual void Recompute(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
        throw new NotSupportedException($"{OpType} cannot recompute its outputs.");

    /// <summary>
    /// As <see cref="Recompute"/>, followed by clamping to [<paramref name="lo"/>, <paramref name="hi"/>] (ReLU: 0, +∞)
    /// in the same pass, bit for bit what the separate clamp would give (IEEE maximum/minimum: NaN propagates); returns
    /// false, writing nothing, when this op does not fuse a clamp (the default) or not at these shapes.
    /// </summary>
    public virtual bool RecomputeClamped(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs, float lo, float hi) => false;

    /// <summary>
    /// As <see cref="Forward"/> (same saved state, same side effects such as running statistics), but writing the output
    /// clamped to [<paramref name="lo"/>, <paramref name="hi"/>] with <paramref name="lo"/> ≥ 0 — bit for bit what a
    /// following Clip(lo, hi) would make of the plain output — into <paramref name="outputs"/>: the economical tape
    /// then skips that clip's pass over a batch norm output it releases anyway. Returns false, having done nothing,
    /// when this op does not fuse a clamp (the default).
    /// </summary>
    public virtual bool ForwardClamped(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs, float lo, float hi) => false;

    /// <summary>Whether <see cref="Recompute"/> may be given an output that is one of its inputs (of the output's
    /// shape): true for ops that write each element from the same element of that input alone.</summary>
    public virtual bool RecomputesInPlace => false;

    /// <summary>
    /// Whether <see cref="Backward"/> can compute dLoss/dInput[<paramref name="index"/>] over dLoss/dOutput[0]. When that
    /// input has the output's shape, is read only there, and has no other gradient contribution yet, the tape may then
    /// pass one tensor as both <c>outputGrads[0]</c> and <c>inputGrads[index]</c> (the output gradient is not needed
    /// afterwards): the op recognises it by reference and overwrites it with the input gradient (or, for an identity
    /// Jacobian, leaves it as it is) instead of accumulating, after reading from it whatever else it needs.
    /// </summary>
    public virtual bool BackwardInPlace(int index) => false;

    /// <summary>Multiply-accumulates for one run at these (concrete) shapes; 0 for ops that do no MACs.</summary>
    public virtual long Macs(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) => 0;

    /// <summary>Element-wise, pooling and normalisation work, counted apart from MACs (roughly one per output element).</summary>
    public virtual long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs)
    {
        long n = 0;
        foreach (var s in outputs) n += Math.Max(0, s.Length);
        return n;
    }

    /// <summary>Attributes for display ("k=3 s=2 p=1"); empty when there are none.</summary>
    public virtual string Attributes => "";

    public override string ToString() => Attributes.Length == 0 ? OpType : $"{OpType}({Attributes})";

    /// <summary>Throws <see cref="ShapeMismatchException"/> unless <paramref name="shape"/> has rank <paramref name="rank"/>.</summary>
    protected void RequireRank(Shape shape, int rank, string what)
    {
        if (shape.Rank != rank)
            throw new ShapeMismatchException($"{what} must have rank {rank}, got {shape}.");
    }
}

/// <summary>Per-node, per-run state: mode, randomness and what forward saved for backward.</summary>
public sealed class OpContext : IDisposable
{
    public OpContext(bool training, Random? rng = null)
    {
        Training = training;
        Rng = rng ?? new Random(0);
    }

    /// <summary>Training mode: batch norm uses batch statistics and updates running ones, dropout drops.</summary>
    public bool Training { get; }

    public Random Rng { get; }

    /// <summary>Anything forward keeps for backward (masks, batch statistics, indices); disposed with the context.</summary>
    public object? Saved { get; set; }

    public void Dispose()
    {
        if (Saved is IDisposable d) d.Dispose();
        Saved = null;
    }
}

using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// The three span kernels of a broadcasting binary operation: both operands varying, the second fixed, the first fixed.
/// Implementations are stateless structs (as TensorPrimitives' operators) so that the loops specialise per operation.
/// </summary>
public interface IBinaryKernel
{
    static abstract void Invoke(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);
    static abstract void Invoke(ReadOnlySpan<float> a, float b, Span<float> y);
    static abstract void Invoke(float a, ReadOnlySpan<float> b, Span<float> y);
}

/// <summary>
/// Base of the two-input operators with NumPy broadcasting (Add, Sub, Mul, Div): the shape rule, and
/// <see cref="Map{TKernel}"/>, the broadcasting loop every one of them (and their backward passes) runs through.
/// </summary>
public abstract class BinaryElementwise : Operator
{
    public override (int Min, int Max) InputArity => (2, 2);

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs) => [Broadcast.Shapes(inputs[0], inputs[1])];

    /// <summary>Every binary operator's forward is a pure function of its operands (one <see cref="Map{TKernel}"/>): recomputing is running it again.</summary>
    public override bool Recomputable => true;

    /// <summary>Each span call of <see cref="Map{TKernel}"/> reads an element of a full-shape operand only to write the
    /// same element of y (exact overlap, which <see cref="TensorPrimitives"/> allows).</summary>
    public override bool RecomputesInPlace => true;

    public override void Recompute(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) => Forward(ctx, inputs, outputs);

    /// <summary>
    /// y = a ⊕ b with a and b broadcast to y's shape. Fast paths: equal shapes and a one-element operand are single
    /// span calls; otherwise the shapes are coalesced into rows, each row one span call in which every operand is
    /// either contiguous or a single value (a per-channel [C,1,1] bias over NCHW is N·C rows of H·W).
    /// </summary>
    public static void Map<TKernel>(Tensor a, Tensor b, Tensor y) where TKernel : IBinaryKernel
    {
        ReadOnlySpan<float> sa = a.Span, sb = b.Span;
        var sy = y.Span;
        if (sy.Length == 0) return;
        if (a.Length == sy.Length && b.Length == sy.Length) TKernel.Invoke(sa, sb, sy);
        else if (b.Length == 1 && a.Length == sy.Length) TKernel.Invoke(sa, sb[0], sy);
        else if (a.Length == 1 && b.Length == sy.Length) TKernel.Invoke(sa[0], sb, sy);
        else
        {
            var plan = new RowPlan(a.Shape, b.Shape, y.Shape);
            int n = plan.RowLength;
            var (rowsA, rowsB) = plan.Rows(); // two odometers in lockstep: the row's start in a and in b
            for (int r = 0; r * n < sy.Length; r++, rowsA.Next(), rowsB.Next())
            {
                var dst = sy.Slice(r * n, n);
                var (oa, ob) = (rowsA.Offset, rowsB.Offset);
                if (plan.AVaries && plan.BVaries) TKernel.Invoke(sa.Slice(oa, n), sb.Slice(ob, n), dst);
                else if (plan.AVaries) TKernel.Invoke(sa.Slice(oa, n), sb[ob], dst);
                else if (plan.BVaries) TKernel.Invoke(sa[oa], sb.Slice(ob, n), dst);
                else dst.Fill(float.NaN); // unreachable: a dimension both operands broadcast has size 1 and is dropped
            }
        }
    }

    /// <summary>
    /// y's shape coalesced into outer dimensions and one inner row: size-1 dimensions dropped, neighbours merged while
    /// both operands stay contiguous (or both stay broadcast) across them. Along the row an operand is either
    /// contiguous (stride 1) or constant (stride 0).
    /// </summary>
    internal readonly struct RowPlan
    {
        private readonly int[] _dims;     // outer dimensions, outermost first
        private readonly int[] _stridesA; // element strides of a along them (0: broadcast)
        private readonly int[] _stridesB;

        public RowPlan(Shape a, Shape b, Shape y)
        {
            var fullA = Broadcast.Strides(a, y);
            var fullB = Broadcast.Strides(b, y);
            var dims = new List<int>();
            var stA = new List<int>();
            var stB = new List<int>();
            for (int i = y.Rank - 1; i >= 0; i--)
            {
                int d = y[i];
                if (d == 1) continue;
                int ia = a.Rank - y.Rank + i, ib = b.Rank - y.Rank + i;
                int strideA = ia >= 0 && a[ia] != 1 ? fullA[i] : 0;
                int strideB = ib >= 0 && b[ib] != 1 ? fullB[i] : 0;
                int last = dims.Count - 1;
                if (last >= 0 && strideA == stA[last] * dims[last] && strideB == stB[last] * dims[last])
                {
                    dims[last] *= d; // merge into the inner neighbour: the same walk with a longer run
                    continue;
                }
                dims.Add(d);
                stA.Add(strideA);
                stB.Add(strideB);
            }
            if (dims.Count == 0) { dims.Add(1); stA.Add(1); stB.Add(1); }
            RowLength = dims[0];
            AVaries = stA[0] != 0;
            BVaries = stB[0] != 0;
            dims.Reverse(); stA.Reverse(); stB.Reverse();
            _dims = dims.Take(dims.Count - 1).ToArray();
            _stridesA = stA.Take(stA.Count - 1).ToArray();
            _stridesB = stB.Take(stB.Count - 1).ToArray();
        }

        public int RowLength { get; }
        public bool AVaries { get; }
        public bool BVaries { get; }

        public (Broadcast.Odometer A, Broadcast.Odometer B) Rows() =>
            (new Broadcast.Odometer(new Shape(_dims), _stridesA), new Broadcast.Odometer(new Shape(_dims), _stridesB));
    }

    /// <summary>A pooled scratch tensor of <paramref name="shape"/> (contents undefined) for gradient temporaries.</summary>
    protected static Tensor Scratch(Shape shape) => Tensor.Rent(shape, clear: false);
}

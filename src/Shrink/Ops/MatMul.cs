using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// NumPy matmul for operands of rank ≥ 2: A [..., M, K] · B [..., K, N] = Y [..., M, N], the leading (batch)
/// dimensions broadcast. Each batch is one <see cref="Kernels.Gemm.Sgemm"/>; backward accumulates straight into
/// the (possibly shared) batch slices of dA and dB, which sums over broadcast batches.
/// </summary>
public sealed class MatMul : Operator
{
    public override string OpType => "MatMul";
    public override (int Min, int Max) InputArity => (2, 2);

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        var (a, b) = (inputs[0], inputs[1]);
        if (a.Rank < 2 || b.Rank < 2)
            throw new ShapeMismatchException(
                $"A {a} and B {b}: MatMul needs operands of rank ≥ 2 (reshape a vector to [1,K] or [K,1] first).");
        int k = a[-1], k2 = b[-2];
        if (k != k2 && k != Shape.Dynamic && k2 != Shape.Dynamic)
            throw new ShapeMismatchException($"A {a} and B {b} do not multiply (inner dimensions {k} and {k2}).");
        Shape batch;
        try
        {
            batch = Broadcast.Shapes(BatchOf(a), BatchOf(b));
        }
        catch (ShapeMismatchException)
        {
            throw new ShapeMismatchException($"A {a} and B {b}: batch dimensions {BatchOf(a)} and {BatchOf(b)} do not broadcast.");
        }
        return [new Shape([.. batch, a[-2], b[-1]])];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        var (a, b, y) = (inputs[0], inputs[1], outputs[0]);
        var g = new Geometry(a.Shape, b.Shape, y.Shape);
        ReadOnlySpan<float> sa = a.Span, sb = b.Span;
        var sy = y.Span;
        for (int i = 0; i < g.Batches; i++)
        {
            var (oa, ob) = g.Offsets(i);
            Kernels.Gemm.Sgemm(false, false, g.M, g.N, g.K, 1f, sa.Slice(oa), g.K, sb.Slice(ob), g.N, 0f,
                sy.Slice(i * g.M * g.N, g.M * g.N), g.N);
        }
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        var (a, b, dy) = (inputs[0], inputs[1], outputGrads[0]);
        var g = new Geometry(a.Shape, b.Shape, dy.Shape);
        ReadOnlySpan<float> sa = a.Span, sb = b.Span, sdy = dy.Span;
        var da = inputGrads[0];
        var db = inputGrads[1];
        for (int i = 0; i < g.Batches; i++)
        {
            var (oa, ob) = g.Offsets(i);
            var dyi = sdy.Slice(i * g.M * g.N, g.M * g.N);
            if (da is not null) // dA (M×K) += dY·Bᵀ
                Kernels.Gemm.Sgemm(false, true, g.M, g.K, g.N, 1f, dyi, g.N, sb.Slice(ob), g.N, 1f, da.Span.Slice(oa), g.K);
            if (db is not null) // dB (K×N) += Aᵀ·dY
                Kernels.Gemm.Sgemm(true, false, g.K, g.N, g.M, 1f, sa.Slice(oa), g.K, dyi, g.N, 1f, db.Span.Slice(ob), g.N);
        }
    }

    public override long Macs(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) =>
        outputs[0].Length * inputs[0][-1];

    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) => 0;

    private static Shape BatchOf(Shape s) => new(s.Dims[..^2]);

    /// <summary>Matrix sizes and, per output batch, the element offsets of the A and B matrices it reads.</summary>
    private readonly struct Geometry
    {
        private readonly int[] _offA, _offB;

        public Geometry(Shape a, Shape b, Shape y)
        {
            (M, K, N) = (a[-2], a[-1], b[-1]);
            var batch = new Shape(y.Dims[..^2]);
            Batches = (int)batch.Length;
            _offA = BatchOffsets(BatchOf(a), batch, M * K);
            _offB = BatchOffsets(BatchOf(b), batch, K * N);
        }

        public int M { get; }
        public int K { get; }
        public int N { get; }
        public int Batches { get; }

        public (int A, int B) Offsets(int batch) => (_offA[batch], _offB[batch]);

        private static int[] BatchOffsets(Shape from, Shape to, int matrix)
        {
            var offsets = new int[Math.Max(0, (int)to.Length)];
            var it = new Broadcast.Odometer(to, Broadcast.Strides(from, to));
            for (int i = 0; i < offsets.Length; i++, it.Next()) offsets[i] = it.Offset * matrix;
            return offsets;
        }
    }
}

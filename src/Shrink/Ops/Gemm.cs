using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX Gemm: Y = alpha·A'·B' + beta·C, A' = transA ? Aᵀ : A (M×K), B' = transB ? Bᵀ : B (K×N), C optional and
/// unidirectionally broadcast to M×N. PyTorch's Linear is Gemm(transB=1) with weight [out, in] and bias [out].
/// </summary>
public sealed class Gemm : Operator
{
    public bool TransA { get; init; }
    public bool TransB { get; init; }
    public float Alpha { get; init; } = 1f;
    public float Beta { get; init; } = 1f;

    public override bool BackwardReadsOutput(int index) => false;

    public override string OpType => "Gemm";
    public override (int Min, int Max) InputArity => (2, 3);

    public override string Attributes =>
        $"transA={(TransA ? 1 : 0)} transB={(TransB ? 1 : 0)}{(Alpha != 1 ? $" alpha={Alpha}" : "")}{(Beta != 1 ? $" beta={Beta}" : "")}";

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        RequireRank(inputs[0], 2, "Gemm input A");
        RequireRank(inputs[1], 2, "Gemm input B");
        var (m, k) = TransA ? (inputs[0][1], inputs[0][0]) : (inputs[0][0], inputs[0][1]);
        var (k2, n) = TransB ? (inputs[1][1], inputs[1][0]) : (inputs[1][0], inputs[1][1]);
        if (k != k2 && k != Shape.Dynamic && k2 != Shape.Dynamic)
            throw new ShapeMismatchException($"A {inputs[0]} and B {inputs[1]} do not multiply (inner dimensions {k} and {k2}).");
        var y = new Shape(m, n);
        if (inputs.Length == 3 && !Broadcast.CanBroadcastTo(inputs[2], y))
            throw new ShapeMismatchException($"C {inputs[2]} does not broadcast to the result {y}.");
        return [y];
    }

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        var (a, b, y) = (inputs[0], inputs[1], outputs[0]);
        int m = y.Shape[0], n = y.Shape[1], k = TransA ? a.Shape[0] : a.Shape[1];
        float beta = 0;
        if (inputs.Length == 3 && Beta != 0)
        {
            Broadcast.To(inputs[2], y);
            beta = Beta;
        }
        Kernels.Gemm.Sgemm(TransA, TransB, m, n, k, Alpha, a.Span, a.Shape[1], b.Span, b.Shape[1], beta, y.Span, n);
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        var (a, b, dy) = (inputs[0], inputs[1], outputGrads[0]);
        int m = dy.Shape[0], n = dy.Shape[1], k = TransA ? a.Shape[0] : a.Shape[1];
        if (inputGrads[0] is { } da)
        {
            // A' = dY·B'ᵀ (M×K). Stored A is M×K, or K×M when transposed: then dA = B'·dYᵀ.
            if (!TransA)
                Kernels.Gemm.Sgemm(false, !TransB, m, k, n, Alpha, dy.Span, n, b.Span, b.Shape[1], 1f, da.Span, k);
            else
                Kernels.Gemm.Sgemm(TransB, true, k, m, n, Alpha, b.Span, b.Shape[1], dy.Span, n, 1f, da.Span, m);
        }
        if (inputGrads[1] is { } db)
        {
            // dB' = A'ᵀ·dY (K×N). Stored B is K×N, or N×K when transposed: then dB = dYᵀ·A'.
            if (!TransB)
                Kernels.Gemm.Sgemm(!TransA, false, k, n, m, Alpha, a.Span, a.Shape[1], dy.Span, n, 1f, db.Span, n);
            else
                Kernels.Gemm.Sgemm(true, TransA, n, k, m, Alpha, dy.Span, n, a.Span, a.Shape[1], 1f, db.Span, k);
        }
        if (inputGrads.Length == 3 && inputGrads[2] is { } dc)
            Broadcast.ReduceInto(dy, dc, Beta);
    }

    public override long Macs(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) =>
        outputs[0].Length * (TransA ? inputs[0][0] : inputs[0][1]);

    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) =>
        inputs.Length == 3 ? outputs[0].Length : 0;
}

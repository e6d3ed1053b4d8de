using System.Buffers;
using Shrink.Graph;
using Shrink.Kernels;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>
/// ONNX Conv, 2-D NCHW: Y[n, o] = B[o] + Σ W[o, c, i, j]·X[n, g·Cin/G + c, oh·sh − pt + i·dh, ow·sw − pl + j·dw],
/// W[Cout, Cin/Group, kh, kw], B[Cout] optional. Forward is im2col + GEMM per image and group (1x1 stride-1 unpadded
/// convs skip im2col; depthwise convs, Group == Cin, use the direct <see cref="DepthwiseConv"/> kernel).
/// Backward: data by GEMM + col2im, weights by GEMM over the columns, bias by reduction.
/// </summary>
public sealed class Conv : Operator
{
    /// <summary>Work (MACs) above which a batch of ≥ 2 images is split over threads (one image per task).</summary>
    private const long ParallelMacs = 1L << 22;

    public int[] Strides { get; init; } = [1, 1];

    /// <summary>top, left, bottom, right (ONNX: all begins, then all ends).</summary>
    public int[] Pads { get; init; } = [0, 0, 0, 0];

    public int[] Dilations { get; init; } = [1, 1];
    public int Group { get; init; } = 1;

    public override string OpType => "Conv";
    public override (int Min, int Max) InputArity => (2, 3);

    public override string Attributes =>
        $"s={Pooling.Pair(Strides)} p={Pooling.Pads(Pads)}" +
        (Dilations[0] != 1 || Dilations[1] != 1 ? $" d={Pooling.Pair(Dilations)}" : "") + (Group != 1 ? $" g={Group}" : "");

    public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs)
    {
        Pooling.RequireInts(Strides, 2, 1, "Conv", nameof(Strides));
        Pooling.RequireInts(Pads, 4, 0, "Conv", nameof(Pads));
        Pooling.RequireInts(Dilations, 2, 1, "Conv", nameof(Dilations));
        if (Group < 1) throw new ShapeMismatchException($"Conv attribute Group must be ≥ 1, got {Group}.");
        Shape x = inputs[0], w = inputs[1];
        RequireRank(x, 4, $"Conv input X {x}");
        RequireRank(w, 4, $"Conv weight W {w}");
        if (w[0] % Group != 0)
            throw new ShapeMismatchException($"weight {w} has {w[0]} output channels, which group {Group} does not divide.");
        if (x[1] != Shape.Dynamic && x[1] != w[1] * Group)
            throw new ShapeMismatchException($"input {x} has {x[1]} channels but weight {w} expects {w[1] * Group} (group {Group}).");
        if (inputs.Length == 3 && (inputs[2].Rank != 1 || inputs[2][0] != w[0]))
            throw new ShapeMismatchException($"bias {inputs[2]} does not match weight {w}: expected [{w[0]}].");
        return [Pooling.Output2d("Conv", x, w[0], w[2], w[3], Strides, Pads, Dilations, ceilMode: false)];
    }

    public override long Macs(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) =>
        outputs[0].Length * ((long)inputs[1][1] * inputs[1][2] * inputs[1][3]);

    public override long ElementOps(ReadOnlySpan<Shape> inputs, ReadOnlySpan<Shape> outputs) =>
        inputs.Length == 3 ? outputs[0].Length : 0;

    /// <summary>Sizes of one run, derived from the tensors.</summary>
    private readonly record struct Dims(int N, int Cin, int H, int W, int Cout, int G, int Cgin, int Cgout, int K, int P,
        bool Depthwise, bool Pointwise, Window2d Geo)
    {
        public int InImage => Cin * H * W;
        public int OutImage => Cout * P;
    }

    private Dims Measure(Tensor x, Tensor w, Tensor y)
    {
        int n = x.Shape[0], cin = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int cout = w.Shape[0], kh = w.Shape[2], kw = w.Shape[3];
        int oh = y.Shape[2], ow = y.Shape[3];
        var geo = new Window2d(kh, kw, Strides[0], Strides[1], Pads[0], Pads[1], Dilations[0], Dilations[1], oh, ow);
        bool depthwise = Group > 1 && Group == cin;
        bool pointwise = kh == 1 && kw == 1 && Strides[0] == 1 && Strides[1] == 1 && Pads.All(p => p == 0);
        int cgin = cin / Group;
        return new Dims(n, cin, h, wd, cout, Group, cgin, cout / Group, cgin * kh * kw, oh * ow, depthwise, pointwise, geo);
    }

    private static bool RunParallel(in Dims d) =>
        d.N >= 2 && (long)d.N * d.Cout * d.P * d.K >= ParallelMacs && Environment.ProcessorCount > 1;

    public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        Tensor x = inputs[0], w = inputs[1], y = outputs[0];
        Tensor? b = inputs.Length == 3 ? inputs[2] : null;
        var d = Measure(x, w, y);
        if (RunParallel(d))
        {
            float[] xa = x.Array, wa = w.Array, ya = y.Array;
            float[]? ba = b?.Array;
            Parallel.For(0, d.N, n => ForwardImage(d, xa.AsSpan(n * d.InImage, d.InImage), wa.AsSpan(0, w.Length),
                ba is null ? default : ba.AsSpan(0, d.Cout), ya.AsSpan(n * d.OutImage, d.OutImage)));
        }
        else
        {
            for (int n = 0; n < d.N; n++)
                ForwardImage(d, x.Span.Slice(n * d.InImage, d.InImage), w.Span, b is null ? default : b.Span,
                    y.Span.Slice(n * d.OutImage, d.OutImage));
        }
    }

    private static void ForwardImage(in Dims d, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        if (d.Depthwise)
        {
            DepthwiseConv.Forward(x, d.Cin, d.H, d.W, w, bias, d.Cout / d.Cin, d.Geo, y);
            return;
        }
        float[]? col = d.Pointwise ? null : ArrayPool<float>.Shared.Rent(d.K * d.P);
        try
        {
            for (int g = 0; g < d.G; g++)
            {
                var xg = x.Slice(g * d.Cgin * d.H * d.W, d.Cgin * d.H * d.W);
                ReadOnlySpan<float> src = xg;
                if (col is not null)
                {
                    Im2Col.Forward(xg, d.Cgin, d.H, d.W, d.Geo, col);
                    src = col.AsSpan(0, d.K * d.P);
                }
                var yg = y.Slice(g * d.Cgout * d.P, d.Cgout * d.P);
                float beta = 0;
                if (!bias.IsEmpty)
                {
                    for (int o = 0; o < d.Cgout; o++) yg.Slice(o * d.P, d.P).Fill(bias[g * d.Cgout + o]);
                    beta = 1;
                }
                Kernels.Gemm.Sgemm(false, false, d.Cgout, d.P, d.K, 1f, w.Slice(g * d.Cgout * d.K, d.Cgout * d.K), d.K,
                    src, d.P, beta, yg, d.P);
            }
        }
        finally
        {
            if (col is not null) ArrayPool<float>.Shared.Return(col);
        }
    }

    public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
        ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
    {
        Tensor x = inputs[0], w = inputs[1], dy = outputGrads[0];
        var d = Measure(x, w, outputs[0]);
        if (inputGrads[0] is { } dx)
        {
            if (RunParallel(d))
            {
                float[] dya = dy.Array, wa = w.Array, dxa = dx.Array;
                Parallel.For(0, d.N, n => BackwardDataImage(d, dya.AsSpan(n * d.OutImage, d.OutImage), wa.AsSpan(0, w.Length),
                    dxa.AsSpan(n * d.InImage, d.InImage)));
            }
            else
            {
                for (int n = 0; n < d.N; n++)
                    BackwardDataImage(d, dy.Span.Slice(n * d.OutImage, d.OutImage), w.Span, dx.Span.Slice(n * d.InImage, d.InImage));
            }
        }
        if (inputGrads[1] is { } dw)
        {
            // Sequential over images so the accumulation order (and so the result) does not depend on threads.
            for (int n = 0; n < d.N; n++)
                BackwardWeightImage(d, x.Span.Slice(n * d.InImage, d.InImage), dy.Span.Slice(n * d.OutImage, d.OutImage), dw.Span);
        }
        if (inputGrads.Length == 3 && inputGrads[2] is { } db)
        {
            var dbs = db.Span;
            for (int n = 0; n < d.N; n++)
                for (int o = 0; o < d.Cout; o++)
                    dbs[o] += TensorPrimitives.Sum<float>(dy.Span.Slice(n * d.OutImage + o * d.P, d.P));
        }
    }

    private static void BackwardDataImage(in Dims d, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        if (d.Depthwise)
        {
            DepthwiseConv.BackwardData(dy, w, d.Cin, d.H, d.W, d.Cout / d.Cin, d.Geo, dx);
            return;
        }
        float[]? col = d.Pointwise ? null : ArrayPool<float>.Shared.Rent(d.K * d.P);
        try
        {
            for (int g = 0; g < d.G; g++)
            {
                var wg = w.Slice(g * d.Cgout * d.K, d.Cgout * d.K);
                var dyg = dy.Slice(g * d.Cgout * d.P, d.Cgout * d.P);
                var dxg = dx.Slice(g * d.Cgin * d.H * d.W, d.Cgin * d.H * d.W);
                if (col is null)
                {
                    // dX_g += W_gᵀ·dY_g, straight into the input gradient.
                    Kernels.Gemm.Sgemm(true, false, d.K, d.P, d.Cgout, 1f, wg, d.K, dyg, d.P, 1f, dxg, d.P);
                }
                else
                {
                    var dcol = col.AsSpan(0, d.K * d.P);
                    Kernels.Gemm.Sgemm(true, false, d.K, d.P, d.Cgout, 1f, wg, d.K, dyg, d.P, 0f, dcol, d.P);
                    Im2Col.Backward(dcol, d.Cgin, d.H, d.W, d.Geo, dxg);
                }
            }
        }
        finally
        {
            if (col is not null) ArrayPool<float>.Shared.Return(col);
        }
    }

    private static void BackwardWeightImage(in Dims d, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        if (d.Depthwise)
        {
            DepthwiseConv.BackwardWeight(x, dy, d.Cin, d.H, d.W, d.Cout / d.Cin, d.Geo, dw);
            return;
        }
        float[]? col = d.Pointwise ? null : ArrayPool<float>.Shared.Rent(d.K * d.P);
        try
        {
            for (int g = 0; g < d.G; g++)
            {
                var xg = x.Slice(g * d.Cgin * d.H * d.W, d.Cgin * d.H * d.W);
                ReadOnlySpan<float> src = xg;
                if (col is not null)
                {
                    Im2Col.Forward(xg, d.Cgin, d.H, d.W, d.Geo, col);
                    src = col.AsSpan(0, d.K * d.P);
                }
                // dW_g += dY_g·colᵀ  ([Cgout, P]·[P, K]).
                Kernels.Gemm.Sgemm(false, true, d.Cgout, d.K, d.P, 1f, dy.Slice(g * d.Cgout * d.P, d.Cgout * d.P), d.P,
                    src, d.P, 1f, dw.Slice(g * d.Cgout * d.K, d.Cgout * d.K), d.K);
            }
        }
        finally
        {
            if (col is not null) ArrayPool<float>.Shared.Return(col);
        }
    }
}

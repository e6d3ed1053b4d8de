using Shrink.Compression.LowRank;
using Shrink.Execution;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Compression;

public class LowRankPassTests
{
    /// <summary>One conv layer's configuration: channels, kernel, stride, pads (t, l, b, r), dilation, bias, input size.</summary>
    public sealed record ConvCase(int In, int Out, int Kh, int Kw, int[] Strides, int[] Pads, int[] Dilations, bool Bias, int H, int W, int Batch)
    {
        public override string ToString() =>
            $"{In}->{Out} {Kh}x{Kw} s{string.Join("x", Strides)} p{string.Join(",", Pads)} d{string.Join("x", Dilations)} bias={Bias} {H}x{W} n={Batch}";
    }

    public static TheoryData<ConvCase> Cases() =>
    [
        new(4, 6, 3, 3, [1, 1], [1, 1, 1, 1], [1, 1], true, 7, 7, 1),
        new(5, 3, 3, 3, [2, 2], [1, 0, 2, 1], [1, 1], false, 9, 8, 3),   // stride 2, asymmetric padding
        new(3, 4, 3, 3, [1, 1], [2, 2, 2, 2], [2, 2], true, 9, 6, 3),    // dilation 2, non-square input
        new(4, 5, 5, 5, [2, 1], [2, 1, 1, 2], [1, 2], true, 11, 10, 1),  // 5x5, mixed stride and dilation
        new(3, 4, 3, 1, [1, 2], [1, 0, 1, 0], [1, 1], true, 8, 7, 3),    // 3x1: no 1×kw depthwise conv
        new(4, 3, 1, 3, [2, 1], [0, 1, 1, 1], [1, 2], false, 6, 9, 1),   // 1x3: no kh×1 depthwise conv
    ];

    internal static Shrink.Graph.Graph ConvGraph(ConvCase c, int seed, bool relu = true, Tensor? weight = null)
    {
        var g = new Shrink.Graph.Graph("t");
        var x = g.AddInput("x", new Shape(-1, c.In, c.H, c.W));
        var rng = new Random(seed);
        var w = weight ?? new Tensor(new Shape(c.Out, c.In, c.Kh, c.Kw));
        if (weight is null) Init.Uniform(w, -1, 1, rng);
        var inputs = new List<Value> { x, g.AddParameter("conv2.weight", w) };
        if (c.Bias)
        {
            var b = new Tensor(new Shape(c.Out));
            Init.Uniform(b, -1, 1, rng);
            inputs.Add(g.AddParameter("conv2.bias", b));
        }
        var op = new Conv { Strides = c.Strides, Pads = c.Pads, Dilations = c.Dilations };
        var y = g.AddNode(op, inputs, "conv2").Outputs[0];
        g.AddOutput(relu ? g.AddNode(new Relu(), [y], "relu").Outputs[0] : y);
        g.Verify();
        return g;
    }

    internal static Tensor RandomInput(Shape s, int seed)
    {
        var t = new Tensor(s);
        Init.Normal(t, 0, 1, new Random(seed));
        return t;
    }

    /// <summary>max |a − b| / max |a|.</summary>
    internal static double RelMax(Tensor a, Tensor b) => a.MaxAbsDiff(b) / Math.Max(1e-30, a.ToArray().Max(MathF.Abs));

    /// <summary>‖a − b‖₂ / ‖a‖₂.</summary>
    internal static double RelL2(Tensor a, Tensor b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            num += d * d;
            den += (double)a[i] * a[i];
        }
        return Math.Sqrt(num / den);
    }

    private static ConvGeometry Geometry(ConvCase c, Shrink.Graph.Graph g)
    {
        var y = g.FindNode("conv2")!.Outputs[0].Shape;
        return new ConvGeometry(c.Out, c.In, c.Kh, c.Kw, c.H, c.W, y[2], y[3]);
    }

    private static Tensor Run(Shrink.Graph.Graph g, Tensor x) => new Executor(g).Run(x);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cp_at_full_rank_reproduces_the_conv(ConvCase c)
    {
        var g = ConvGraph(c, seed: 1);
        var geo = Geometry(c, g);
        var x = RandomInput(new Shape(c.Batch, c.In, c.H, c.W), 2);
        var expected = Run(g, x);
        int rank = LowRankCost.MaxUsefulRank(geo, LowRankMethod.Cp);
        var result = new CpConvPass(new LowRankPlan().Set("conv2", LayerRank.Cp(rank))).Apply(g);
        g.Verify();
        Assert.True(result.Modified);
        var layer = Assert.Single(result.Layers);
        Assert.Equal(LowRankMethod.Cp, layer.Applied.Method);
        Assert.True(RelMax(expected, Run(g, x)) < 1e-4, $"{c}: {RelMax(expected, Run(g, x))}");

        // Structure, names and counts.
        var names = g.Nodes.Select(n => n.Name).ToList();
        var want = new List<string> { "conv2.cp.pw1" };
        if (c.Kh > 1) want.Add("conv2.cp.dw_h");
        if (c.Kw > 1) want.Add("conv2.cp.dw_w");
        want.Add("conv2.cp.pw2");
        Assert.Equal([.. want, "relu"], names);
        Assert.Equal(want, layer.NewNodes);
        Assert.Contains(g.Parameters, p => p.Name == "conv2.cp.pw1.weight" && p.Shape == new Shape(rank, c.In, 1, 1));
        Assert.DoesNotContain(g.Parameters, p => p.Name == "conv2.weight");
        Assert.Equal(c.Bias, g.Parameters.Any(p => p.Name == "conv2.bias"));
        if (c.Kh > 1)
        {
            var dw = (Conv)g.FindNode("conv2.cp.dw_h")!.Op;
            Assert.Equal(rank, dw.Group);
            Assert.Equal(c.Strides[0], dw.Strides[0]);
            Assert.Equal(c.Dilations[0], dw.Dilations[0]);
            Assert.Equal(c.Pads[0], dw.Pads[0]);
            Assert.Equal(c.Pads[2], dw.Pads[2]);
        }
        Assert.Equal(LowRankCost.ConvParams(geo, c.Bias), layer.ParamsBefore);
        Assert.Equal(LowRankCost.ConvMacs(geo), layer.MacsBefore);
        Assert.Equal(LowRankCost.CpParams(geo, rank, c.Bias), layer.ParamsAfter);
        Assert.Equal(LowRankCost.CpMacs(geo, rank), layer.MacsAfter);
        Assert.Equal(g.ParameterCount, layer.ParamsAfter);
        Assert.Equal(Shrink.Profiling.Profiler.Profile(g).Macs, layer.MacsAfter);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tucker2_at_full_rank_reproduces_the_conv(ConvCase c)
    {
        var g = ConvGraph(c, seed: 3);
        var geo = Geometry(c, g);
        var x = RandomInput(new Shape(c.Batch, c.In, c.H, c.W), 4);
        var expected = Run(g, x);
        var result = new TuckerConvPass(new LowRankPlan().Set("conv2", LayerRank.Tucker2(c.Out, c.In))).Apply(g);
        g.Verify();
        var layer = Assert.Single(result.Layers);
        Assert.True(RelMax(expected, Run(g, x)) < 1e-4, $"{c}: {RelMax(expected, Run(g, x))}");
        Assert.Equal(["conv2.tucker.pw1", "conv2.tucker.core", "conv2.tucker.pw2", "relu"], g.Nodes.Select(n => n.Name));
        var core = (Conv)g.FindNode("conv2.tucker.core")!.Op;
        Assert.Equal(c.Strides, core.Strides);
        Assert.Equal(c.Pads, core.Pads);
        Assert.Equal(c.Dilations, core.Dilations);
        Assert.Equal(LowRankCost.TuckerParams(geo, c.Out, c.In, c.Bias), layer.ParamsAfter);
        Assert.Equal(LowRankCost.TuckerMacs(geo, c.Out, c.In), layer.MacsAfter);
        Assert.Equal(LowRankCost.ConvMacs(geo), layer.MacsBefore);
        Assert.True(layer.RelativeError < 1e-10);
    }

    [Theory]
    [InlineData(6, 4, 1, 1, true, 1)]
    [InlineData(3, 8, 2, 0, false, 3)]
    [InlineData(5, 5, 2, 1, true, 3)]
    public void Pointwise_conv_becomes_two_1x1_convs_by_svd(int inC, int outC, int stride, int pad, bool bias, int batch)
    {
        var c = new ConvCase(inC, outC, 1, 1, [stride, stride], [pad, pad, pad, pad], [1, 1], bias, 6, 5, batch);
        var x = RandomInput(new Shape(batch, inC, 6, 5), 5);
        foreach (var method in new[] { LowRankMethod.Svd, LowRankMethod.Cp, LowRankMethod.Tucker2 })
        {
            var g = ConvGraph(c, seed: 6);
            var geo = Geometry(c, g);
            var expected = Run(g, x);
            int full = Math.Min(inC, outC);
            var result = LowRankPasses.Apply(g, new LowRankPlan().Set("conv2", new LayerRank(method, full, full)));
            g.Verify();
            var layer = Assert.Single(result.Layers);
            Assert.Equal(LowRankMethod.Svd, layer.Applied.Method);
            Assert.Equal(["conv2.svd.pw1", "conv2.svd.pw2", "relu"], g.Nodes.Select(n => n.Name));
            Assert.True(RelMax(expected, Run(g, x)) < 1e-4, $"{method}: {RelMax(expected, Run(g, x))}");
            Assert.Equal(LowRankCost.SvdConvParams(geo, full, bias), layer.ParamsAfter);
            Assert.Equal(LowRankCost.SvdConvMacs(geo, full), layer.MacsAfter);
        }
    }

    internal static Shrink.Graph.Graph LinearGraph(int inF, int outF, bool bias, bool transB, float alpha = 1, float beta = 1, int seed = 0)
    {
        var g = new Shrink.Graph.Graph("fcnet");
        var x = g.AddInput("x", new Shape(-1, inF));
        var rng = new Random(seed);
        var w = new Tensor(transB ? new Shape(outF, inF) : new Shape(inF, outF));
        Init.Uniform(w, -1, 1, rng);
        var inputs = new List<Value> { x, g.AddParameter("fc.weight", w) };
        if (bias)
        {
            var b = new Tensor(new Shape(outF));
            Init.Uniform(b, -1, 1, rng);
            inputs.Add(g.AddParameter("fc.bias", b));
        }
        var y = g.AddNode(new Gemm { TransB = transB, Alpha = alpha, Beta = beta }, inputs, "fc").Outputs[0];
        g.AddOutput(g.AddNode(new Relu(), [y], "relu").Outputs[0]);
        return g;
    }

    [Theory]
    [InlineData(7, 5, true, true, 1f, 1f, 1)]
    [InlineData(4, 9, false, true, 1f, 1f, 3)]
    [InlineData(6, 6, true, false, 0.5f, 2f, 3)]   // Gemm without transB, alpha and beta
    public void Svd_linear_at_full_rank_reproduces_the_layer(int inF, int outF, bool bias, bool transB, float alpha, float beta, int batch)
    {
        var g = LinearGraph(inF, outF, bias, transB, alpha, beta);
        var x = RandomInput(new Shape(batch, inF), 7);
        var expected = Run(g, x);
        int r = Math.Min(inF, outF);
        var result = new SvdLinearPass(new LowRankPlan().Set("fc", LayerRank.Svd(r))).Apply(g);
        g.Verify();
        var layer = Assert.Single(result.Layers);
        Assert.True(RelMax(expected, Run(g, x)) < 1e-4, $"{RelMax(expected, Run(g, x))}");
        Assert.Equal(["fc.svd.v", "fc.svd.s", "fc.svd.u", "relu"], g.Nodes.Select(n => n.Name));
        Assert.Equal(new Shape(r, inF), g["fc.svd.v.weight"].Shape);
        Assert.Equal(new Shape(r, r), g["fc.svd.s.weight"].Shape);
        Assert.Equal(new Shape(outF, r), g["fc.svd.u.weight"].Shape);
        Assert.All(g.Nodes.Take(3), n => Assert.True(((Gemm)n.Op).TransB));
        Assert.Equal(LowRankCost.LinearParams(outF, inF, bias), layer.ParamsBefore);
        Assert.Equal(LowRankCost.SvdLinearParams(outF, inF, r, bias), layer.ParamsAfter);
        Assert.Equal(LowRankCost.LinearMacs(outF, inF), layer.MacsBefore);
        Assert.Equal(LowRankCost.SvdLinearMacs(outF, inF, r), layer.MacsAfter);
    }

    /// <summary>
    /// With i.i.d. unit inputs, no padding and no bias, E‖conv(x, ΔW)‖² / E‖conv(x, W)‖² = ‖ΔW‖² / ‖W‖²: the output error of
    /// the factorised layer is what the decomposition's relative error predicts (within sampling noise, ~10% here).
    /// </summary>
    [Theory]
    [InlineData(LowRankMethod.Cp)]
    [InlineData(LowRankMethod.Tucker2)]
    [InlineData(LowRankMethod.Svd)]
    public void Reduced_rank_output_error_shrinks_with_rank_and_matches_the_weight_error(LowRankMethod method)
    {
        bool linear = method == LowRankMethod.Svd;
        var c = new ConvCase(8, 10, 3, 3, [1, 1], [0, 0, 0, 0], [1, 1], false, 12, 12, 4);
        int[] ranks = method switch { LowRankMethod.Cp => [2, 6, 14, 30], LowRankMethod.Tucker2 => [1, 3, 5, 8], _ => [1, 3, 6, 10] };
        var x = linear ? RandomInput(new Shape(256, 16), 8) : RandomInput(new Shape(c.Batch, c.In, c.H, c.W), 8);
        double previous = double.PositiveInfinity;
        foreach (int r in ranks)
        {
            var g = linear ? LinearGraph(16, 12, false, true, seed: 9) : ConvGraph(c, seed: 9, relu: false);
            if (linear) g.RemoveNode(g.FindNode("relu")!);
            var expected = Run(g, x);
            var rank = method switch { LowRankMethod.Cp => LayerRank.Cp(r), LowRankMethod.Tucker2 => LayerRank.Tucker2(r, Math.Min(r, c.In)), _ => LayerRank.Svd(r) };
            var result = LowRankPasses.Apply(g, new LowRankPlan().Set(linear ? "fc" : "conv2", rank),
                new CpConvOptions { FallbackToTucker = false });
            var layer = Assert.Single(result.Layers);
            double outputError = RelL2(expected, Run(g, x));
            Assert.True(outputError < previous, $"rank {r}: {outputError} ≥ {previous}");
            Assert.InRange(outputError / layer.RelativeError, 0.85, 1.15);
            previous = outputError;
        }
    }

    [Fact]
    public void Gradients_flow_through_the_factorised_layers()
    {
        var c = new ConvCase(4, 6, 3, 3, [2, 2], [1, 1, 1, 1], [1, 1], true, 8, 8, 2);
        foreach (var rank in new[] { LayerRank.Cp(5), LayerRank.Tucker2(3, 2) })
        {
            var g = ConvGraph(c, seed: 10);
            LowRankPasses.Apply(g, new LowRankPlan().Set("conv2", rank));
            var x = RandomInput(new Shape(2, 4, 8, 8), 11);
            using var tape = Tape.Forward(g, [x], training: true);
            var upstream = RandomInput(tape.Output.Shape, 12);
            tape.Backward([upstream]);
            foreach (var p in g.Parameters)
            {
                Assert.NotNull(p.Grad);
                Assert.False(p.Grad!.HasNonFinite());
                Assert.True(p.Grad.ToArray().Any(v => v != 0), $"{rank}: {p.Name} got a zero gradient");
            }
        }
        var lg = LinearGraph(6, 4, true, true);
        new SvdLinearPass(new LowRankPlan().Set("fc", LayerRank.Svd(3))).Apply(lg);
        using (var tape = Tape.Forward(lg, [RandomInput(new Shape(3, 6), 13)], training: true))
            tape.Backward([RandomInput(new Shape(3, 4), 14)]);
        Assert.All(lg.Parameters, p => Assert.True(p.Grad!.ToArray().Any(v => v != 0), p.Name));
    }

    [Fact]
    public void Passes_decline_nodes_they_do_not_handle()
    {
        var b = new GraphBuilder("net", seed: 0);
        var x = b.Input(4, 6, 6);
        x = b.Conv2d(x, 8, kernel: 3, padding: 1, name: "conv1");
        x = b.Conv2d(x, 8, kernel: 3, padding: 1, groups: 8, name: "dw");       // depthwise
        x = b.Relu(x, name: "act");
        x = b.Flatten(x);
        x = b.Linear(x, 5, name: "fc");
        var g = b.Build(x);
        int nodes = g.Nodes.Count;
        var plan = new LowRankPlan()
            .Set("dw", LayerRank.Cp(4))
            .Set("act", LayerRank.Tucker2(2, 2))
            .Set("fc", LayerRank.Cp(2))          // CP of a Gemm
            .Set("nosuch", LayerRank.Svd(2))
            .Set("conv1", LayerRank.Svd(2));     // SVD of a 3x3 conv
        var cp = new CpConvPass(plan).Apply(g);
        var tucker = new TuckerConvPass(plan).Apply(g);
        var svd = new SvdLinearPass(plan).Apply(g);
        Assert.False(cp.Modified || tucker.Modified || svd.Modified);
        Assert.Equal(nodes, g.Nodes.Count);
        var all = cp.Declined.Concat(tucker.Declined).Concat(svd.Declined).ToDictionary(d => d.Node, d => d.Reason);
        Assert.Contains("group=8", all["dw"]);
        Assert.Contains("not a Conv", all["act"]);
        Assert.Contains("not a Conv", all["fc"]);
        Assert.Contains("no node named 'nosuch'", all["nosuch"]);
        Assert.Contains("3x3 conv", all["conv1"]);
        g.Verify();
        Assert.Throws<ArgumentOutOfRangeException>(() => new LowRankPlan().Set("conv1", LayerRank.Cp(0)));
    }

    [Fact]
    public void Degenerate_cp_falls_back_to_tucker2()
    {
        var weight = DecompositionTests.BorderRank2([4, 4, 3, 3], seed: 2).ToTensor();
        var c = new ConvCase(4, 4, 3, 3, [1, 1], [1, 1, 1, 1], [1, 1], true, 6, 6, 1);
        var g = ConvGraph(c, seed: 0, weight: weight);
        var geo = Geometry(c, g);
        var options = new CpConvOptions { Cp = new CpOptions { MaxIterations = 3000, MaxLambdaRatio = 3 } };
        var result = new CpConvPass(new LowRankPlan().Set("conv2", LayerRank.Cp(2)), options).Apply(g);
        g.Verify();
        var layer = Assert.Single(result.Layers);
        Assert.Equal(LowRankMethod.Cp, layer.Requested.Method);
        Assert.Equal(LowRankMethod.Tucker2, layer.Applied.Method);
        Assert.Contains("degenerate", layer.Note);
        Assert.True(layer.ParamsAfter <= LowRankCost.CpParams(geo, 2, bias: true), "the fallback is no larger than the CP asked for");
        Assert.Equal(["conv2.tucker.pw1", "conv2.tucker.core", "conv2.tucker.pw2", "relu"], g.Nodes.Select(n => n.Name));
    }

    [Fact]
    public void Cp_that_loses_to_a_same_size_tucker2_falls_back()
    {
        // A weight of multilinear rank (2, 2) over (out, in) but full spatial rank: Tucker-2(2,2) is exact, CP(8) is not.
        var core = DecompositionTests.RandomTensor([2, 2, 3, 3], seed: 20);
        var rng = new Random(21);
        var uOut = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(16, 2, (_, _) => Init.NextGaussian(rng));
        var uIn = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(16, 2, (_, _) => Init.NextGaussian(rng));
        var weight = core.ModeProduct(0, uOut).ModeProduct(1, uIn).ToTensor();
        var c = new ConvCase(16, 16, 3, 3, [1, 1], [1, 1, 1, 1], [1, 1], false, 5, 5, 1);
        var g = ConvGraph(c, seed: 0, weight: weight);
        var x = RandomInput(new Shape(1, 16, 5, 5), 22);
        var expected = Run(g, x);
        var layer = Assert.Single(new CpConvPass(new LowRankPlan().Set("conv2", LayerRank.Cp(3))).Apply(g).Layers);
        Assert.Equal(LowRankMethod.Tucker2, layer.Applied.Method);
        Assert.Contains("worse than Tucker-2", layer.Note);
        Assert.True(RelMax(expected, Run(g, x)) < 1e-4);
    }

    private static Shrink.Graph.Graph SmallCnn()
    {
        var b = new GraphBuilder("cnn", seed: 3);
        var x = b.Input(3, 10, 10);
        x = b.Relu(b.Conv2d(x, 8, kernel: 3, padding: 1, name: "conv1"));
        x = b.Relu(b.Conv2d(x, 12, kernel: 3, stride: 2, padding: 1, name: "conv2"));
        x = b.Relu(b.Conv2d(x, 10, kernel: 1, name: "conv3"));
        x = b.Relu(b.Conv2d(x, 10, kernel: 3, padding: 1, groups: 10, name: "dw"));
        x = b.Flatten(x);
        x = b.Relu(b.Linear(x, 16, name: "fc1"));
        return b.Build(b.Linear(x, 4, name: "fc2"));
    }

    [Fact]
    public void A_mixed_plan_over_a_small_cnn_is_exact_at_full_rank_and_counts_add_up_at_reduced_rank()
    {
        var x = RandomInput(new Shape(3, 3, 10, 10), 30);
        var g = SmallCnn();
        var expected = Run(g, x);
        var full = new LowRankPlan()
            .Set("conv1", LayerRank.Tucker2(8, 3))
            .Set("conv2", LayerRank.Cp(10_000))      // clamped to the exact rank 8·3·3 = 72
            .Set("conv3", LayerRank.Svd(10))
            .Set("dw", LayerRank.Cp(4))              // depthwise: declined
            .Set("fc1", LayerRank.Svd(16))
            .Set("fc2", LayerRank.Svd(4));
        var result = LowRankPasses.Apply(g, full);
        g.Verify();
        Assert.Equal(5, result.Layers.Count);
        Assert.Equal("dw", Assert.Single(result.Declined).Node);
        var conv2 = result.Layers.Single(l => l.Node == "conv2");
        Assert.Equal(LayerRank.Cp(72), conv2.Applied);
        Assert.Equal("rank 10000 clamped to 72 (exact CP)", conv2.Note);
        Assert.True(RelMax(expected, Run(g, x)) < 1e-4, $"{RelMax(expected, Run(g, x))}");

        var small = SmallCnn();
        long before = small.ParameterCount;
        var reduced = LowRankPasses.Apply(small, new LowRankPlan()
            .Set("conv2", LayerRank.Cp(6)).Set("conv1", LayerRank.Tucker2(4, 2)).Set("fc1", LayerRank.Svd(3)));
        small.Verify();
        Assert.Equal(before - small.ParameterCount, reduced.Layers.Sum(l => l.ParamsBefore - l.ParamsAfter));
        var profile = Shrink.Profiling.Profiler.Profile(small);
        var original = Shrink.Profiling.Profiler.Profile(SmallCnn());
        Assert.Equal(original.Macs - profile.Macs, reduced.Layers.Sum(l => l.MacsBefore - l.MacsAfter));
        Assert.All(reduced.Layers, l => Assert.InRange(l.RelativeError, 1e-3, 1));
        Assert.Equal(new Shape(1, 4), Run(small, RandomInput(new Shape(1, 3, 10, 10), 31)).Shape);
    }

    [Fact]
    public void Rank_helpers_match_the_formulas()
    {
        var g = new ConvGeometry(64, 64, 3, 3, 16, 16, 16, 16);
        Assert.Equal(64 * 3 * 3, LowRankCost.MaxUsefulRank(g, LowRankMethod.Cp));      // numel / largest dimension
        Assert.Equal(64, LowRankCost.MaxUsefulRank(g, LowRankMethod.Tucker2));
        int cp = LowRankCost.BreakEvenRank(g, LowRankMethod.Cp);
        Assert.Equal((64 * 64 * 9 - 1) / (64 + 3 + 3 + 64), cp);                     // 275
        Assert.True(LowRankCost.CpParams(g, cp + 1, false) >= LowRankCost.ConvParams(g, false));
        int tk = LowRankCost.BreakEvenRank(g, LowRankMethod.Tucker2);
        Assert.True(LowRankCost.TuckerParams(g, tk, tk, false) < 64 * 64 * 9);
        Assert.True(tk == 64 || LowRankCost.TuckerParams(g, tk + 1, tk + 1, false) >= 64 * 64 * 9);
        Assert.Equal(Enumerable.Range(1, 64).Last(r => 128 * r + r * r < 64 * 64), LowRankCost.BreakEvenRank(64, 64));
        Assert.Equal(26, LowRankCost.BreakEvenRank(64, 64));

        var b = new GraphBuilder("n", seed: 1);
        var net = b.Build(b.Conv2d(b.Input(8, 6, 6), 8, kernel: 3, name: "c"));
        var node = net.FindNode("c")!;
        var full = LowRankPasses.EnergyRank(node, LowRankMethod.Tucker2, 1.0)!;
        Assert.Equal(8, full.Rank);
        var half = LowRankPasses.EnergyRank(node, LowRankMethod.Cp, 0.5)!;
        Assert.InRange(half.Rank, 1, 7);
        Assert.Null(LowRankPasses.EnergyRank(node, LowRankMethod.Svd, 0.9));
    }
}

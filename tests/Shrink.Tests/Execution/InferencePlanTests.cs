using Shrink.Execution;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;
using Shrink.Zoo;

namespace Shrink.Tests.Execution;

/// <summary>The inference plan (folding, fusion, in-place, views, buffer reuse) against the plain, unoptimised run
/// of the same graph (the tape in evaluation mode, one fresh tensor per value).</summary>
public class InferencePlanTests
{
    private static Tensor Plain(Shrink.Graph.Graph g, Tensor x)
    {
        using var tape = Tape.Forward(g, [x], training: false);
        return tape.Output.Clone();
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        float scale = 0;
        foreach (var v in expected.Span) scale = MathF.Max(scale, MathF.Abs(v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= 1e-4f * MathF.Max(1f, scale),
                $"{what}: element {i} is {actual[i]}, expected {expected[i]}");
    }

    /// <summary>Gives every batch norm non-trivial running statistics and affine parameters.</summary>
    private static void RandomiseNorms(Shrink.Graph.Graph g, Random rng)
    {
        foreach (var p in g.Parameters)
        {
            var s = p.Data.Span;
            if (p.Name.EndsWith("running_var")) for (int i = 0; i < s.Length; i++) s[i] = 0.5f + (float)rng.NextDouble();
            else if (p.Name.EndsWith("running_mean") || p.Name.Contains("bn") && p.Name.EndsWith("bias"))
                for (int i = 0; i < s.Length; i++) s[i] = (float)rng.NextDouble() - 0.5f;
            else if (p.Name.Contains("bn") && p.Name.EndsWith("weight")) for (int i = 0; i < s.Length; i++) s[i] = 0.5f + (float)rng.NextDouble();
        }
    }

    /// <summary>A random small CNN: conv (± bias, ± BN, ± ReLU/ReLU6), residual adds, depthwise, pools, flatten, linear.</summary>
    private static Shrink.Graph.Graph RandomModel(int seed)
    {
        var rng = new Random(seed);
        var b = new GraphBuilder($"random{seed}", seed);
        var x = b.Input(3, 9, 9);
        int c = 3, layers = rng.Next(3, 7), n = 0;
        for (int i = 0; i < layers; i++)
        {
            int kind = rng.Next(5);
            Value y;
            if (kind == 0 && i > 0)
            {
                y = b.Conv2d(x, c, 3, padding: 1, groups: c, bias: rng.Next(2) == 0, name: $"dw{n++}");
            }
            else
            {
                int outC = rng.Next(2, 9), k = rng.Next(2) == 0 ? 1 : 3, stride = rng.Next(3) == 0 ? 2 : 1;
                y = b.Conv2d(x, outC, k, stride, padding: k / 2, bias: rng.Next(2) == 0, name: $"conv{n++}");
            }
            if (rng.Next(3) > 0) y = b.BatchNorm2d(y, name: $"bn{n++}");
            int act = rng.Next(4);
            if (act == 1) y = b.Relu(y);
            else if (act == 2) y = b.Relu6(y);
            if (y.Shape[1] == x.Shape[1] && y.Shape[2] == x.Shape[2] && rng.Next(2) == 0)
            {
                y = b.Add(y, x);
                if (rng.Next(2) == 0) y = b.Relu(y);
            }
            if (rng.Next(4) == 0 && y.Shape[2] >= 4) y = b.MaxPool2d(y, 2);
            x = y;
            c = x.Shape[1];
        }
        x = b.Flatten(b.GlobalAvgPool(x));
        var g = b.Build(b.Relu(b.Linear(x, 5, name: "fc")));
        RandomiseNorms(g, rng);
        return g;
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)]
    [InlineData(6)] [InlineData(7)] [InlineData(8)] [InlineData(9)] [InlineData(10)]
    public void Random_models_match_the_unoptimised_run(int seed)
    {
        var g = RandomModel(seed);
        var before = g.Parameters.Select(p => p.Data.ToArray()).ToArray();
        var executor = new Executor(g);
        foreach (int batch in new[] { 1, 3 })
        {
            var x = new Tensor(new Shape(batch, 3, 9, 9));
            Init.Uniform(x, -1, 1, new Random(seed + batch));
            var expected = Plain(g, x);
            AssertClose(expected, executor.Run(x), $"seed {seed} batch {batch}");
            AssertClose(expected, executor.Run(x), $"seed {seed} batch {batch}, second run");
        }
        // The user's graph is untouched (folding works on copies).
        var after = g.Parameters.Select(p => p.Data.ToArray()).ToArray();
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
    }

    [Fact]
    public void Prepacked_weights_give_the_same_bits_as_repacking()
    {
        // The plan packs each conv's folded weights once; the repacking path (switch off) must give identical outputs.
        var g = ModelZoo.Create("resnet18", new ZooInput(1, 12, 12, 10));
        RandomiseNorms(g, new Random(4));
        var executor = new Executor(g);
        foreach (int batch in new[] { 1, 3 })
        {
            var x = new Tensor(new Shape(batch, 1, 12, 12));
            Init.Uniform(x, -1, 1, new Random(5 + batch));
            var packed = executor.Run(x);
            bool saved = Shrink.Kernels.ConvGemm.UsePrepacked;
            Shrink.Kernels.ConvGemm.UsePrepacked = false;
            Tensor repacked;
            try { repacked = executor.Run(x); }
            finally { Shrink.Kernels.ConvGemm.UsePrepacked = saved; }
            Assert.Equal(repacked.ToArray(), packed.ToArray());
            AssertClose(Plain(g, x), packed, $"resnet18 batch {batch}");
        }
    }

    [Fact]
    public void Winograd_convs_with_weights_transformed_once_match_im2col()
    {
        // Batch 16 of 12×12 images: the 64-channel 12×12 and 128-channel 6×6 3×3 convs take Winograd (folded weights
        // transformed once per plan); within Winograd's rounding of the im2col plan and of the plain run.
        var g = ModelZoo.Create("resnet18", new ZooInput(1, 12, 12, 10));
        RandomiseNorms(g, new Random(6));
        var x = new Tensor(new Shape(16, 1, 12, 12));
        Init.Uniform(x, -1, 1, new Random(7));
        Assert.True(Shrink.Kernels.Winograd.Preferred(new Shrink.Kernels.ConvDims(16, 64, 12, 12, 64, 1,
            new Shrink.Kernels.Window2d(3, 3, 1, 1, 1, 1, 1, 1, 12, 12))));
        var winograd = new Executor(g).Run(x).Clone();
        Shrink.Kernels.Winograd.Enabled = false;
        Tensor im2col;
        try { im2col = new Executor(g).Run(x).Clone(); }
        finally { Shrink.Kernels.Winograd.Enabled = true; }
        Assert.NotEqual(im2col.ToArray(), winograd.ToArray());
        AssertClose(im2col, winograd, "winograd plan vs im2col plan");
        AssertClose(Plain(g, x), winograd, "winograd plan vs plain run");
    }

    [Theory]
    [InlineData(false, false)] [InlineData(false, true)] [InlineData(true, false)] [InlineData(true, true)]
    public void Gemm_with_packed_weights_is_the_op_to_the_bit(bool transA, bool transB)
    {
        // Gemm nodes with a parameter B run as Yᵀ = op(B)ᵀ·op(A)ᵀ with op(B)ᵀ packed once: same bits as the op.
        foreach (int batch in new[] { 1, 5, 40 })
        {
            var b = new GraphBuilder("gemm", 1);
            int k = 70, n = 33;
            var x = b.Input("input", transA ? new Shape(k, batch) : new Shape(batch, k));
            var w = b.Parameter("fc", "W", GradientCheckTensor(transB ? new Shape(n, k) : new Shape(k, n), 2));
            var c = b.Parameter("fc", "C", GradientCheckTensor(new Shape(n), 3));
            var y = b.Apply(new Gemm { TransA = transA, TransB = transB, Alpha = 0.75f, Beta = 0.5f }, x, w, c);
            var y2 = b.Apply(new Gemm { TransB = true, Alpha = 1f }, y, b.Parameter("fc2", "W", GradientCheckTensor(new Shape(7, n), 4)));
            var g = b.Build(y2);
            var input = GradientCheckTensor(x.Shape, 5);
            var executor = new Executor(g);
            Assert.Contains(executor.Plan.StepNames, s => s.EndsWith(": gemm"));
            var packed = executor.Run(input);
            var plain = Plain(g, input);
            Assert.Equal(plain.ToArray(), packed.ToArray());
        }
    }

    private static Tensor GradientCheckTensor(Shape s, int seed)
    {
        var t = new Tensor(s);
        Init.Uniform(t, -1, 1, new Random(seed));
        return t;
    }

    [Fact]
    public void Resnet_block_fuses_and_reuses_buffers()
    {
        var g = ModelZoo.Create("resnet18", new ZooInput(1, 12, 12, 10));
        RandomiseNorms(g, new Random(1));
        var x = new Tensor(new Shape(2, 1, 12, 12));
        Init.Uniform(x, -1, 1, new Random(2));
        var executor = new Executor(g);
        AssertClose(Plain(g, x), executor.Run(x), "resnet18");
        var steps = executor.Plan.StepNames;
        Assert.Contains(steps, s => s.EndsWith("conv+bn+relu"));
        Assert.Contains(steps, s => s.EndsWith("add+relu"));
        Assert.DoesNotContain(steps, s => s.EndsWith(": BatchNormalization") || s.EndsWith(": Relu"));
        // Liveness: the arena is far smaller than one buffer per value.
        var plan = executor.Plan.For([x.Shape]);
        long everyValue = g.Nodes.SelectMany(n => n.Outputs).Sum(v => v.Shape.WithBatch(2).Length * 4);
        Assert.True(plan.ArenaBytes * 4 < everyValue, $"arena {plan.ArenaBytes} vs {everyValue}");
    }

    [Fact]
    public void Graph_inputs_outputs_and_views_are_kept_intact()
    {
        // The input feeds a view (Flatten) and an element-wise op; an intermediate value is also a graph output.
        var b = new GraphBuilder("views", 0);
        var x = b.Input(2, 3, 3);
        var f = b.Flatten(x);
        var r = b.Relu(x);
        var y = b.Relu(b.Linear(f, 4, name: "fc"));
        var z = b.Add(b.Flatten(r), b.Flatten(r));
        var g = b.Build(y, z, r);
        var input = new Tensor(new Shape(2, 2, 3, 3));
        Init.Uniform(input, -1, 1, new Random(3));
        var copy = input.ToArray();
        using var tape = Tape.Forward(g, [input], training: false);
        var outs = new Executor(g).Run([input]);
        for (int i = 0; i < 3; i++) AssertClose(tape.Outputs[i], outs[i], $"output {i}");
        Assert.Equal(copy, input.ToArray());
    }
}

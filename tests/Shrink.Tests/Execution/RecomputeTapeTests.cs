using Shrink.Execution;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Profiling;
using Shrink.Tensors;
using Shrink.Zoo;

namespace Shrink.Tests.Execution;

/// <summary>
/// The economical tape releases values backward reads when cheap ops can rebuild them (ReLU of a batch norm, residual
/// sums, element-wise activations) and recomputes them in backward: gradients, outputs and running statistics must
/// be bit-identical to the plain tape's, and the tracked peak lower than keeping them. Input gradients written over
/// output gradients (<see cref="Operator.BackwardInPlace"/>: ReLU, Add) likewise. In the TrackedMemory collection:
/// these tests flip <see cref="Tape.Recomputation"/> and <see cref="Tape.InPlaceGradients"/> and read the process-wide peak.
/// </summary>
[Collection("TrackedMemory")]
public class RecomputeTapeTests
{
    private sealed record Outcome(float[][] Grads, float[] InputGrad, float[] Output, float[][] State, long Peak, int Dropped, int FusedClips = 0);

    /// <summary>One forward + backward from the same parameters (restored afterwards, running statistics included).</summary>
    private static Outcome Run(Shrink.Graph.Graph g, Tensor x, bool economical, bool recompute, bool inPlace = true, bool training = true)
    {
        bool saved = Tape.Recomputation, savedInPlace = Tape.InPlaceGradients;
        Tape.Recomputation = recompute;
        Tape.InPlaceGradients = inPlace;
        var parameters = g.Parameters.ToArray();
        var before = parameters.Select(p => p.Data.ToArray()).ToArray();
        try
        {
            foreach (var p in g.TrainableParameters) p.EnsureGrad().Clear();
            MemoryTracker.Reset();
            long live = MemoryTracker.LiveBytes;
            float[] output, inputGrad;
            int dropped, fused;
            using (var tape = Tape.Forward(g, [x], training, new Random(0), inputGradients: true, economical: economical))
            {
                fused = tape.FusedClipForwards;
                output = tape.Output.ToArray();
                var dy = new Tensor(tape.Output.Shape);
                Init.Uniform(dy, -1, 1, new Random(2));
                tape.Backward([dy]);
                inputGrad = tape.InputGradient(g.Inputs[0]).ToArray();
                dropped = tape.DroppedValues;
            }
            long peak = MemoryTracker.PeakBytes - live;
            var state = parameters.Select(p => p.Data.ToArray()).ToArray();
            return new(g.TrainableParameters.Select(p => p.Grad!.ToArray()).ToArray(), inputGrad, output, state, peak, dropped, fused);
        }
        finally
        {
            Tape.Recomputation = saved;
            Tape.InPlaceGradients = savedInPlace;
            for (int i = 0; i < parameters.Length; i++) before[i].CopyTo(parameters[i].Data.Span);
        }
    }

    private static void AssertBitIdentical(Outcome plain, Outcome lean)
    {
        Assert.Equal(plain.Output, lean.Output);
        Assert.Equal(plain.InputGrad, lean.InputGrad);
        Assert.Equal(plain.Grads.Length, lean.Grads.Length);
        for (int i = 0; i < plain.Grads.Length; i++) Assert.Equal(plain.Grads[i], lean.Grads[i]);
        // Running statistics are updated once, by forward: recomputing a batch norm must not touch them again.
        for (int i = 0; i < plain.State.Length; i++) Assert.Equal(plain.State[i], lean.State[i]);
    }

    private static Tensor Images(int n, int c, int hw, int seed)
    {
        var x = new Tensor(new Shape(n, c, hw, hw));
        Init.Uniform(x, -1, 1, new Random(seed));
        return x;
    }

    /// <summary>conv-BN-ReLU ×3, pooled, linear head.</summary>
    private static Shrink.Graph.Graph ConvBnReluChain()
    {
        var b = new GraphBuilder("chain", seed: 3);
        var x = b.Input(3, 9, 9);
        for (int i = 0; i < 3; i++) x = b.Relu(b.BatchNorm2d(b.Conv2d(x, 5 + i, 3, padding: 1, bias: i == 1)));
        return b.Build(b.Linear(b.Flatten(b.GlobalAvgPool(x)), 4));
    }

    /// <summary>A stem and <paramref name="blocks"/> identity residual blocks (a chain of recomputable sums longer than
    /// <see cref="Tape.MaxRecomputeCost"/> allows), then a strided projection block.</summary>
    private static Shrink.Graph.Graph Residual(int blocks)
    {
        var b = new GraphBuilder("residual", seed: 4);
        var x = b.Input(2, 8, 8);
        x = b.Relu(b.BatchNorm2d(b.Conv2d(x, 6, 3, padding: 1, bias: false)));
        for (int i = 0; i < blocks; i++) x = ResNet.BasicBlock(b, x, 6, 1);
        x = ResNet.BasicBlock(b, x, 8, 2);
        return b.Build(b.Linear(b.Flatten(b.GlobalAvgPool(x)), 3));
    }

    /// <summary>A ReLU output read by two convs, a sum and a product (fan-out), a gate x·σ(BN(conv x)), element-wise
    /// activations of every kind, and a value that is both recomputable and a graph input's direct function.</summary>
    private static Shrink.Graph.Graph FanOut()
    {
        var b = new GraphBuilder("fanout", seed: 5);
        var x = b.Input(3, 7, 7);
        var shared = b.Relu(b.BatchNorm2d(b.Conv2d(x, 4, 3, padding: 1)));
        var left = b.BatchNorm2d(b.Conv2d(shared, 4, 3, padding: 1));
        var right = b.Silu(b.BatchNorm2d(b.Conv2d(shared, 4, 1)));
        var sum = b.Relu6(b.Add(b.Add(left, right), shared));
        var gate = b.Mul(sum, b.Sigmoid(b.BatchNorm2d(b.Conv2d(sum, 4, 1))));
        var mixed = b.HardSwish(b.Sub(gate, b.Tanh(shared)));
        var y = b.Conv2d(b.Mul(mixed, shared), 4, 3, padding: 1);
        var z = b.Add(b.Relu(b.Conv2d(b.Relu(x), 4, 3, padding: 1)), y);
        z = b.Add(z, z); // one value twice: its gradient is 2·dy, not the output gradient taken over
        return b.Build(b.Linear(b.Flatten(b.GlobalAvgPool(z)), 2));
    }

    /// <summary>MobileNet v2's inverted residual blocks: conv-BN-ReLU6 (Clip 0..6, recomputed in one fused pass, its
    /// gradient masked in place), depthwise conv-BN-ReLU6, projection conv-BN, residual sums.</summary>
    private static Shrink.Graph.Graph Inverted()
    {
        var b = new GraphBuilder("inverted", seed: 6);
        var x = b.Relu6(b.BatchNorm2d(b.Conv2d(b.Input(3, 9, 9), 8, 3, padding: 1, bias: false)));
        x = Shrink.Zoo.MobileNet.InvertedResidual(b, x, 8, 1, 3);
        x = Shrink.Zoo.MobileNet.InvertedResidual(b, x, 12, 2, 4);
        x = Shrink.Zoo.MobileNet.InvertedResidual(b, x, 12, 1, 4);
        return b.Build(b.Linear(b.Flatten(b.GlobalAvgPool(x)), 3));
    }

    public static TheoryData<string> Graphs => ["chain", "residual", "fanout", "inverted"];

    private static (Shrink.Graph.Graph Graph, Tensor X) Make(string name) => name switch
    {
        "chain" => (ConvBnReluChain(), Images(4, 3, 9, 1)),
        "residual" => (Residual(5), Images(3, 2, 8, 2)),
        "fanout" => (FanOut(), Images(3, 3, 7, 3)),
        "inverted" => (Inverted(), Images(4, 3, 9, 4)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Recomputing_gives_the_plain_tapes_gradients_bit_for_bit(string name)
    {
        var (g, x) = Make(name);
        var plain = Run(g, x, economical: false, recompute: true, inPlace: false);
        var lean = Run(g, x, economical: true, recompute: true);
        Assert.Equal(0, plain.Dropped);
        Assert.True(lean.Dropped > 0, "no value was recomputed");
        // MobileNet's BN → ReLU6 pairs: the economical forward writes each clip's output from the batch norm in one pass.
        if (name == "inverted") Assert.Equal(Clip.Fused && Tape.FuseClipForward ? 7 : 0, lean.FusedClips);
        Assert.Equal(0, plain.FusedClips);
        AssertBitIdentical(plain, lean);
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void In_place_input_gradients_are_the_separate_buffers_values(string name)
    {
        var (g, x) = Make(name);
        AssertBitIdentical(Run(g, x, economical: false, recompute: true, inPlace: false), Run(g, x, economical: false, recompute: true, inPlace: true));
        AssertBitIdentical(Run(g, x, economical: true, recompute: false, inPlace: false), Run(g, x, economical: true, recompute: false, inPlace: true));
        // Evaluation mode: batch norm's backward is the plain affine map, also written in place; recomputation too.
        AssertBitIdentical(Run(g, x, economical: false, recompute: false, inPlace: false, training: false),
            Run(g, x, economical: true, recompute: true, inPlace: true, training: false));
    }

    [Fact]
    public void Add_of_one_value_twice_doubles_its_gradient()
    {
        var b = new GraphBuilder("twice");
        var x = b.Input(3);
        var r = b.Relu(x);
        var g = b.Build(b.Add(r, r));
        var input = Tensor.FromArray(new Shape(1, 3), -1, 2, 3);
        using var tape = Tape.Forward(g, [input], training: true, inputGradients: true, economical: true);
        tape.Backward([Tensor.FromArray(new Shape(1, 3), 5, 6, 7)]);
        Assert.Equal([0f, 12f, 14f], tape.InputGradient(g.Inputs[0]).ToArray());
    }

    [Fact]
    public void Recomputation_chains_stop_at_the_cost_cap()
    {
        // Every block output is ReLU(BN(conv) + previous output): 3 more ops per block. With five identity blocks the
        // chain from the stem would cost 2 + 3·5 = 17 > 8, so some block outputs must be kept; the ReLU of every
        // block's first BN is always dropped (cost 2), as are the stem's and some block outputs.
        var (g, x) = Make("residual");
        var lean = Run(g, x, economical: true, recompute: true);
        int relus = g.Nodes.Count(n => n.Op is Relu);
        Assert.InRange(lean.Dropped, 6 + 1 + 1, relus - 1);
    }

    [Fact]
    public void Recomputing_lowers_the_tracked_peak_of_a_residual_network()
    {
        var g = ModelZoo.Create("resnet18", new ZooInput(1, 16, 16, 10));
        var x = Images(8, 1, 16, 4);
        var kept = Run(g, x, economical: true, recompute: false);
        var lean = Run(g, x, economical: true, recompute: true);
        AssertBitIdentical(kept, lean);
        Assert.Equal(0, kept.Dropped);
        // The stem's and each block's ReLU(BN(conv)) and most block outputs are released: well over a fifth of the peak.
        Assert.True(lean.Peak < kept.Peak * 0.8, $"peak with recomputation {lean.Peak} vs {kept.Peak} keeping every value");
    }

    [Fact]
    public void Batch_norm_recompute_reproduces_forward_without_touching_the_running_statistics()
    {
        var op = new BatchNormalization { Momentum = 0.9f };
        var x = Images(3, 5, 4, 7);
        var scale = new Tensor(new Shape(5));
        var bias = new Tensor(new Shape(5));
        var mean = new Tensor(new Shape(5));
        var variance = new Tensor(new Shape(5));
        Init.Uniform(scale, 0.5f, 1.5f, new Random(8));
        Init.Uniform(bias, -1, 1, new Random(9));
        variance.Fill(1);
        var ctx = new OpContext(training: true);
        var y = new Tensor(x.Shape);
        op.Forward(ctx, [x, scale, bias, mean, variance], [y]);
        var runMean = mean.ToArray();
        var runVar = variance.ToArray();
        var again = new Tensor(x.Shape);
        op.Recompute(ctx, [x, scale, bias, mean, variance], [again]);
        Assert.Equal(y.ToArray(), again.ToArray());
        Assert.Equal(runMean, mean.ToArray());
        Assert.Equal(runVar, variance.ToArray());
        // In place (the tape's chains write over a temporary input): the same bits.
        var inPlace = new Tensor(x.Shape);
        x.Span.CopyTo(inPlace.Span);
        op.Recompute(ctx, [inPlace, scale, bias, mean, variance], [inPlace]);
        Assert.Equal(y.ToArray(), inPlace.ToArray());
    }

    [Fact]
    public void Clamped_recompute_is_recompute_then_relu_bit_for_bit()
    {
        // Values that tell maxima apart: NaN, −0, +0, negatives, a value the affine map sends to −0.
        float[] special = [float.NaN, -0f, 0f, -1.5f, 2.25f, -1e-30f, 1e-30f, 3f, -7f];
        var x = new Tensor(new Shape(2, 3, 3, 3));
        for (int i = 0; i < x.Length; i++) x[i] = special[i % special.Length] * (1 + i / 50f);
        var relu = new Relu();
        Tensor Separate(Operator op, OpContext ctx, Tensor[] ins)
        {
            var y = new Tensor(x.Shape);
            op.Recompute(ctx, ins, [y]);
            relu.Recompute(new OpContext(training: true), [y], [y]);
            return y;
        }
        Tensor Fused(Operator op, OpContext ctx, Tensor[] ins)
        {
            var y = new Tensor(x.Shape);
            Assert.True(op.RecomputeClamped(ctx, ins, [y], 0f, float.PositiveInfinity));
            return y;
        }
        // Batch norm in evaluation (NaN would poison batch statistics), with a channel whose scale is zero.
        var bn = new BatchNormalization();
        var scale = Tensor.FromArray(new Shape(3), 0.5f, 0f, -2f);
        var bias = Tensor.FromArray(new Shape(3), 0.25f, 0f, -0.5f);
        var mean = Tensor.FromArray(new Shape(3), 0.1f, 0f, -0.2f);
        var variance = Tensor.FromArray(new Shape(3), 1f, 2f, 0.5f);
        var bnCtx = new OpContext(training: false);
        Tensor[] bnIns = [x, scale, bias, mean, variance];
        bn.Forward(bnCtx, bnIns, [new Tensor(x.Shape)]);
        AssertSameBits(Separate(bn, bnCtx, bnIns), Fused(bn, bnCtx, bnIns));
        var add = new Add();
        var other = new Tensor(x.Shape);
        for (int i = 0; i < other.Length; i++) other[i] = special[(i * 7 + 3) % special.Length];
        var addCtx = new OpContext(training: true);
        AssertSameBits(Separate(add, addCtx, [x, other]), Fused(add, addCtx, [x, other]));
        // Broadcasting is not fused: the tape falls back to the separate passes.
        Assert.False(add.RecomputeClamped(addCtx, [x, Tensor.Scalar(1f)], [new Tensor(x.Shape)], 0f, float.PositiveInfinity));
        Assert.False(relu.RecomputeClamped(addCtx, [x], [new Tensor(x.Shape)], 0f, float.PositiveInfinity));
    }

    private static void AssertSameBits(Tensor expected, Tensor actual)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"element {i}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Recompute_of_an_op_that_cannot_throws_naming_it()
    {
        var op = new Conv();
        Assert.False(op.Recomputable);
        var ex = Assert.Throws<NotSupportedException>(() =>
            op.Recompute(new OpContext(training: true), [new Tensor(new Shape(1, 1, 3, 3)), new Tensor(new Shape(1, 1, 1, 1))], [new Tensor(new Shape(1, 1, 3, 3))]));
        Assert.Contains("Conv", ex.Message);
    }

    [Fact]
    public void Batch_norm_recompute_without_forward_throws()
    {
        var op = new BatchNormalization();
        var c = new Tensor(new Shape(2));
        Assert.Throws<InvalidOperationException>(() =>
            op.Recompute(new OpContext(training: true), [new Tensor(new Shape(2, 2)), c, c, c, c], [new Tensor(new Shape(2, 2))]));
    }
}

using Shrink.Graph;
using Shrink.Ops;
using Shrink.Profiling;
using Shrink.Tensors;

namespace Shrink.Tests.Profiling;

public class ProfilerTests
{
    private static Shrink.Graph.Graph Mlp()
    {
        var g = new Shrink.Graph.Graph("mlp");
        var x = g.AddInput("input", new Shape(-1, 8));
        var w1 = g.AddParameter("fc1.weight", new Tensor(new Shape(16, 8)));
        var b1 = g.AddParameter("fc1.bias", new Tensor(new Shape(16)));
        var h = g.AddNode(new Relu(), [g.AddNode(new Gemm { TransB = true }, [x, w1, b1], "fc1").Outputs[0]], "relu").Outputs[0];
        var w2 = g.AddParameter("fc2.weight", new Tensor(new Shape(4, 16)));
        g.AddOutput(g.AddNode(new Gemm { TransB = true }, [h, w2], "fc2").Outputs[0]);
        return g;
    }

    [Fact]
    public void Counts_parameters_size_and_macs_at_the_batch_size()
    {
        var p = Profiler.Profile(Mlp(), batchSize: 3);
        Assert.Equal(16 * 8 + 16 + 4 * 16, p.Parameters);
        Assert.Equal(p.Parameters * 4 / 1e6, p.SizeMb, 12);
        Assert.Equal(3L * (16 * 8 + 4 * 16), p.Macs);
        Assert.Equal(16 * 8 + 4 * 16, p.MacsPerSample);
        Assert.Equal(["fc1", "relu", "fc2"], p.Layers.Select(l => l.Name));
        Assert.Equal(0, p.Layers[1].Macs);
    }

    [Fact]
    public void Peak_activation_follows_liveness()
    {
        var g = Mlp().Clone();
        g.SetInputShape(0, new Shape(2, 8));
        // The inference plan's arena: input (16 floats) stays live; relu runs in place on fc1's buffer (32), which lives
        // until fc2 (8) has read it: 16 + 32 + 8 floats.
        Assert.Equal((16 + 32 + 8) * 4, Profiler.PeakActivationBytes(g));
    }

    [Fact]
    public void Latency_is_measured_when_asked()
    {
        var p = Profiler.Profile(Mlp(), batchSize: 4, latencyRuns: 5, warmup: 1);
        Assert.NotNull(p.LatencyBatch1);
        Assert.Equal(1, p.LatencyBatch1!.Batch);
        Assert.Equal(4, p.LatencyBatchN!.Batch);
        Assert.True(p.LatencyBatchN.MedianMs > 0 && p.LatencyBatchN.P90Ms >= p.LatencyBatchN.MedianMs);
    }

    [Fact]
    public void Unknown_input_shape_is_a_clear_error()
    {
        var g = new Shrink.Graph.Graph("dyn");
        var x = g.AddInput("input", new Shape(-1, -1));
        g.AddOutput(g.AddNode(new Relu(), [x]).Outputs[0]);
        var e = Assert.Throws<ShrinkException>(() => Profiler.Profile(g));
        Assert.Contains("--input-shape", e.Message);
    }
}

using Shrink.Graph;
using Shrink.Profiling;
using Shrink.Tensors;

namespace Shrink.Tests.Profiling;

public class ProfilerArgumentTests
{
    [Theory]
    [InlineData(0, 3, "1 timed run")]
    [InlineData(5, -1, "Warm-up")]
    public void MeasureLatency_rejects_no_runs_with_a_clear_message(int runs, int warmup, string expected)
    {
        // runs = 0 used to end in an IndexOutOfRangeException from the percentile of an empty array.
        var b = new GraphBuilder("tiny");
        var g = b.Build(b.Relu(b.Input(4)));
        var e = Assert.Throws<ShrinkException>(() => Profiler.MeasureLatency(g, new Shape(1, 4), runs, warmup));
        Assert.Contains(expected, e.Message);
    }
}

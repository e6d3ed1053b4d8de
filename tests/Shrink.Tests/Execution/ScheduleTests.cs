using Shrink.Execution.Schedules;

namespace Shrink.Tests.Execution;

public class ScheduleTests
{
    [Fact]
    public void Constant_is_constant()
    {
        var s = new ConstantLr(0.03);
        Assert.All(new[] { 0, 1, 1000 }, k => Assert.Equal(0.03f, s.LearningRate(k)));
    }

    [Fact]
    public void StepLr_decays_every_stepSize_steps()
    {
        var s = new StepLr(1, 3, 0.1);
        Assert.Equal([1f, 1f, 1f, 0.1f, 0.1f, 0.1f, 0.01f], Enumerable.Range(0, 7).Select(s.LearningRate).ToArray());
    }

    [Fact]
    public void CosineWithWarmup_key_points()
    {
        var s = new CosineWithWarmup(0.1, 10, 110, 0.001);
        Assert.Equal(0f, s.LearningRate(0));
        Assert.Equal(0.05f, s.LearningRate(5), 7);
        Assert.Equal(0.1f, s.LearningRate(10), 7);
        Assert.Equal((0.1f + 0.001f) / 2, s.LearningRate(60), 7);
        Assert.Equal(0.001f, s.LearningRate(110), 7);
        Assert.Equal(0.001f, s.LearningRate(5000), 7);
        for (int k = 11; k < 110; k++) Assert.True(s.LearningRate(k) <= s.LearningRate(k - 1));
    }

    [Fact]
    public void OneCycle_key_points()
    {
        var s = new OneCycle(0.5, 100);   // peak at step 29
        Assert.Equal(0.02f, s.LearningRate(0), 7);
        Assert.Equal(0.5f, s.LearningRate(29), 7);
        Assert.Equal(0.02f / 1e4f, s.LearningRate(99), 9);
        Assert.Equal(0.02f / 1e4f, s.LearningRate(150), 9);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantLr(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantLr(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLr(0.1, 0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLr(0.1, 3, -0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineWithWarmup(0.1, 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineWithWarmup(0.1, -1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineWithWarmup(0.1, 1, 10, minLr: 0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.1, 100, pctStart: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.1, 3, pctStart: 0.3)); // peak step −0.1
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.1, 100, divFactor: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantLr(0.1).LearningRate(-1));
    }
}

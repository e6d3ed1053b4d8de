using Shrink.Data;
using Shrink.Kernels;
using Shrink.Training;
using Shrink.Zoo;

namespace Shrink.Tests.Training;

public class LeNetFashionMnistTests
{
    /// <summary>
    /// The foundation's end-to-end check: LeNet-5 trained for one epoch on the real Fashion-MNIST (Debian package
    /// dataset-fashion-mnist, installed by .ci/run) through the library API reaches at least 85% test accuracy.
    /// </summary>
    [Fact]
    public void LeNet5_reaches_85_percent_after_one_epoch()
    {
        var data = DatasetCatalog.Load("fashion-mnist");
        var model = ModelZoo.Create("lenet5", new ZooInput(1, 28, 28, 10), seed: 0);
        var result = TrainingRun.Fit(model, data, new TrainingOptions { Epochs = 1, Seed = 0 });
        var test = Evaluation.Evaluate(model, data.Test, data.ComputeNormalization());
        Assert.Equal(10000, test.Count);
        Assert.True(test.Accuracy >= 0.85, $"LeNet-5 test accuracy {test.AccuracyPercent:F2}% after one epoch ({result.Seconds:F1}s)");
    }

    /// <summary>Same seed, one kernel thread: two training runs produce bit-identical weights.</summary>
    [Fact]
    public void Same_seed_one_thread_is_bit_identical()
    {
        int saved = KernelParallel.MaxThreads;
        KernelParallel.MaxThreads = 1;
        try
        {
            var data = DatasetCatalog.Load("fashion-mnist");
            var small = new DataSplits(data.Train.Subset(600, seed: 1), data.Test.Subset(100, seed: 1));
            float[][] Run()
            {
                var m = ModelZoo.Create("lenet5", seed: 3);
                TrainingRun.Fit(m, small, new TrainingOptions { Epochs = 2, BatchSize = 32, Seed = 5, Augmentation = Augmentation.Cifar });
                return m.Parameters.Select(p => p.Data.ToArray()).ToArray();
            }
            var a = Run();
            var b = Run();
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }
}

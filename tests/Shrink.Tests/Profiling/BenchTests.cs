using Shrink.Profiling;

namespace Shrink.Tests.Profiling;

public class BenchTests
{
    [Fact]
    public void Ratio_is_Shrink_over_PyTorch_and_missing_without_a_peer()
    {
        Assert.Equal(2.0, new BenchRow("train", "resnet18", "images/s", 40, 20, true).Ratio);
        Assert.Equal(0.5, new BenchRow("latency", "resnet18", "ms", 5, 10, false).Ratio);
        Assert.Null(new BenchRow("train", "resnet18", "images/s", 40, null, true).Ratio);
        Assert.Null(new BenchRow("train", "resnet18", "images/s", 40, double.NaN, true).Ratio);
    }

    [Fact]
    public void Json_carries_the_contract_ratios()
    {
        string[] keys = ["sgemm_vs_openblas", "train_resnet18_vs_torch", "train_vgg11_vs_torch", "infer_bs128_vs_torch", "latency_bs1_vs_torch"];
        var result = new BenchResult("test machine", 2, [new BenchRow("sgemm", "1024", "GFLOP/s", 300, 200, true)],
            keys.ToDictionary(k => k, k => (double?)1.5), "1.13", null);
        var json = result.ToJson();
        foreach (var k in keys) Assert.Equal(1.5, json["ratios"]![k]!.GetValue<double>());
        Assert.Equal(1.5, json["rows"]![0]!["ratio"]!.GetValue<double>());
    }

    [Fact]
    public void Gemm_measurement_is_a_positive_rate() => Assert.True(Bench.MeasureGemm(64, 64, 64, quick: true) > 0);
}

using Shrink.Execution;
using Shrink.Onnx;
using Shrink.Tensors;
using Shrink.Tests.Goldens;

namespace Shrink.Tests.Onnx;

/// <summary>
/// Real models exported by PyTorch 1.13 (tools/export_torch_models.py): Shrink imports them, reproduces PyTorch's
/// output on a batch of 2 (relative 1e-4, absolute floor 1e-5: float32 sums over a few hundred terms in a different
/// order) and counts the same trainable parameters and conv/linear MACs.
/// </summary>
public class TorchModelTests
{
    public static TheoryData<string> Models => new() { "resnet8", "mobilenetv2", "concatnet" };

    private static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "Goldens", "onnx", name + ".onnx");

    [Theory]
    [MemberData(nameof(Models))]
    public void Import_MatchesPyTorch(string name)
    {
        var golden = Golden.Load($"onnx/{name}");
        var g = OnnxModel.Load(ModelPath(name));
        Assert.Equal(Shape.Dynamic, g.Inputs[0].Shape[0]);
        var y = new Executor(g).Run(golden.Tensor("input"));
        Golden.AssertClose(golden.Tensor("output"), y, rtol: 1e-4, atol: 1e-5, what: name);

        Assert.Equal((long)golden.Scalar("params"), g.TrainableParameters.Sum(p => (long)p.Data.Length));
        Assert.Equal((long)golden.Scalar("macs"), Macs(g));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Import_Export_Import_SameOutputs(string name)
    {
        var g = OnnxModel.Load(ModelPath(name));
        var back = OnnxTestUtil.RoundTrip(g);
        OnnxTestUtil.AssertSameOutputs(g, back, batch: 3);
        Assert.Equal(g.ParameterCount, back.ParameterCount);
        Assert.Equal(g.TrainableParameters.Count(), back.TrainableParameters.Count());
        ExportFiles.Write(name, back);
    }

    /// <summary>Conv and linear multiply-accumulates for one sample.</summary>
    internal static long Macs(Shrink.Graph.Graph model)
    {
        var g = model.Clone();
        g.SetInputShape(0, g.Inputs[0].Shape.WithBatch(1));
        long macs = 0;
        foreach (var n in g.Nodes)
            if (n.OpType is "Conv" or "Gemm" or "MatMul")
                macs += n.Op.Macs(n.Inputs.Select(v => v.Shape).ToArray(), n.Outputs.Select(v => v.Shape).ToArray());
        return macs;
    }
}

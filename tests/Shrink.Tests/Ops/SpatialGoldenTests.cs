using Shrink.Ops;
using Shrink.Tensors;
using Shrink.Tests.Goldens;

namespace Shrink.Tests.Ops;

/// <summary>
/// The spatial operators against PyTorch (tools/make_op_goldens_spatial.py): forward output, input and parameter
/// gradients for a fixed upstream gradient, and batch norm's updated running statistics. Attributes come from the npz.
/// Tolerance: relative 1e-4 with an absolute floor of 2e-5 — float32 sums of up to ~150 terms of magnitude ≤ 1 in a
/// different order than PyTorch's differ by a few ulps of the sum, which can exceed 1e-4 relative on entries near 0.
/// </summary>
public class SpatialGoldenTests
{
    private const double Rtol = 1e-4, Atol = 2e-5;

    private static readonly string[] Prefixes = ["conv_", "bn_", "maxpool_", "avgpool_", "gap_", "gmp_", "pad_"];

    public static IEnumerable<object[]> Cases() =>
        Golden.Cases("ops").Where(c => Prefixes.Any(p => Path.GetFileName((string)c[0]).StartsWith(p, StringComparison.Ordinal)));

    [Fact]
    public void Every_op_has_goldens()
    {
        var names = Cases().Select(c => Path.GetFileName((string)c[0])).ToArray();
        foreach (var p in Prefixes) Assert.Contains(names, n => n.StartsWith(p, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_pytorch(string name)
    {
        var g = Golden.Load(name);
        string kind = Path.GetFileName(name).Split('_')[0];
        var (op, inputs, training) = kind switch
        {
            "conv" => ((Operator)new Conv
            {
                Strides = g.Ints("strides"), Pads = g.Ints("pads"), Dilations = g.Ints("dilations"), Group = g.Ints("group")[0],
            }, g.Has("b") ? new[] { g.Tensor("x"), g.Tensor("w"), g.Tensor("b") } : [g.Tensor("x"), g.Tensor("w")], false),
            "bn" => (new BatchNormalization { Epsilon = (float)g.Scalar("epsilon"), Momentum = (float)g.Scalar("momentum") },
                [g.Tensor("x"), g.Tensor("scale"), g.Tensor("bias"), g.Tensor("mean"), g.Tensor("var")], g.Ints("training")[0] == 1),
            "maxpool" => (new MaxPool
            {
                KernelShape = g.Ints("kernel_shape"), Strides = g.Ints("strides"), Pads = g.Ints("pads"),
                Dilations = g.Ints("dilations"), CeilMode = g.Ints("ceil_mode")[0] == 1,
            }, [g.Tensor("x")], false),
            "avgpool" => (new AveragePool
            {
                KernelShape = g.Ints("kernel_shape"), Strides = g.Ints("strides"), Pads = g.Ints("pads"),
                CeilMode = g.Ints("ceil_mode")[0] == 1, CountIncludePad = g.Ints("count_include_pad")[0] == 1,
            }, [g.Tensor("x")], false),
            "gap" => (new GlobalAveragePool(), [g.Tensor("x")], false),
            "gmp" => (new GlobalMaxPool(), [g.Tensor("x")], false),
            "pad" => (new Pad { Pads = g.Ints("pads"), Value = (float)g.Scalar("value") }, new[] { g.Tensor("x") }, false),
            _ => throw new InvalidOperationException($"Unknown golden kind '{kind}' in {name}."),
        };

        var y = new Tensor(op.InferShapes(inputs.Select(t => t.Shape).ToArray())[0]);
        using var ctx = new OpContext(training);
        op.Forward(ctx, inputs, [y]);
        Golden.AssertClose(g.Tensor("y"), y, Rtol, Atol, $"{name} y");

        string[] gradNames = kind switch
        {
            "conv" => g.Has("b") ? ["dx", "dw", "db"] : ["dx", "dw"],
            "bn" => ["dx", "dscale", "dbias"],
            _ => ["dx"],
        };
        var grads = new Tensor?[inputs.Length];
        for (int i = 0; i < gradNames.Length; i++)
        {
            grads[i] = new Tensor(inputs[i].Shape);
            grads[i]!.Fill(0.25f); // backward accumulates: start from a known non-zero value
        }
        op.Backward(ctx, inputs, [y], [g.Tensor("dy")], grads);
        for (int i = 0; i < gradNames.Length; i++)
        {
            var expected = g.Tensor(gradNames[i]);
            System.Numerics.Tensors.TensorPrimitives.Add(expected.Span, 0.25f, expected.Span);
            Golden.AssertClose(expected, grads[i]!, Rtol, Atol, $"{name} {gradNames[i]}");
        }
        if (kind == "bn")
        {
            Golden.AssertClose(g.Tensor("mean_out"), inputs[3], Rtol, Atol, $"{name} running mean");
            Golden.AssertClose(g.Tensor("var_out"), inputs[4], Rtol, Atol, $"{name} running var");
        }
    }
}

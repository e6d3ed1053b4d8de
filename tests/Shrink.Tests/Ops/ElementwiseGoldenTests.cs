using Shrink.Ops;
using Shrink.Tensors;
using Shrink.Tests.Goldens;

namespace Shrink.Tests.Ops;

/// <summary>
/// Forward and backward of the element-wise, broadcasting and shape operators (and Relu, Gemm) against PyTorch,
/// from tools/make_op_goldens_elementwise.py. The goldens are computed in float64 and stored as float32, so they are
/// exact to one float32 rounding; Shrink computes in float32 (TensorPrimitives' exp/tanh are within a few ulp).
/// Tolerance: relative 1e-4 with an absolute floor of 1e-5 for values that come out near zero (gradient sums of
/// a few dozen terms of size ~1 cancel to ~1e-7 absolute error; the accumulation check below adds ~6e-8).
/// </summary>
public class ElementwiseGoldenTests
{
    private const double Rtol = 1e-4, Atol = 1e-5;

    /// <summary>The operator each golden file prefix stands for, built from the attributes stored beside the data.</summary>
    private static readonly Dictionary<string, Func<Golden, Operator>> Factories = new(StringComparer.Ordinal)
    {
        ["relu"] = _ => new Relu(),
        ["clip"] = g => new Clip
        {
            Min = g.Has("min") ? (float)g.Scalar("min") : float.MinValue,
            Max = g.Has("max") ? (float)g.Scalar("max") : float.MaxValue,
        },
        ["leakyrelu"] = g => new LeakyRelu { Alpha = (float)g.Scalar("alpha") },
        ["prelu"] = _ => new PRelu(),
        ["sigmoid"] = _ => new Sigmoid(),
        ["silu"] = _ => new Silu(),
        ["tanh"] = _ => new Tanh(),
        ["hardsigmoid"] = g => new HardSigmoid { Alpha = (float)g.Scalar("alpha"), Beta = (float)g.Scalar("beta") },
        ["hardswish"] = _ => new HardSwish(),
        ["add"] = _ => new Add(),
        ["sub"] = _ => new Sub(),
        ["mul"] = _ => new Mul(),
        ["div"] = _ => new Div(),
        ["matmul"] = _ => new MatMul(),
        ["gemm"] = g => new Gemm
        {
            TransA = g.Scalar("trans_a") != 0,
            TransB = g.Scalar("trans_b") != 0,
            Alpha = (float)g.Scalar("alpha"),
            Beta = (float)g.Scalar("beta"),
        },
        ["concat"] = g => new Concat { Axis = g.Ints("axis")[0] },
        ["flatten"] = g => new Flatten { Axis = g.Ints("axis")[0] },
        ["reshape"] = g => new Reshape { Shape = g.Ints("shape") },
        ["transpose"] = g => new Transpose { Perm = g.Has("perm") ? g.Ints("perm") : null },
        ["softmax"] = g => new Softmax { Axis = g.Ints("axis")[0] },
    };

    private static string Prefix(string caseName) => Path.GetFileName(caseName).Split('_')[0];

    public static IEnumerable<object[]> Cases() =>
        Golden.Cases("ops").Where(c => Factories.ContainsKey(Prefix((string)c[0])));

    [Fact]
    public void Every_operator_has_goldens()
    {
        var have = Cases().Select(c => Prefix((string)c[0])).ToHashSet();
        string missing = string.Join(", ", Factories.Keys.Where(k => !have.Contains(k)));
        Assert.True(missing.Length == 0, $"no golden files for: {missing}");
    }

    [Theory, MemberData(nameof(Cases))]
    public void Matches_PyTorch(string caseName)
    {
        var g = Golden.Load(caseName);
        var op = Factories[Prefix(caseName)](g);
        var inputs = new List<Tensor>();
        var expectedGrads = new List<Tensor>();
        for (int i = 0; g.Has($"in{i}"); i++)
        {
            inputs.Add(g.Tensor($"in{i}"));
            expectedGrads.Add(g.Tensor($"din{i}"));
        }
        if (g.Has("slope_shape")) // PyTorch keeps PReLU's slope 1-D; ours broadcasts as stored ([C,1,1] for NCHW)
        {
            var s = new Shape(g.Ints("slope_shape"));
            inputs[1] = inputs[1].Reshape(s);
            expectedGrads[1] = expectedGrads[1].Reshape(s);
        }

        var shapes = op.InferShapes(inputs.Select(t => t.Shape).ToArray());
        var expectedY = g.Tensor("y");
        Assert.Equal(expectedY.Shape, shapes[0]);
        var y = new Tensor(shapes[0]);
        y.Fill(float.NaN); // outputs arrive with undefined contents
        using var ctx = new OpContext(training: false);
        op.Forward(ctx, inputs.ToArray(), [y]);
        Golden.AssertClose(expectedY, y, Rtol, Atol, $"{caseName} forward");

        // Backward must accumulate: start every gradient at 1 and take the 1 off again (exact to ~6e-8, under Atol).
        var grads = inputs.Select(t => { var d = new Tensor(t.Shape); d.Fill(1f); return d; }).ToArray();
        op.Backward(ctx, inputs.ToArray(), [y], [g.Tensor("dy")], grads);
        for (int i = 0; i < grads.Length; i++)
        {
            System.Numerics.Tensors.TensorPrimitives.Subtract(grads[i].Span, 1f, grads[i].Span);
            Golden.AssertClose(expectedGrads[i], grads[i], Rtol, Atol, $"{caseName} d(input {i})");
        }
    }
}

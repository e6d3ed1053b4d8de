using Shrink.Execution;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;
using Shrink.Tests.Ops;

namespace Shrink.Tests.Execution;

public class TapeTests
{
    [Fact]
    public void Backward_matches_central_differences_through_a_graph_with_a_shared_value()
    {
        // y = relu(x·W1ᵀ + b) ; z = y·W2ᵀ + y·W3ᵀ  (y read twice: gradients must accumulate)
        var g = new Shrink.Graph.Graph();
        var x = g.AddInput("x", new Shape(-1, 3));
        var w1 = g.AddParameter("w1", GradientCheck.AwayFromZero(new Shape(4, 3), 1));
        var b = g.AddParameter("b", GradientCheck.AwayFromZero(new Shape(4), 2));
        var y = g.AddNode(new Relu(), [g.AddNode(new Gemm { TransB = true }, [x, w1, b]).Outputs[0]]).Outputs[0];
        var w2 = g.AddParameter("w2", GradientCheck.Random(new Shape(2, 4), 3));
        var w3 = g.AddParameter("w3", GradientCheck.Random(new Shape(2, 4), 4));
        var z2 = g.AddNode(new Gemm { TransB = true }, [y, w2]).Outputs[0];
        var z3 = g.AddNode(new Gemm { TransB = true }, [y, w3, z2]).Outputs[0]; // z3 = y·W3ᵀ + z2
        g.AddOutput(z3);
        w3.Parameter!.Trainable = false;

        var input = GradientCheck.Random(new Shape(5, 3), 5);
        var upstream = GradientCheck.Random(new Shape(5, 2), 6);
        using (var tape = Tape.Forward(g, [input], training: true, inputGradients: true))
            tape.Backward([upstream]);
        Assert.Null(w3.Parameter.Grad); // frozen: no gradient

        double Loss()
        {
            var o = new Executor(g).Run(input);
            double s = 0;
            for (int i = 0; i < o.Length; i++) s += (double)o[i] * upstream[i];
            return s;
        }
        foreach (var p in new[] { w1.Parameter!, b.Parameter!, w2.Parameter! })
        {
            for (int i = 0; i < p.Data.Length; i++)
            {
                float saved = p.Data[i];
                p.Data[i] = saved + 1e-2f; double plus = Loss();
                p.Data[i] = saved - 1e-2f; double minus = Loss();
                p.Data[i] = saved;
                double numeric = (plus - minus) / 2e-2;
                Assert.True(Math.Abs(numeric - p.Grad![i]) < 2e-3 + 1e-2 * Math.Abs(numeric), $"{p.Name}[{i}]: {p.Grad[i]} vs {numeric}");
            }
        }
    }

    [Fact]
    public void Input_gradient_is_kept_when_asked()
    {
        var g = new Shrink.Graph.Graph();
        var x = g.AddInput("x", new Shape(-1, 2));
        var w = g.AddParameter("w", Tensor.FromArray(new Shape(1, 2), 3, -2));
        g.AddOutput(g.AddNode(new Gemm { TransB = true }, [x, w]).Outputs[0]);
        using var tape = Tape.Forward(g, [Tensor.FromArray(new Shape(1, 2), 1, 1)], training: false, inputGradients: true);
        tape.Backward([Tensor.FromArray(new Shape(1, 1), 1)]);
        Assert.Equal([3f, -2f], tape.InputGradient(x).ToArray());
        Assert.Equal([1f, 1f], w.Parameter!.Grad!.ToArray());
    }
}

using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

public class GradientCheckTests
{
    /// <summary>ReLU whose backward is deliberately off by a factor of 1.1.</summary>
    private sealed class WrongRelu : Operator
    {
        public override string OpType => "WrongRelu";
        public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs) => [inputs[0]];
        public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) =>
            new Relu().Forward(ctx, inputs, outputs);
        public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
            ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads)
        {
            var x = inputs[0].Span;
            var dy = outputGrads[0].Span;
            var dx = inputGrads[0]!.Span;
            for (int i = 0; i < dx.Length; i++) if (x[i] > 0) dx[i] += 1.1f * dy[i];
        }
    }

    [Fact]
    public void Checker_rejects_a_wrong_gradient()
    {
        var x = GradientCheck.AwayFromZero(new Shape(3, 5), seed: 1);
        var r = GradientCheck.CheckOp(new WrongRelu(), [x]);
        Assert.False(r.Passed, r.ToString());
    }

    [Fact]
    public void Checker_accepts_the_right_gradient()
    {
        var x = GradientCheck.AwayFromZero(new Shape(3, 5), seed: 1);
        GradientCheck.AssertOp(new Relu(), [x]);
    }
}

using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

public class BroadcastTests
{
    public static IEnumerable<object[]> Cases() =>
    [
        [new[] { 4, 3, 5, 7 }, new[] { 3, 1, 1 }],
        [new[] { 4, 3, 5, 7 }, new[] { 7 }],
        [new[] { 4, 3, 5, 7 }, new[] { 5, 7 }],
        [new[] { 4, 3, 5, 7 }, new[] { 1, 3, 5, 1 }],
        [new[] { 4, 3, 5, 7 }, new[] { 4, 1, 5, 1 }],
        [new[] { 4, 3, 5, 7 }, new[] { 4, 1, 1, 7 }],
        [new[] { 6, 1 }, new[] { 1, 1 }],
        [new[] { 2, 3, 1 }, new[] { 3, 1 }],
        [new[] { 17, 13 }, new[] { 17, 1 }],
        [new[] { 1, 9 }, new[] { 9 }],
    ];

    /// <summary>The vectorised row paths of ReduceInto against a plain per-element reference.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ReduceInto_matches_the_per_element_reference(int[] gradShape, int[] accShape)
    {
        var grad = GradientCheck.Random(new Shape(gradShape), 1);
        var acc = GradientCheck.Random(new Shape(accShape), 2);
        var expected = acc.Clone();
        var it = new Broadcast.Odometer(grad.Shape, Broadcast.Strides(acc.Shape, grad.Shape));
        for (int i = 0; i < grad.Length; i++, it.Next()) expected[it.Offset] += 0.5f * grad[i];

        Broadcast.ReduceInto(grad, acc, 0.5f);

        for (int i = 0; i < acc.Length; i++)
            Assert.True(Math.Abs(expected[i] - acc[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), $"element {i}: {acc[i]} vs {expected[i]}");
    }

    [Fact]
    public void Incompatible_shapes_name_both() =>
        Assert.Contains("[4,3] and [5]", Assert.Throws<Shrink.Graph.ShapeMismatchException>(() => Broadcast.Shapes(new Shape(4, 3), new Shape(5))).Message);
}

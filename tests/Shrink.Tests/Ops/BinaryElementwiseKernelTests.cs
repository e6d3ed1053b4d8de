using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Tests.Ops;

/// <summary>
/// The broadcasting loop's fast paths (equal shapes, one-element operand, coalesced rows) against a plain
/// per-element reference over awkward lengths. Same float operation per element, so results must match exactly.
/// </summary>
public class BinaryElementwiseKernelTests
{
    private static readonly int[] Lengths = [0, 1, 2, 3, 5, 7, 8, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257];

    private static void AssertMatchesReference(Shape a, Shape b, int seed)
    {
        var y = Broadcast.Shapes(a, b);
        var ta = GradientCheck.Random(a, seed);
        var tb = GradientCheck.AwayFromZero(b, seed + 1, 0.25f);
        foreach (var (op, f) in Ops)
        {
            var actual = new Tensor(y);
            switch (op)
            {
                case "Add": BinaryElementwise.Map<Add.Kernel>(ta, tb, actual); break;
                case "Sub": BinaryElementwise.Map<Sub.Kernel>(ta, tb, actual); break;
                case "Mul": BinaryElementwise.Map<Mul.Kernel>(ta, tb, actual); break;
                default: BinaryElementwise.Map<Div.Kernel>(ta, tb, actual); break;
            }
            var expected = Reference(ta, tb, y, f);
            for (int i = 0; i < expected.Length; i++)
                if (expected[i] != actual[i])
                    Assert.Fail($"{op} {a} ⊕ {b}: element {i} is {actual[i]}, expected {expected[i]}");
        }
    }

    private static readonly (string, Func<float, float, float>)[] Ops =
        [("Add", (x, y) => x + y), ("Sub", (x, y) => x - y), ("Mul", (x, y) => x * y), ("Div", (x, y) => x / y)];

    /// <summary>Reference: for each output index, unravel it and read each operand with its own (broadcast) index.</summary>
    private static Tensor Reference(Tensor a, Tensor b, Shape y, Func<float, float, float> f)
    {
        var r = new Tensor(y);
        var index = new int[y.Rank];
        for (int i = 0; i < r.Length; i++)
        {
            for (int d = y.Rank - 1, rest = i; d >= 0; d--) { index[d] = rest % y[d]; rest /= y[d]; }
            r[i] = f(a.Span[Flat(a.Shape, index)], b.Span[Flat(b.Shape, index)]);
        }
        return r;
    }

    private static int Flat(Shape s, int[] outIndex)
    {
        int off = 0;
        for (int d = 0; d < s.Rank; d++)
        {
            int i = outIndex[outIndex.Length - s.Rank + d];
            off = off * s[d] + (s[d] == 1 ? 0 : i);
        }
        return off;
    }

    [Fact]
    public void Equal_shapes_and_scalars_over_awkward_lengths()
    {
        foreach (int n in Lengths)
        {
            AssertMatchesReference(new Shape(n), new Shape(n), n);
            AssertMatchesReference(new Shape(n), new Shape(1), n);
            AssertMatchesReference(Shape.Scalar, new Shape(n), n);
            AssertMatchesReference(new Shape(2, n), new Shape(2, n), n);
        }
    }

    [Fact]
    public void Per_channel_rows_and_columns_over_awkward_lengths()
    {
        foreach (int n in Lengths)
        {
            AssertMatchesReference(new Shape(2, 3, n, 1), new Shape(3, 1, 1), n);          // bias [C,1,1] over NCHW
            AssertMatchesReference(new Shape(3, 1, 1), new Shape(1, 3, 1, n), n);          // the other way round
            AssertMatchesReference(new Shape(1, n), new Shape(4, 1), n);                   // outer product
            AssertMatchesReference(new Shape(3, n), new Shape(n), n);                      // row vector, rank-different
            AssertMatchesReference(new Shape(n, 3), new Shape(n, 1), n);                   // column vector
            AssertMatchesReference(new Shape(2, 1, n), new Shape(5, 1), n);                // both stretched
        }
    }

    [Fact]
    public void Odd_multi_axis_broadcasts()
    {
        AssertMatchesReference(new Shape(2, 1, 3, 1, 7), new Shape(5, 1, 4, 1), 1);
        AssertMatchesReference(new Shape(1, 1, 1), new Shape(2, 3, 1), 2);
        AssertMatchesReference(new Shape(1), Shape.Scalar, 3);
        AssertMatchesReference(new Shape(13, 1, 17), new Shape(13, 11, 1), 4);
        AssertMatchesReference(new Shape(0, 3), new Shape(1, 3), 5);
    }
}

using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Ops;

/// <summary>NumPy broadcasting: shapes aligned at the right, size-1 dimensions stretched.</summary>
public static class Broadcast
{
    /// <summary>The multidirectional broadcast of two shapes (dynamic dims stay dynamic); throws when they do not fit.</summary>
    public static Shape Shapes(Shape a, Shape b)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = DimFromRight(a, rank - 1 - i), db = DimFromRight(b, rank - 1 - i);
            if (da == db || db == 1) dims[i] = da;
            else if (da == 1) dims[i] = db;
            else if (da == Shape.Dynamic) dims[i] = db;
            else if (db == Shape.Dynamic) dims[i] = da;
            else throw new ShapeMismatchException($"shapes {a} and {b} do not broadcast (dimension {i}: {da} vs {db}).");
        }
        return new Shape(dims);
    }

    /// <summary>True when <paramref name="from"/> broadcasts to exactly <paramref name="to"/> (unidirectional).</summary>
    public static bool CanBroadcastTo(Shape from, Shape to)
    {
        if (from.Rank > to.Rank) return false;
        for (int i = 0; i < from.Rank; i++)
        {
            int f = from[from.Rank - 1 - i], t = to[to.Rank - 1 - i];
            if (f != t && f != 1 && f != Shape.Dynamic && t != Shape.Dynamic) return false;
        }
        return true;
    }

    /// <summary>
    /// Strides (in elements) for reading <paramref name="from"/> while walking <paramref name="to"/>'s indices:
    /// 0 along broadcast dimensions.
    /// </summary>
    public static int[] Strides(Shape from, Shape to)
    {
        var strides = new int[to.Rank];
        int stride = 1;
        for (int i = 0; i < from.Rank; i++)
        {
            int axisTo = to.Rank - 1 - i;
            int f = from[from.Rank - 1 - i];
            strides[axisTo] = f == 1 && to[axisTo] != 1 ? 0 : stride;
            stride *= f;
        }
        return strides;
    }

    /// <summary>Copies <paramref name="src"/> into <paramref name="dst"/>, stretching broadcast dimensions.</summary>
    public static void To(Tensor src, Tensor dst)
    {
        if (src.Shape == dst.Shape) { src.Span.CopyTo(dst.Span); return; }
        var s = src.Span;
        var d = dst.Span;
        if (src.Length == 1) { d.Fill(s[0]); return; }
        var it = new Odometer(dst.Shape, Strides(src.Shape, dst.Shape));
        for (int i = 0; i < d.Length; i++, it.Next()) d[i] = s[it.Offset];
    }

    /// <summary>
    /// Adds scale·<paramref name="grad"/> (shape of the broadcast result) into <paramref name="acc"/> (a shape that
    /// broadcasts to it), summing over the stretched dimensions: the backward of broadcasting.
    /// </summary>
    public static void ReduceInto(Tensor grad, Tensor acc, float scale = 1f)
    {
        var g = grad.Span;
        var a = acc.Span;
        if (grad.Shape == acc.Shape || grad.Length == acc.Length)
        {
            if (scale == 1f) TensorPrimitives.Add(a, g, a);
            else TensorPrimitives.MultiplyAdd(g, scale, a, a);
            return;
        }
        if (acc.Length == 1)
        {
            a[0] += scale * TensorPrimitives.Sum(g);
            return;
        }
        var strides = Strides(acc.Shape, grad.Shape);
        int rank = grad.Rank;
        // Trailing axes where acc is not broadcast and laid out contiguously like grad: add whole rows.
        int kept = rank, row = 1;
        for (int expected = 1; kept > 0 && strides[kept - 1] == expected; kept--) { row *= grad.Shape[kept - 1]; expected = row; }
        if (row > 1)
        {
            var outer = new Odometer(new Shape(grad.Shape.Dims[..kept]), strides[..kept]);
            for (int i = 0; i < g.Length; i += row, outer.Next())
                TensorPrimitives.MultiplyAdd(g.Slice(i, row), scale, a.Slice(outer.Offset, row), a.Slice(outer.Offset, row));
            return;
        }
        // Trailing axes where acc is broadcast (e.g. a [C,1,1] bias over NCHW): sum whole rows into one element.
        int reduced = rank, block = 1;
        while (reduced > 0 && strides[reduced - 1] == 0) block *= grad.Shape[--reduced];
        if (block > 1)
        {
            var outer = new Odometer(new Shape(grad.Shape.Dims[..reduced]), strides[..reduced]);
            for (int i = 0; i < g.Length; i += block, outer.Next())
                a[outer.Offset] += scale * TensorPrimitives.Sum(g.Slice(i, block));
            return;
        }
        var it = new Odometer(grad.Shape, strides);
        for (int i = 0; i < g.Length; i++, it.Next()) a[it.Offset] += scale * g[i];
    }

    private static int DimFromRight(Shape s, int fromRight) => fromRight < s.Rank ? s[s.Rank - 1 - fromRight] : 1;

    /// <summary>Walks a shape's indices in row-major order, tracking an offset under arbitrary strides.</summary>
    public struct Odometer
    {
        private readonly int[] _dims;
        private readonly int[] _strides;
        private readonly int[] _index;

        public Odometer(Shape shape, int[] strides)
        {
            _dims = shape.ToArray();
            _strides = strides;
            _index = new int[_dims.Length];
            Offset = 0;
        }

        public int Offset { get; private set; }

        public void Next()
        {
            for (int axis = _dims.Length - 1; axis >= 0; axis--)
            {
                _index[axis]++;
                Offset += _strides[axis];
                if (_index[axis] < _dims[axis]) return;
                Offset -= _strides[axis] * _dims[axis];
                _index[axis] = 0;
            }
        }
    }
}

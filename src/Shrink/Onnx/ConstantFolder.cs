using Shrink.Onnx.Proto;
using Shrink.Tensors;
using DataType = Shrink.Onnx.Proto.TensorProto.Types.DataType;

namespace Shrink.Onnx;

/// <summary>
/// Evaluates at import time the small integer computations exporters put around reshapes — PyTorch's
/// Shape→Gather→Unsqueeze→Concat for <c>x.view(x.size(0), -1)</c> — plus Constant nodes and any foldable op whose
/// inputs are all constants. The dynamic batch dimension read by Shape stays symbolic (<see cref="ConstTensor.Batch"/>)
/// so that Reshape can turn it back into "copy this dimension".
/// </summary>
internal static class ConstantFolder
{
    /// <summary>Ops that only ever run here: Shrink has no run-time operator for them.</summary>
    public static readonly IReadOnlySet<string> FoldOnly = new HashSet<string>(StringComparer.Ordinal)
    {
        "Constant", "Shape", "Gather", "Slice", "Cast", "ConstantOfShape", "Range", "Size",
    };

    /// <summary>Mapped ops that are also folded when every input is a constant.</summary>
    private static readonly HashSet<string> AlsoFoldable = new(StringComparer.Ordinal)
    {
        "Concat", "Mul", "Add", "Sub", "Div", "Identity", "Reshape", "Flatten", "Unsqueeze", "Squeeze", "Transpose",
    };

    public static bool CanFold(string opType) => FoldOnly.Contains(opType) || AlsoFoldable.Contains(opType);

    /// <summary>
    /// Folds <paramref name="node"/> when possible: returns its output constants, or null when it must run in the graph
    /// (a mapped op over run-time values). Throws <see cref="OnnxImportException"/> for a fold-only op that cannot be folded.
    /// </summary>
    public static ConstTensor[]? TryFold(NodeProto node, string describe, int opset, Func<string, ConstTensor?> constantOf, Func<string, Shape?> shapeOf)
    {
        var attrs = new OnnxAttributes(node, describe);
        if (node.OpType == "Constant") return [ConstantValue(attrs, describe)];
        if (node.OpType is "Shape" or "Size")
        {
            var shape = shapeOf(node.Input[0]) ?? throw new OnnxImportException($"{describe}: the shape of '{node.Input[0]}' is not known.");
            var dims = shape.Dims.ToArray().Select((d, i) => d == Shape.Dynamic ? (i == 0 ? ConstTensor.Batch : ConstTensor.Unknown) : (long)d).ToArray();
            if (node.OpType == "Size")
                return [ConstTensor.OfInts([], [dims.Any(ConstTensor.IsSymbol) ? ConstTensor.Unknown : dims.Aggregate(1L, (a, b) => a * b)])];
            int rank = dims.Length;
            int start = Axis(attrs.Int("start", 0), rank, clamp: true), end = Axis(attrs.Int("end", rank), rank, clamp: true);
            var slice = dims[start..Math.Max(start, end)];
            return [ConstTensor.OfInts([slice.Length], slice)];
        }
        var inputs = new ConstTensor?[node.Input.Count];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (node.Input[i].Length == 0) continue;
            inputs[i] = constantOf(node.Input[i]);
            if (inputs[i] is null)
            {
                if (FoldOnly.Contains(node.OpType))
                    throw new OnnxImportException($"{describe}: {node.OpType} of a tensor computed at run time ('{node.Input[i]}') is not supported; Shrink folds {node.OpType} only over constants and shapes.");
                return null;
            }
        }
        try
        {
            return [Fold(node.OpType, inputs, attrs, opset, describe)];
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or OverflowException)
        {
            throw new OnnxImportException($"{describe}: cannot evaluate over constant inputs ({e.Message}).", e);
        }
    }

    private static ConstTensor Fold(string opType, ConstTensor?[] x, OnnxAttributes attrs, int opset, string describe)
    {
        switch (opType)
        {
            case "Identity":
                return x[0]!;
            case "Cast":
            {
                var to = (DataType)attrs.Int("to", 1);
                var src = x[0]!;
                bool toFloat = to is DataType.Float or DataType.Double or DataType.Float16;
                if (toFloat)
                {
                    if (src.IsSymbolic) throw new OnnxImportException($"{describe}: casting a run-time dimension to float is not supported.");
                    return ConstTensor.OfFloats(src.Dims, Enumerable.Range(0, src.Length).Select(i => (float)src[i]).ToArray());
                }
                if (src.IsFloat) return ConstTensor.OfInts(src.Dims, src.Floats!.Select(f => to == DataType.Bool ? (f != 0 ? 1L : 0L) : (long)f).ToArray());
                return to == DataType.Bool ? ConstTensor.OfInts(src.Dims, src.Ints!.Select(v => ConstTensor.IsSymbol(v) ? ConstTensor.Unknown : v != 0 ? 1L : 0L).ToArray()) : src;
            }
            case "Gather":
            {
                var (data, idx) = (x[0]!, x[1]!);
                int axis = Axis(attrs.Int("axis", 0), data.Rank);
                int outer = Prod(data.Dims.AsSpan(0, axis)), inner = Prod(data.Dims.AsSpan(axis + 1)), n = data.Dims[axis];
                var ind = Known(idx, "the indices", describe).Select(v => (int)(v < 0 ? v + n : v)).ToArray();
                if (ind.Any(i => i < 0 || i >= n)) throw new OnnxImportException($"{describe}: index out of range for axis of size {n}.");
                int[] dims = [.. data.Dims[..axis], .. idx.Dims, .. data.Dims[(axis + 1)..]];
                var src = new int[outer * ind.Length * inner];
                int k = 0;
                for (int o = 0; o < outer; o++)
                    foreach (int j in ind)
                        for (int i = 0; i < inner; i++) src[k++] = (o * n + j) * inner + i;
                return data.Take(dims, src);
            }
            case "Unsqueeze":
            {
                var axes = (opset >= 13 ? x.Length > 1 && x[1] is { } a ? a.AsLongs() : null : attrs.Ints("axes"))
                           ?? throw new OnnxImportException($"{describe}: axes are missing.");
                int rank = x[0]!.Rank + axes.Length;
                var norm = axes.Select(v => Axis(v, rank)).ToHashSet();
                var dims = new List<int>();
                int s = 0;
                for (int i = 0; i < rank; i++) dims.Add(norm.Contains(i) ? 1 : x[0]!.Dims[s++]);
                return x[0]!.WithDims([.. dims]);
            }
            case "Squeeze":
            {
                var axes = opset >= 13 ? x.Length > 1 && x[1] is { } a ? a.AsLongs() : null : attrs.Ints("axes");
                var d = x[0]!.Dims;
                var drop = axes is null ? Enumerable.Range(0, d.Length).Where(i => d[i] == 1).ToHashSet() : axes.Select(v => Axis(v, d.Length)).ToHashSet();
                return x[0]!.WithDims(d.Where((_, i) => !drop.Contains(i)).ToArray());
            }
            case "Concat":
            {
                var parts = x.Where(t => t is not null).Select(t => t!).ToArray();
                if (parts.Any(p => p.IsFloat != parts[0].IsFloat)) throw new OnnxImportException($"{describe}: inputs mix float and integer types.");
                int rank = parts[0].Rank;
                int axis = Axis(attrs.Int("axis", 0), rank);
                int outer = Prod(parts[0].Dims.AsSpan(0, axis));
                var dims = (int[])parts[0].Dims.Clone();
                dims[axis] = parts.Sum(p => p.Dims[axis]);
                var all = parts.Select(p => p.IsFloat ? p.Floats!.Select(f => (double)f) : p.Ints!.Select(v => (double)v)).ToArray();
                // Data movement over the concatenation of the parts' flat arrays.
                var offsets = new int[parts.Length];
                for (int p = 1; p < parts.Length; p++) offsets[p] = offsets[p - 1] + parts[p - 1].Length;
                var src = new List<int>();
                for (int o = 0; o < outer; o++)
                    for (int p = 0; p < parts.Length; p++)
                    {
                        int block = parts[p].Length / Math.Max(outer, 1);
                        for (int i = 0; i < block; i++) src.Add(offsets[p] + o * block + i);
                    }
                var joined = parts[0].IsFloat
                    ? ConstTensor.OfFloats([offsets[^1] + parts[^1].Length], parts.SelectMany(p => p.Floats!).ToArray())
                    : ConstTensor.OfInts([offsets[^1] + parts[^1].Length], parts.SelectMany(p => p.Ints!).ToArray());
                return joined.Take(dims, [.. src]);
            }
            case "Slice":
                return Slice(x, attrs, opset, describe);
            case "Transpose":
            {
                var data = x[0]!;
                int rank = data.Rank;
                var perm = attrs.Ints("perm")?.Select(p => (int)p).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();
                var dims = perm.Select(p => data.Dims[p]).ToArray();
                var inStrides = Strides(data.Dims);
                var src = new int[data.Length];
                var idx = new int[rank];
                for (int i = 0; i < src.Length; i++)
                {
                    int rem = i, off = 0;
                    for (int d = rank - 1; d >= 0; d--)
                    {
                        idx[d] = rem % dims[d];
                        rem /= dims[d];
                        off += idx[d] * inStrides[perm[d]];
                    }
                    src[i] = off;
                }
                return data.Take(dims, src);
            }
            case "Reshape":
            case "Flatten":
            {
                var data = x[0]!;
                if (opType == "Flatten")
                {
                    int axis = Axis(attrs.Int("axis", 1), data.Rank, clamp: true);
                    return data.WithDims([Prod(data.Dims.AsSpan(0, axis)), Prod(data.Dims.AsSpan(axis))]);
                }
                var shape = Known(x[1]!, "the shape input", describe);
                var dims = new int[shape.Length];
                int infer = -1;
                for (int i = 0; i < dims.Length; i++)
                {
                    if (shape[i] == -1) { infer = i; dims[i] = 1; }
                    else dims[i] = shape[i] == 0 && attrs.Int("allowzero", 0) == 0 ? data.Dims[i] : (int)shape[i];
                }
                if (infer >= 0) dims[infer] = data.Length / Math.Max(1, Prod(dims));
                if (Prod(dims) != data.Length) throw new OnnxImportException($"{describe}: cannot reshape {data.Length} elements to [{string.Join(",", dims)}].");
                return data.WithDims(dims);
            }
            case "ConstantOfShape":
            {
                var shape = Known(x[0]!, "the shape", describe);
                var dims = shape.Select(v => (int)v).ToArray();
                var value = attrs.Tensor("value") is { } t ? ConstTensor.FromProto(t, "value") : ConstTensor.OfFloats([1], [0f]);
                int n = Prod(dims);
                return value.IsFloat ? ConstTensor.OfFloats(dims, Enumerable.Repeat(value.Floats![0], n).ToArray())
                    : ConstTensor.OfInts(dims, Enumerable.Repeat(value.Ints![0], n).ToArray());
            }
            case "Range":
            {
                var (start, limit, delta) = (x[0]!, x[1]!, x[2]!);
                Known(start, "start", describe);
                Known(limit, "limit", describe);
                Known(delta, "delta", describe);
                if (delta[0] == 0)
                    throw new OnnxImportException($"{describe}: Range with delta 0.");
                double steps = Math.Ceiling((limit[0] - start[0]) / delta[0]);
                if (steps > 1 << 24) throw new OnnxImportException($"{describe}: Range of {steps} elements is too long to fold.");
                int n = Math.Max(0, (int)steps);
                return start.IsFloat
                    ? ConstTensor.OfFloats([n], Enumerable.Range(0, n).Select(i => (float)(start[0] + i * delta[0])).ToArray())
                    : ConstTensor.OfInts([n], Enumerable.Range(0, n).Select(i => start.Ints![0] + i * delta.Ints![0]).ToArray());
            }
            case "Mul" or "Add" or "Sub" or "Div":
                return Binary(opType, x[0]!, x[1]!, describe);
            default:
                throw new OnnxImportException($"{describe}: cannot fold {opType}.");
        }
    }

    private static ConstTensor Binary(string op, ConstTensor a, ConstTensor b, string describe)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Rank) >= 0 ? a.Dims[i - (rank - a.Rank)] : 1;
            int db = i - (rank - b.Rank) >= 0 ? b.Dims[i - (rank - b.Rank)] : 1;
            if (da != db && da != 1 && db != 1) throw new OnnxImportException($"{describe}: shapes [{string.Join(",", a.Dims)}] and [{string.Join(",", b.Dims)}] do not broadcast.");
            dims[i] = Math.Max(da, db);
        }
        int n = Prod(dims);
        var ia = BroadcastIndex(a.Dims, dims);
        var ib = BroadcastIndex(b.Dims, dims);
        if (a.IsFloat || b.IsFloat)
        {
            var r = new float[n];
            for (int i = 0; i < n; i++)
            {
                double p = a[ia[i]], q = b[ib[i]];
                r[i] = (float)(op switch { "Mul" => p * q, "Add" => p + q, "Sub" => p - q, _ => p / q });
            }
            return ConstTensor.OfFloats(dims, r);
        }
        var v = new long[n];
        for (int i = 0; i < n; i++)
        {
            long p = a.Ints![ia[i]], q = b.Ints![ib[i]];
            v[i] = ConstTensor.IsSymbol(p) || ConstTensor.IsSymbol(q) ? ConstTensor.Unknown
                : op switch
                {
                    "Mul" => p * q,
                    "Add" => p + q,
                    "Sub" => p - q,
                    _ => q == 0 ? throw new OnnxImportException($"{describe}: integer division by zero.") : (long)Math.Floor((double)p / q),
                };
        }
        return ConstTensor.OfInts(dims, v);
    }

    private static ConstTensor Slice(ConstTensor?[] x, OnnxAttributes attrs, int opset, string describe)
    {
        var data = x[0]!;
        long[] starts, ends;
        long[]? axes, steps = null;
        if (opset < 10)
        {
            starts = attrs.Ints("starts") ?? throw new OnnxImportException($"{describe}: starts are missing.");
            ends = attrs.Ints("ends") ?? throw new OnnxImportException($"{describe}: ends are missing.");
            axes = attrs.Ints("axes");
        }
        else
        {
            // Not checked for symbols: exporters write ends = −INT64_MAX (= ConstTensor.Unknown) for "to the start".
            starts = x[1]!.AsLongs();
            ends = x[2]!.AsLongs();
            axes = x.Length > 3 && x[3] is { } a ? Known(a, "axes", describe) : null;
            steps = x.Length > 4 && x[4] is { } st ? Known(st, "steps", describe) : null;
        }
        int rank = data.Rank;
        var begin = new int[rank];
        var step = Enumerable.Repeat(1, rank).ToArray();
        var count = (int[])data.Dims.Clone();
        for (int k = 0; k < starts.Length; k++)
        {
            int ax = Axis(axes is null ? k : axes[k], rank);
            int dim = data.Dims[ax];
            long st = steps is null ? 1 : steps[k];
            if (st == 0) throw new OnnxImportException($"{describe}: step 0.");
            long s = starts[k] < 0 ? starts[k] + dim : starts[k];
            long e = ends[k] < 0 ? ends[k] + dim : ends[k];
            if (st > 0) { s = Math.Clamp(s, 0, dim); e = Math.Clamp(e, 0, dim); }
            else { s = Math.Clamp(s, -1, dim - 1); e = Math.Clamp(e, -1, dim - 1); }
            begin[ax] = (int)s;
            step[ax] = (int)st;
            count[ax] = (int)Math.Max(0, st > 0 ? (e - s + st - 1) / st : (s - e - st - 1) / -st);
        }
        var strides = Strides(data.Dims);
        int n = Prod(count);
        var src = new int[n];
        var idx = new int[rank];
        for (int i = 0; i < n; i++)
        {
            int rem = i, off = 0;
            for (int d = rank - 1; d >= 0; d--)
            {
                idx[d] = rem % count[d];
                rem /= count[d];
                off += (begin[d] + idx[d] * step[d]) * strides[d];
            }
            src[i] = off;
        }
        return data.Take(count, src);
    }

    /// <summary>The elements of <paramref name="t"/> as integers, or an error when one is a run-time size (batch or other).</summary>
    private static long[] Known(ConstTensor t, string what, string describe) =>
        t.IsSymbolic
            ? throw new OnnxImportException($"{describe}: {what} depends on a size known only at run time ({t}); Shrink needs it constant.")
            : t.AsLongs();

    private static ConstTensor ConstantValue(OnnxAttributes attrs, string describe)
    {
        var a = attrs.Only ?? throw new OnnxImportException($"{describe}: a Constant needs exactly one value attribute.");
        return a.Name switch
        {
            "value" => ConstTensor.FromProto(a.T, describe + " value"),
            "value_float" => ConstTensor.OfFloats([], [a.F]),
            "value_floats" => ConstTensor.OfFloats([a.Floats.Count], [.. a.Floats]),
            "value_int" => ConstTensor.OfInts([], [a.I]),
            "value_ints" => ConstTensor.OfInts([a.Ints.Count], [.. a.Ints]),
            _ => throw new OnnxImportException($"{describe}: Constant attribute '{a.Name}' is not supported."),
        };
    }

    private static int[] BroadcastIndex(int[] from, int[] to)
    {
        int n = Prod(to), rank = to.Length, pad = rank - from.Length;
        var fromStrides = Strides(from);
        var result = new int[n];
        for (int i = 0; i < n; i++)
        {
            int rem = i, off = 0;
            for (int d = rank - 1; d >= 0; d--)
            {
                int id = rem % to[d];
                rem /= to[d];
                int fd = d - pad;
                if (fd >= 0 && from[fd] != 1) off += id * fromStrides[fd];
            }
            result[i] = off;
        }
        return result;
    }

    private static int[] Strides(int[] dims)
    {
        var s = new int[dims.Length];
        int acc = 1;
        for (int d = dims.Length - 1; d >= 0; d--) { s[d] = acc; acc *= dims[d]; }
        return s;
    }

    private static int Prod(ReadOnlySpan<int> dims)
    {
        int p = 1;
        foreach (int d in dims) p *= d;
        return p;
    }

    private static int Axis(long axis, int rank, bool clamp = false)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (clamp) return (int)Math.Clamp(a, 0, rank);
        if (a < 0 || a >= rank) throw new ArgumentException($"axis {axis} is out of range for rank {rank}");
        return (int)a;
    }
}

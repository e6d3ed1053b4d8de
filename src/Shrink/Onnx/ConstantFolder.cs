using Shrink.Onnx.Proto;
using Shrink.Tensors;
using DataType = Shrink.Onnx.Proto.TensorProto.Types.DataType;

namespace Shrink.Onnx;

/// <summary>
/// Evaluates at import time the small integer computations exporters put around reshapes — PyTorch's
/// Shape→Gather→Unsqueeze→Concat for <c>x.view(x.size(0), -1)</c> — plus Constant nodes and any foldable op whose
/// inputs are all constants. Dimensions read by Shape that are only known at run time stay symbolic
/// (<see cref="DimSymbol"/>): data movement (Gather, Slice, Concat...) carries them along, arithmetic on them gives
/// <see cref="DimSymbol.Unknown"/>, and an op that needs the number itself (Slice's starts and ends, Range, Gather's
/// indices...) refuses to fold rather than fold into a wrong constant. Reshape turns the batch back into "copy this
/// dimension".
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
        int required = MinInputs(node.OpType, opset);
        for (int i = 0; i < required; i++)
            if (i >= node.Input.Count || node.Input[i].Length == 0)
                throw new OnnxImportException($"{describe}: input {i} is missing ({node.OpType} needs {required}).");
        if (node.OpType == "Constant") return [ConstantValue(attrs, describe)];
        if (node.OpType is "Shape" or "Size")
        {
            var shape = shapeOf(node.Input[0]) ?? throw new OnnxImportException($"{describe}: the shape of '{node.Input[0]}' is not known.");
            var dims = shape.Dims.ToArray();
            var symbols = dims.Select((d, i) => d != Shape.Dynamic ? DimSymbol.None : i == 0 ? DimSymbol.Batch : DimSymbol.Unknown).ToArray();
            if (node.OpType == "Size")
                return [dims.Contains(Shape.Dynamic)
                    ? ConstTensor.OfInts([], [0], [DimSymbol.Unknown])
                    : ConstTensor.OfInts([], [dims.Aggregate(1L, (a, b) => a * b)])];
            int rank = dims.Length;
            int start = Axis(attrs.Int("start", 0), rank, clamp: true), end = Math.Max(start, Axis(attrs.Int("end", rank), rank, clamp: true));
            return [ConstTensor.OfInts([end - start], dims[start..end].Select(d => (long)d).ToArray(), symbols[start..end])];
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

    /// <summary>Inputs an op cannot do without (Slice's starts and ends became inputs in opset 10).</summary>
    private static int MinInputs(string opType, int opset) => opType switch
    {
        "Constant" => 0,
        "Gather" or "Reshape" or "Mul" or "Add" or "Sub" or "Div" => 2,
        "Range" => 3,
        "Slice" => opset >= 10 ? 3 : 1,
        _ => 1,
    };

    private static ConstTensor Fold(string opType, ConstTensor?[] x, OnnxAttributes attrs, int opset, string describe)
    {
        switch (opType)
        {
            case "Identity":
                return x[0]!;
            case "Cast":
            {
                var to = (DataType)attrs.Int("to", 1);
                if (to is not (DataType.Float or DataType.Double or DataType.Float16 or DataType.Bool or DataType.Int8 or DataType.Uint8
                    or DataType.Int16 or DataType.Uint16 or DataType.Int32 or DataType.Uint32 or DataType.Int64 or DataType.Uint64))
                    throw new OnnxImportException($"{describe}: cast to {to} is not supported (numeric and bool types only).");
                var src = x[0]!;
                bool toFloat = to is DataType.Float or DataType.Double or DataType.Float16;
                if (toFloat)
                {
                    if (src.IsSymbolic) throw new OnnxImportException($"{describe}: casting a run-time dimension to float is not supported.");
                    return ConstTensor.OfFloats(src.Dims, Enumerable.Range(0, src.Length).Select(i => (float)src[i]).ToArray());
                }
                if (src.IsFloat) return ConstTensor.OfInts(src.Dims, src.Floats!.Select(f => to == DataType.Bool ? (f != 0 ? 1L : 0L) : (long)f).ToArray());
                return to == DataType.Bool
                    ? ConstTensor.OfInts(src.Dims, src.Ints!.Select(v => v != 0 ? 1L : 0L).ToArray(),
                        src.Symbols?.Select(y => y == DimSymbol.None ? DimSymbol.None : DimSymbol.Unknown).ToArray())
                    : src;
            }
            case "Gather":
            {
                var (data, idx) = (x[0]!, x[1]!);
                int axis = Axis(attrs.Int("axis", 0), data.Rank);
                int outer = Prod(data.Dims.AsSpan(0, axis)), inner = Prod(data.Dims.AsSpan(axis + 1)), n = data.Dims[axis];
                var raw = Known(idx, "the indices", describe);
                foreach (long v in raw)
                    if (v < -n || v >= n) throw new OnnxImportException($"{describe}: index {v} is out of range for an axis of size {n}.");
                var ind = raw.Select(v => (int)(v < 0 ? v + n : v)).ToArray();
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
                var axes = (opset >= 13 ? x.Length > 1 && x[1] is { } a ? Known(a, "the axes", describe) : null : attrs.Ints("axes"))
                           ?? throw new OnnxImportException($"{describe}: axes are missing.");
                return x[0]!.WithDims(OnnxAxes.Unsqueeze(x[0]!.Dims, axes, describe).Dims);
            }
            case "Squeeze":
            {
                var axes = opset >= 13 ? x.Length > 1 && x[1] is { } a ? Known(a, "the axes", describe) : null : attrs.Ints("axes");
                return x[0]!.WithDims(OnnxAxes.Squeeze(x[0]!.Dims, axes, describe).Dims);
            }
            case "Concat":
            {
                var parts = x.Where(t => t is not null).Select(t => t!).ToArray();
                if (parts.Any(p => p.IsFloat != parts[0].IsFloat)) throw new OnnxImportException($"{describe}: inputs mix float and integer types.");
                int rank = parts[0].Rank;
                int axis = Axis(attrs.Int("axis", 0), rank);
                int outer = Prod(parts[0].Dims.AsSpan(0, axis));
                if (parts.Any(p => p.Rank != rank || p.Dims.Where((d, i) => i != axis && d != parts[0].Dims[i]).Any()))
                    throw new OnnxImportException($"{describe}: input shapes {string.Join(" ", parts.Select(p => $"[{string.Join(",", p.Dims)}]"))} do not match off axis {axis}.");
                var dims = (int[])parts[0].Dims.Clone();
                dims[axis] = parts.Sum(p => p.Dims[axis]);
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
                return ConstTensor.Join(parts).Take(dims, [.. src]);
            }
            case "Slice":
                return Slice(x, attrs, opset, describe);
            case "Transpose":
            {
                var data = x[0]!;
                int rank = data.Rank;
                var given = attrs.Ints("perm");
                if (given is not null && (given.Length != rank || given.Order().Where((p, i) => p != i).Any()))
                    throw new OnnxImportException($"{describe}: perm [{string.Join(",", given)}] is not a permutation of the {rank} axes.");
                var perm = given?.Select(p => (int)p).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();
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
                    long a = attrs.Int("axis", 1);
                    if (a < -data.Rank || a > data.Rank)
                        throw new OnnxImportException($"{describe}: axis {a} is out of range for rank {data.Rank} (valid axes are {-data.Rank} to {data.Rank}).");
                    int axis = (int)(a < 0 ? a + data.Rank : a);
                    return data.WithDims([Prod(data.Dims.AsSpan(0, axis)), Prod(data.Dims.AsSpan(axis))]);
                }
                var shape = Known(x[1]!, "the shape input", describe);
                if (shape.Any(v => v < -1 || v > int.MaxValue))
                    throw new OnnxImportException($"{describe}: the target shape [{string.Join(",", shape)}] holds an invalid size.");
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
                if (shape.Any(v => v < 0) || shape.Aggregate(1.0, (p, v) => p * v) > 1 << 24)
                    throw new OnnxImportException($"{describe}: cannot fold a constant of shape [{string.Join(",", shape)}] (a negative size, or more than 2^24 elements).");
                var dims = shape.Select(v => (int)v).ToArray();
                var value = attrs.Tensor("value") is { } t ? ConstTensor.FromProto(t, "value") : ConstTensor.OfFloats([1], [0f]);
                int n = Prod(dims);
                return value.IsFloat ? ConstTensor.OfFloats(dims, Enumerable.Repeat(value.Floats![0], n).ToArray())
                    : ConstTensor.OfInts(dims, Enumerable.Repeat(value.Ints![0], n).ToArray());
            }
            case "Range":
            {
                var (start, limit, delta) = (x[0]!, x[1]!, x[2]!);
                Known(start, "the start", describe);
                Known(limit, "the limit", describe);
                Known(delta, "the delta", describe);
                if (delta[0] == 0)
                    throw new OnnxImportException($"{describe}: Range with delta 0.");
                double steps = Math.Ceiling((limit[0] - start[0]) / delta[0]);
                if (steps > 1 << 24) throw new OnnxImportException($"{describe}: Range of {steps} elements is too long to fold.");
                int n = Math.Max(0, (int)steps);
                return start.IsFloat || limit.IsFloat || delta.IsFloat
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
            if (a.IsSymbolic || b.IsSymbolic)
                throw new OnnxImportException($"{describe}: float arithmetic on a size known only at run time ({(a.IsSymbolic ? a : b)}) is not supported.");
            var r = new float[n];
            for (int i = 0; i < n; i++)
            {
                double p = a[ia[i]], q = b[ib[i]];
                r[i] = (float)(op switch { "Mul" => p * q, "Add" => p + q, "Sub" => p - q, _ => p / q });
            }
            return ConstTensor.OfFloats(dims, r);
        }
        var v = new long[n];
        var symbols = a.IsSymbolic || b.IsSymbolic ? new DimSymbol[n] : null;
        for (int i = 0; i < n; i++)
        {
            if (a.SymbolAt(ia[i]) != DimSymbol.None || b.SymbolAt(ib[i]) != DimSymbol.None)
            {
                symbols![i] = DimSymbol.Unknown; // arithmetic on a run-time size: still one, no longer the batch
                continue;
            }
            long p = a.Ints![ia[i]], q = b.Ints![ib[i]];
            v[i] = op switch
                {
                    "Mul" => p * q,
                    "Add" => p + q,
                    "Sub" => p - q,
                    _ => q == 0 ? throw new OnnxImportException($"{describe}: integer division by zero.") : (long)Math.Floor((double)p / q),
                };
        }
        return ConstTensor.OfInts(dims, v, symbols);
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
            // A start or end read from a run-time size cannot be folded (data whose elements are run-time sizes can).
            // Exporters write INT64_MIN and −INT64_MAX as ends for "to the start": ordinary numbers, clamped below.
            starts = Known(x[1]!, "the starts", describe);
            ends = Known(x[2]!, "the ends", describe);
            axes = x.Length > 3 && x[3] is { } a ? Known(a, "the axes", describe) : null;
            steps = x.Length > 4 && x[4] is { } st ? Known(st, "the steps", describe) : null;
        }
        int rank = data.Rank;
        if (ends.Length != starts.Length || (axes is not null && axes.Length != starts.Length) || (steps is not null && steps.Length != starts.Length))
            throw new OnnxImportException($"{describe}: starts, ends, axes and steps have different lengths " +
                $"({starts.Length}, {ends.Length}, {axes?.Length.ToString() ?? "-"}, {steps?.Length.ToString() ?? "-"}).");
        var sliced = OnnxAxes.Normalize(axes ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray(), rank, describe);
        var begin = new int[rank];
        var step = Enumerable.Repeat(1, rank).ToArray();
        var count = (int[])data.Dims.Clone();
        for (int k = 0; k < starts.Length; k++)
        {
            int ax = sliced[k];
            int dim = data.Dims[ax];
            long st = steps is null ? 1 : steps[k];
            if (st == 0) throw new OnnxImportException($"{describe}: step 0.");
            // A step longer than the axis takes one element at most: clamped so that the arithmetic below cannot overflow.
            st = Math.Clamp(st, -Math.Max(dim, 1), Math.Max(dim, 1));
            long s = starts[k] < 0 ? starts[k] + dim : starts[k];
            long e = ends[k] < 0 ? ends[k] + dim : ends[k];
            // ONNX: starts clamp to [0, dim] stepping forward and [0, dim − 1] backward; ends to [0, dim] and [−1, dim − 1].
            if (st > 0) { s = Math.Clamp(s, 0, dim); e = Math.Clamp(e, 0, dim); }
            else { s = Math.Clamp(s, 0, Math.Max(dim - 1, 0)); e = Math.Clamp(e, -1, dim - 1); }
            begin[ax] = (int)s;
            step[ax] = (int)st;
            count[ax] = dim == 0 ? 0 : (int)Math.Max(0, st > 0 ? (e - s + st - 1) / st : (s - e - st - 1) / -st);
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
            ? throw new OnnxImportException($"{describe}: cannot fold {what} {t}: they involve a size known only at run time (N = batch, ? = other); Shrink needs them constant.")
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

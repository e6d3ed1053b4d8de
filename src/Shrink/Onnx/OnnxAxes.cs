using Shrink.Tensors;

namespace Shrink.Onnx;

/// <summary>
/// Axis lists of ONNX nodes (Unsqueeze, Squeeze), checked as the spec states: every axis in [−r, r−1], none repeated.
/// Errors are <see cref="OnnxImportException"/>s naming the node and the axis.
/// </summary>
internal static class OnnxAxes
{
    /// <summary><paramref name="axes"/> mapped to [0, <paramref name="rank"/>), or an error for an axis out of range or repeated.</summary>
    public static int[] Normalize(long[] axes, int rank, string describe)
    {
        var result = new int[axes.Length];
        for (int k = 0; k < axes.Length; k++)
        {
            long a = axes[k];
            if (a < -rank || a >= rank)
                throw new OnnxImportException($"{describe}: axis {a} is out of range for rank {rank} (valid axes are {-rank} to {rank - 1}).");
            result[k] = (int)(a < 0 ? a + rank : a);
            if (Array.IndexOf(result, result[k], 0, k) >= 0)
                throw new OnnxImportException($"{describe}: axis {a} appears more than once in axes [{string.Join(",", axes)}].");
        }
        return result;
    }

    /// <summary>
    /// Unsqueeze: the output dimensions (axes counted in the output rank, input rank + number of axes) and, per output
    /// axis, the input axis it comes from (−1 for an inserted axis).
    /// </summary>
    public static (int[] Dims, int[] Source) Unsqueeze(IReadOnlyList<int> input, long[] axes, string describe)
    {
        int outRank = input.Count + axes.Length;
        var inserted = Normalize(axes, outRank, describe);
        var dims = new int[outRank];
        var source = new int[outRank];
        for (int i = 0, s = 0; i < outRank; i++)
        {
            bool isNew = Array.IndexOf(inserted, i) >= 0;
            dims[i] = isNew ? 1 : input[s];
            source[i] = isNew ? -1 : s++;
        }
        return (dims, source);
    }

    /// <summary>
    /// Squeeze: the output dimensions and, per output axis, its input axis. Without <paramref name="axes"/> every
    /// dimension of size 1 goes; a listed axis whose size is not 1 (or not known before run time) is an error.
    /// </summary>
    public static (int[] Dims, int[] Source) Squeeze(IReadOnlyList<int> input, long[]? axes, string describe)
    {
        int rank = input.Count;
        var drop = axes is null ? null : Normalize(axes, rank, describe);
        if (drop is not null)
            for (int k = 0; k < drop.Length; k++)
            {
                int d = input[drop[k]];
                if (d != 1)
                    throw new OnnxImportException($"{describe}: cannot squeeze axis {axes![k]}: its size is " +
                        $"{(d == Shape.Dynamic ? "known only at run time" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))}, not 1.");
            }
        var dims = new List<int>();
        var source = new List<int>();
        for (int i = 0; i < rank; i++)
        {
            if (drop is null ? input[i] == 1 : Array.IndexOf(drop, i) >= 0) continue;
            dims.Add(input[i]);
            source.Add(i);
        }
        return ([.. dims], [.. source]);
    }
}

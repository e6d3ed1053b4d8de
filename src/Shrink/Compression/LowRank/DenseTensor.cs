using MathNet.Numerics.LinearAlgebra;
using Shrink.Tensors;

namespace Shrink.Compression.LowRank;

/// <summary>
/// A small dense double-precision tensor (row-major) for the decompositions: conversion from and to <see cref="Tensor"/>,
/// mode-n unfolding, mode-n products and norms. Sizes are those of one layer's weight, so plain loops suffice.
/// </summary>
public sealed class DenseTensor
{
    public DenseTensor(int[] dims, double[]? data = null)
    {
        foreach (int d in dims)
            if (d < 1) throw new ArgumentException($"Tensor dimension {d} must be positive (dims [{string.Join(",", dims)}]).", nameof(dims));
        Dims = (int[])dims.Clone();
        long n = 1;
        foreach (int d in dims) n *= d;
        Data = data ?? new double[checked((int)n)];
        if (Data.Length != n) throw new ArgumentException($"{Data.Length} values do not fill dims [{string.Join(",", dims)}].", nameof(data));
    }

    public int[] Dims { get; }
    public double[] Data { get; }
    public int Length => Data.Length;
    public int Order => Dims.Length;

    public static DenseTensor FromTensor(Tensor t)
    {
        var d = new double[t.Length];
        var s = t.Span;
        for (int i = 0; i < d.Length; i++) d[i] = s[i];
        return new DenseTensor(t.Shape.ToArray(), d);
    }

    public Tensor ToTensor()
    {
        var t = new Tensor(new Shape(Dims));
        var s = t.Span;
        for (int i = 0; i < Data.Length; i++) s[i] = (float)Data[i];
        return t;
    }

    public double FrobeniusNorm()
    {
        double s = 0;
        foreach (double v in Data) s += v * v;
        return Math.Sqrt(s);
    }

    /// <summary>‖this − other‖_F / ‖this‖_F (0 when both are zero).</summary>
    public double RelativeErrorTo(DenseTensor other)
    {
        if (other.Length != Length) throw new ArgumentException($"Cannot compare {Length} with {other.Length} elements.");
        double num = 0, den = 0;
        for (int i = 0; i < Data.Length; i++)
        {
            double d = Data[i] - other.Data[i];
            num += d * d;
            den += Data[i] * Data[i];
        }
        return den == 0 ? (num == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(num / den);
    }

    /// <summary>(product of dims before <paramref name="mode"/>, dims[mode], product of dims after).</summary>
    internal (int Pre, int Mid, int Post) Split(int mode)
    {
        int pre = 1, post = 1;
        for (int i = 0; i < mode; i++) pre *= Dims[i];
        for (int i = mode + 1; i < Dims.Length; i++) post *= Dims[i];
        return (pre, Dims[mode], post);
    }

    /// <summary>Mode-n unfolding: a [dims[mode], rest] matrix (columns in row-major order of the remaining indices).</summary>
    public Matrix<double> Unfold(int mode)
    {
        var (pre, mid, post) = Split(mode);
        var m = Matrix<double>.Build.Dense(mid, pre * post);
        for (int a = 0; a < pre; a++)
            for (int i = 0; i < mid; i++)
            {
                int src = (a * mid + i) * post;
                for (int b = 0; b < post; b++) m[i, a * post + b] = Data[src + b];
            }
        return m;
    }

    /// <summary>Mode-n product: result[.., j, ..] = Σ_i m[j, i]·this[.., i, ..]; m is [newDim, dims[mode]].</summary>
    public DenseTensor ModeProduct(int mode, Matrix<double> m)
    {
        var (pre, mid, post) = Split(mode);
        if (m.ColumnCount != mid)
            throw new ArgumentException($"Mode-{mode} product: matrix has {m.ColumnCount} columns, the mode has {mid}.");
        int nd = m.RowCount;
        var dims = (int[])Dims.Clone();
        dims[mode] = nd;
        var y = new DenseTensor(dims);
        var mArr = m.ToArray();
        for (int a = 0; a < pre; a++)
            for (int j = 0; j < nd; j++)
            {
                int dst = (a * nd + j) * post;
                for (int i = 0; i < mid; i++)
                {
                    double c = mArr[j, i];
                    if (c == 0) continue;
                    int src = (a * mid + i) * post;
                    for (int b = 0; b < post; b++) y.Data[dst + b] += c * Data[src + b];
                }
            }
        return y;
    }
}

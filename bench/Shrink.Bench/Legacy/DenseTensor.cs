// The CP-ALS / Tucker-2 code before the GEMM rewrite (main @ 257857a), kept only as the "before" of LowRankBench.
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;
using Shrink.Tensors;

namespace Shrink.Bench.Legacy;

/// <summary>
/// A small dense double-precision tensor (row-major) for the decompositions: conversion from and to <see cref="Tensor"/>,
/// mode-n unfolding, mode-n products and norms. Sizes are those of one layer's weight, so plain loops suffice.
/// </summary>
internal sealed class DenseTensor
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

    /// <summary>
    /// The mode-n Gram matrix X₍ₙ₎·X₍ₙ₎ᵀ [dims[mode], dims[mode]] (row-major), accumulated as outer products of the mode
    /// fibres so the inner loop is a vector operation; rows are split over threads when large.
    /// </summary>
    public double[] ModeGram(int mode)
    {
        var (pre, mid, post) = Split(mode);
        // Fibres as rows: y[(a, b), i] = x[a, i, b].
        int fibres = pre * post;
        var y = new double[(long)fibres * mid <= int.MaxValue ? fibres * mid : throw new InvalidOperationException("Tensor too large.")];
        for (int a = 0; a < pre; a++)
            for (int i = 0; i < mid; i++)
            {
                int src = (a * mid + i) * post;
                for (int b = 0; b < post; b++) y[(a * post + b) * mid + i] = Data[src + b];
            }
        var g = new double[mid * mid];
        void Rows(int p0, int p1)
        {
            for (int f = 0; f < fibres; f++)
            {
                var row = y.AsSpan(f * mid, mid);
                for (int p = p0; p < p1; p++)
                {
                    double v = row[p];
                    if (v != 0) TensorPrimitives.MultiplyAdd(row, v, g.AsSpan(p * mid, mid), g.AsSpan(p * mid, mid));
                }
            }
        }
        int chunks = (long)mid * mid * fibres > 1 << 22 ? Math.Min(mid, Environment.ProcessorCount * 4) : 1;
        if (chunks == 1) Rows(0, mid);
        else Parallel.For(0, chunks, c => Rows(c * mid / chunks, (c + 1) * mid / chunks));
        return g;
    }

    /// <summary>
    /// The leading <paramref name="count"/> left singular vectors of the mode-n unfolding [dims[mode], count] and all its
    /// singular values (descending). Small unfoldings go through a thin QR and an SVD (full accuracy); large ones (over
    /// <see cref="GramThreshold"/> elements) through the eigendecomposition of the mode Gram matrix, which never forms the
    /// long side's basis (singular values below ~1e-8·s_max lose relative accuracy there, which subspaces do not feel).
    /// </summary>
    public (Matrix<double> Vectors, double[] SingularValues) LeadingModeVectors(int mode, int count, bool? viaGram = null)
    {
        int mid = Dims[mode];
        if (count < 1 || count > mid) throw new ArgumentOutOfRangeException(nameof(count), count, $"Mode {mode} has {mid} dimensions.");
        if (!(viaGram ?? Length >= GramThreshold))
        {
            var unfold = Unfold(mode);
            var (u, s, _) = TruncatedSvd.Thin(unfold);
            return (count <= u.ColumnCount ? u.SubMatrix(0, mid, 0, count) : TruncatedSvd.LeadingLeftVectors(unfold, count), s);
        }
        var g = ModeGram(mode);
        var evd = Matrix<double>.Build.Dense(mid, mid, (p, q) => g[p * mid + q]).Evd(Symmetricity.Symmetric);
        var values = evd.EigenValues.Select(v => v.Real).ToArray();
        var order = Enumerable.Range(0, mid).OrderByDescending(i => values[i]).ToArray();
        var vectors = Matrix<double>.Build.Dense(mid, count, (i, c) => evd.EigenVectors[i, order[c]]);
        int k = Math.Min(mid, Length / mid);
        var singular = order.Take(k).Select(i => Math.Sqrt(Math.Max(0, values[i]))).ToArray();
        return (vectors, singular);
    }

    /// <summary>Unfoldings with at least this many elements take the Gram path of <see cref="LeadingModeVectors"/>.</summary>
    public const int GramThreshold = 1 << 18;

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
        void Block(int a)
        {
            for (int j = 0; j < nd; j++)
            {
                var dst = y.Data.AsSpan((a * nd + j) * post, post);
                for (int i = 0; i < mid; i++)
                {
                    double c = mArr[j, i];
                    if (c != 0) TensorPrimitives.MultiplyAdd(Data.AsSpan((a * mid + i) * post, post), c, dst, dst);
                }
            }
        }
        if (pre > 1 && (long)Length * nd > 1 << 22) Parallel.For(0, pre, Block);
        else for (int a = 0; a < pre; a++) Block(a);
        return y;
    }
}

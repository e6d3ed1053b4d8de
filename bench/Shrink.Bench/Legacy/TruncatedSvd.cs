// The CP-ALS / Tucker-2 code before the GEMM rewrite (main @ 257857a), kept only as the "before" of LowRankBench.
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;
using Shrink.Tensors;

namespace Shrink.Bench.Legacy;

/// <summary>
/// A rank-r truncated SVD M ≈ U·diag(S)·Vᵀ of an m×n matrix: <see cref="U"/> [m, r] and <see cref="V"/> [n, r] with
/// orthonormal columns, <see cref="S"/> the r largest singular values (descending), <see cref="SingularValues"/> all
/// min(m, n) of them. <see cref="RelativeError"/> = ‖M − U·S·Vᵀ‖_F / ‖M‖_F = sqrt(Σ_{i≥r} s_i² / Σ s_i²) (Eckart–Young).
/// </summary>
internal sealed record SvdResult(Matrix<double> U, double[] S, Matrix<double> V, double[] SingularValues, double RelativeError)
{
    public int Rank => S.Length;

    /// <summary>U·diag(S)·Vᵀ.</summary>
    public Matrix<double> Reconstruct() => U * Matrix<double>.Build.DenseOfDiagonalArray(S) * V.Transpose();
}

/// <summary>Truncated SVD (double precision, MathNet) and the spectrum helpers built on it.</summary>
internal static class TruncatedSvd
{
    /// <summary>Rank-<paramref name="rank"/> truncated SVD of <paramref name="m"/> (1 ≤ rank ≤ min(m, n)).</summary>
    public static SvdResult Decompose(Matrix<double> m, int rank)
    {
        int k = Math.Min(m.RowCount, m.ColumnCount);
        if (rank < 1 || rank > k)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"Rank must be in [1, {k}] for a {m.RowCount}×{m.ColumnCount} matrix.");
        var (u, s, v) = Thin(m);
        var kept = s.Take(rank).ToArray();
        return new SvdResult(u.SubMatrix(0, u.RowCount, 0, rank), kept, v.SubMatrix(0, v.RowCount, 0, rank), s,
            TailError(s, rank));
    }

    /// <summary>Rank-<paramref name="rank"/> truncated SVD of a rank-2 float tensor [m, n].</summary>
    public static SvdResult Decompose(Tensor matrix, int rank)
    {
        if (matrix.Rank != 2) throw new ArgumentException($"SVD needs a matrix, got a tensor of shape {matrix.Shape}.", nameof(matrix));
        return Decompose(ToMatrix(matrix), rank);
    }

    /// <summary>All singular values of <paramref name="m"/>, descending.</summary>
    public static double[] SingularValues(Matrix<double> m) => Thin(m, vectors: false).S;

    /// <summary>sqrt(Σ_{i≥rank} s_i² / Σ s_i²): the relative Frobenius error of the best rank-<paramref name="rank"/> approximation.</summary>
    public static double TailError(IReadOnlyList<double> singularValues, int rank)
    {
        double total = 0, tail = 0;
        for (int i = 0; i < singularValues.Count; i++)
        {
            double e = singularValues[i] * singularValues[i];
            total += e;
            if (i >= rank) tail += e;
        }
        return total == 0 ? 0 : Math.Sqrt(tail / total);
    }

    /// <summary>
    /// The smallest rank keeping at least <paramref name="fraction"/> of the squared singular values ("energy"),
    /// at least 1. fraction = 1 gives the numerical rank of a full-rank matrix.
    /// </summary>
    public static int EnergyRank(IReadOnlyList<double> singularValues, double fraction)
    {
        if (!(fraction > 0 && fraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "Energy fraction must be in (0, 1].");
        double total = 0;
        foreach (double s in singularValues) total += s * s;
        if (total == 0) return 1;
        double kept = 0;
        for (int i = 0; i < singularValues.Count; i++)
        {
            kept += singularValues[i] * singularValues[i];
            if (kept >= fraction * total * (1 - 1e-12)) return i + 1;
        }
        return singularValues.Count;
    }

    /// <summary>
    /// Thin SVD, k = min(m, n): U [m, k], S (descending), V [n, k]. A long or wide matrix is first reduced by a thin
    /// QR (A = QR, then the SVD of the small square R), so that a 512×4608 unfolding never builds a 4608×4608 V.
    /// </summary>
    internal static (Matrix<double> U, double[] S, Matrix<double> V) Thin(Matrix<double> a, bool vectors = true)
    {
        int m = a.RowCount, n = a.ColumnCount;
        if (m > n)
        {
            var qr = a.QR(QRMethod.Thin);
            var (ur, s, vr) = Square(qr.R, vectors);
            return (vectors ? qr.Q * ur : ur, s, vr);
        }
        if (n > m)
        {
            var qr = a.Transpose().QR(QRMethod.Thin); // Aᵀ = QR ⇒ A = Rᵀ Qᵀ; Rᵀ = U S Wᵀ ⇒ A = U S (QW)ᵀ
            var (ur, s, vr) = Square(qr.R.Transpose(), vectors);
            return (ur, s, vectors ? qr.Q * vr : vr);
        }
        return Square(a, vectors);
    }

    private static (Matrix<double> U, double[] S, Matrix<double> V) Square(Matrix<double> a, bool vectors)
    {
        var svd = a.Svd(vectors);
        var s = svd.S.ToArray();
        if (!vectors) return (a, s, a);
        return (svd.U, s, svd.VT.Transpose());
    }

    /// <summary>The leading <paramref name="count"/> left singular vectors of <paramref name="a"/> (count ≤ rows).</summary>
    internal static Matrix<double> LeadingLeftVectors(Matrix<double> a, int count)
    {
        var (u, _, _) = Thin(a);
        if (count <= u.ColumnCount) return u.SubMatrix(0, u.RowCount, 0, count);
        // More vectors than the column space offers (a wide mode of a thin matrix): complete to an orthonormal basis.
        var full = a.Svd(true).U;
        return full.SubMatrix(0, full.RowCount, 0, count);
    }

    internal static Matrix<double> ToMatrix(Tensor t)
    {
        int m = t.Shape[0], n = t.Shape[1];
        var mat = Matrix<double>.Build.Dense(m, n);
        var s = t.Span;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) mat[i, j] = s[i * n + j];
        return mat;
    }

    internal static Tensor ToTensor(Matrix<double> m)
    {
        var t = new Tensor(new Shape(m.RowCount, m.ColumnCount));
        var s = t.Span;
        for (int i = 0; i < m.RowCount; i++)
            for (int j = 0; j < m.ColumnCount; j++) s[i * m.ColumnCount + j] = (float)m[i, j];
        return t;
    }
}

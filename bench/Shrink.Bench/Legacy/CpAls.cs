// The CP-ALS / Tucker-2 code before the GEMM rewrite (main @ 257857a), kept only as the "before" of LowRankBench.
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MathNet.Numerics.LinearAlgebra;
using Shrink.Tensors;

namespace Shrink.Bench.Legacy;

/// <summary>Controls of <see cref="CpAls"/>.</summary>
internal sealed record CpOptions
{
    /// <summary>Upper bound on ALS sweeps (one sweep updates the four factors once).</summary>
    public int MaxIterations { get; init; } = 300;

    /// <summary>Stop when the relative error changes by less than this fraction of itself in one sweep (plateau).</summary>
    public double Tolerance { get; init; } = 1e-7;

    /// <summary>
    /// Tikhonov damping of the normal equations, relative to their diagonal (which is 1: factors are kept unit-norm):
    /// each update solves A·(V + μI) = M + μ·A_prev, a proximal step that leaves the fixed points of ALS unchanged but
    /// keeps ill-conditioned updates (nearly collinear components) from jumping.
    /// </summary>
    public double Damping { get; init; } = 1e-3;

    /// <summary>‖λ‖₂ / ‖W‖_F above which the solution is declared degenerate (huge components cancelling each other).</summary>
    public double MaxLambdaRatio { get; init; } = 10;

    /// <summary>Initialisation: leading singular vectors of each unfolding (HOSVD), completed with seeded random columns.</summary>
    public bool HosvdInit { get; init; } = true;

    /// <summary>
    /// A pair of components with congruence below −MaxCongruence (nearly the same rank-one term with opposite signs),
    /// together with ‖λ‖ &gt; ‖W‖, also marks the solution degenerate.
    /// </summary>
    public double MaxCongruence { get; init; } = 0.95;

    public int Seed { get; init; }
}

/// <summary>
/// A rank-R CP decomposition of a 4-way tensor: X[a,b,c,d] ≈ Σ_r λ_r·F0[a,r]·F1[b,r]·F2[c,r]·F3[d,r], factor columns of
/// unit norm. For a conv weight the modes are (out, in, kh, kw). <see cref="RelativeError"/> is ‖X − X̂‖_F / ‖X‖_F from
/// the explicit reconstruction. <see cref="Degenerate"/> is set (with <see cref="Diagnosis"/>) when ALS ran into
/// diverging, cancelling components or non-finite numbers: callers should not use the factors then (fall back to Tucker-2).
/// </summary>
internal sealed record CpResult(
    Matrix<double>[] Factors,
    double[] Lambda,
    double RelativeError,
    int Iterations,
    bool Converged,
    bool Degenerate,
    string? Diagnosis,
    double LambdaRatio,
    double MinCongruence,
    IReadOnlyList<double> ErrorHistory)
{
    public int Rank => Lambda.Length;

    public DenseTensor Reconstruct()
    {
        var f = Factors;
        int[] dims = f.Select(m => m.RowCount).ToArray();
        var left = CpAls.KhatriRao(f[0], f[1]) * Matrix<double>.Build.DenseOfDiagonalArray(Lambda);
        var full = left.TransposeAndMultiply(CpAls.KhatriRao(f[2], f[3])); // [d0·d1, d2·d3]
        var t = new DenseTensor(dims);
        int cols = dims[2] * dims[3];
        for (int i = 0; i < full.RowCount; i++)
            for (int j = 0; j < cols; j++) t.Data[i * cols + j] = full[i, j];
        return t;
    }
}

/// <summary>
/// CP (CANDECOMP/PARAFAC) of a 4-way tensor by alternating least squares, in double precision: HOSVD start, unit-norm
/// factors with weights λ, damped normal equations, stop on a relative-error plateau or after
/// <see cref="CpOptions.MaxIterations"/>, and a degeneracy guard on ‖λ‖ and on cancelling pairs. Each sweep costs three
/// blocked passes over the tensor (about 3·numel·R multiply-adds) and never stores an out·in×R intermediate.
/// </summary>
internal static class CpAls
{
    public static CpResult Decompose(Tensor weight, int rank, CpOptions? options = null) =>
        Decompose(DenseTensor.FromTensor(weight), rank, options);

    /// <summary>
    /// Rank-<paramref name="rank"/> CP of <paramref name="x"/>. When the rank reaches numel / (largest dimension), the
    /// exact decomposition (one component per fibre of the largest mode) is returned without iterating.
    /// </summary>
    public static CpResult Decompose(DenseTensor x, int rank, CpOptions? options = null)
    {
        if (x.Order != 4) throw new ArgumentException($"CP-ALS here handles 4-way tensors, got dims [{string.Join(",", x.Dims)}].", nameof(x));
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "CP rank must be ≥ 1.");
        var opt = options ?? new CpOptions();
        if (opt.MaxIterations < 1) throw new ArgumentOutOfRangeException(nameof(options), opt.MaxIterations, "MaxIterations must be ≥ 1.");
        if (opt.Damping < 0) throw new ArgumentOutOfRangeException(nameof(options), opt.Damping, "Damping must be ≥ 0.");
        int[] d = x.Dims;
        double normX = x.FrobeniusNorm();
        if (rank >= ExactRank(d) || normX == 0) return Exact(x, rank);

        // Factors as row-major [d_m, R] arrays with unit columns; λ carries the scale.
        var a = Initialise(x, rank, opt);
        var grams = new double[4][];
        for (int m = 0; m < 4; m++) grams[m] = Gram(a[m], d[m], rank);
        var lambda = new double[rank];
        var history = new List<double>();
        double err = double.PositiveInfinity, ratio = 0;
        bool converged = false, degenerate = false;
        string? diagnosis = null;
        int it = 0;
        while (it < opt.MaxIterations)
        {
            it++;
            var k23 = KhatriRao(a[2], d[2], a[3], d[3], rank);                // [kh·kw, R]
            Update(a, grams, d, lambda, 0, MttkrpChannels(x.Data, d, k23, a[1], rank, outMode: true), opt.Damping);
            Update(a, grams, d, lambda, 1, MttkrpChannels(x.Data, d, k23, a[0], rank, outMode: false), opt.Damping);
            var s = SpatialProjection(x.Data, d, a[0], a[1], rank);           // [kh·kw, R]: X contracted with A0, A1
            Update(a, grams, d, lambda, 2, Contract(s, a[3], d[2], d[3], rank, keepFirst: true), opt.Damping);
            var m3 = Contract(s, a[2], d[2], d[3], rank, keepFirst: false);
            Update(a, grams, d, lambda, 3, m3, opt.Damping);

            double next = ErrorFromGrams(a, grams, d, lambda, m3, normX);
            ratio = Norm(lambda) / normX;
            history.Add(next);
            if (!double.IsFinite(next) || !double.IsFinite(ratio))
            {
                degenerate = true;
                diagnosis = $"non-finite values after {it} sweeps";
                break;
            }
            if (ratio > opt.MaxLambdaRatio)
            {
                degenerate = true;
                diagnosis = $"diverging components: ‖λ‖/‖W‖ = {ratio:G3} > {opt.MaxLambdaRatio} after {it} sweeps (cancelling rank-one terms)";
                break;
            }
            bool plateau = (double.IsFinite(err) && Math.Abs(err - next) <= opt.Tolerance * err) || next < 1e-10;
            err = next;
            if (plateau)
            {
                converged = true;
                break;
            }
        }
        var factors = new Matrix<double>[4];
        for (int m = 0; m < 4; m++)
        {
            int dm = d[m];
            var f = a[m];
            factors[m] = Matrix<double>.Build.Dense(dm, rank, (i, c) => f[i * rank + c]);
        }
        double congruence = MinCongruence(grams, rank);
        if (!degenerate && congruence < -opt.MaxCongruence && ratio > 1)
        {
            degenerate = true;
            diagnosis = $"cancelling components: two rank-one terms have congruence {congruence:F3} (nearly opposite) and ‖λ‖/‖W‖ = {ratio:G3}";
        }
        var result = new CpResult(factors, lambda, double.NaN, it, converged, degenerate, diagnosis, ratio, congruence, history);
        double exact = !double.IsFinite(ratio) ? double.NaN : x.RelativeErrorTo(result.Reconstruct());
        return result with { RelativeError = exact };
    }

    /// <summary>The CP rank that certainly reproduces any tensor of these dims: numel / (largest dimension).</summary>
    public static int ExactRank(IReadOnlyList<int> dims)
    {
        long n = 1;
        foreach (int v in dims) n *= v;
        return (int)(n / dims.Max());
    }

    /// <summary>Khatri–Rao (column-wise Kronecker) product: row i·rows(b)+j, column r = a[i,r]·b[j,r].</summary>
    internal static Matrix<double> KhatriRao(Matrix<double> a, Matrix<double> b)
    {
        int ra = a.RowCount, rb = b.RowCount, r = a.ColumnCount;
        var k = Matrix<double>.Build.Dense(ra * rb, r);
        for (int c = 0; c < r; c++)
            for (int i = 0; i < ra; i++)
            {
                double ai = a[i, c];
                for (int j = 0; j < rb; j++) k[i * rb + j, c] = ai * b[j, c];
            }
        return k;
    }

    /// <summary>Khatri–Rao of row-major [n1, R] and [n2, R]: row i·n2 + j holds f1[i, :]∘f2[j, :].</summary>
    private static double[] KhatriRao(double[] f1, int n1, double[] f2, int n2, int r)
    {
        var k = new double[n1 * n2 * r];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < n2; j++)
                TensorPrimitives.Multiply(f1.AsSpan(i * r, r), f2.AsSpan(j * r, r), k.AsSpan((i * n2 + j) * r, r));
        return k;
    }

    /// <summary>
    /// MTTKRP of a channel mode, blocked so that X·(A2⊙A3) [out·in, R] is never stored: with t = Σ_j X[o, c, j]·K[j, :],
    /// outMode → M[o, :] = Σ_c t∘F[c, :] (F = A1); else M[c, :] = Σ_o t∘F[o, :] (F = A0). j runs over (kh, kw).
    /// </summary>
    private static double[] MttkrpChannels(double[] x, int[] d, double[] k, double[] f, int r, bool outMode)
    {
        int d0 = d[0], d1 = d[1], jn = d[2] * d[3];
        int rows = outMode ? d0 : d1, inner = outMode ? d1 : d0;
        var m = new double[rows * r];
        void Row(int row)
        {
            var dst = m.AsSpan(row * r, r);
            var t = new double[r];
            for (int q = 0; q < inner; q++)
            {
                int o = outMode ? row : q, c = outMode ? q : row;
                Array.Clear(t);
                int src = (o * d1 + c) * jn;
                for (int j = 0; j < jn; j++)
                {
                    double v = x[src + j];
                    if (v != 0) TensorPrimitives.MultiplyAdd(k.AsSpan(j * r, r), v, t, t);
                }
                TensorPrimitives.MultiplyAdd(t, f.AsSpan(q * r, r), dst, dst);
            }
        }
        if ((long)d0 * d1 * jn * r < 1 << 21) for (int i = 0; i < rows; i++) Row(i);
        else Parallel.For(0, rows, Row);
        return m;
    }

    /// <summary>S[j, :] = Σ_{o,c} X[o, c, j]·(A0[o, :]∘A1[c, :]) [kh·kw, R], accumulated per thread and summed.</summary>
    private static double[] SpatialProjection(double[] x, int[] d, double[] a0, double[] a1, int r)
    {
        int d0 = d[0], d1 = d[1], jn = d[2] * d[3];
        var total = new double[jn * r];
        var gate = new object();
        int chunks = (long)d0 * d1 * jn * r < 1 << 21 ? 1 : Math.Min(d0, Environment.ProcessorCount * 2);
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks == 1 ? 1 : -1 }, ch =>
        {
            var local = new double[jn * r];
            var w = new double[r];
            for (int o = ch * d0 / chunks; o < (ch + 1) * d0 / chunks; o++)
                for (int c = 0; c < d1; c++)
                {
                    TensorPrimitives.Multiply(a0.AsSpan(o * r, r), a1.AsSpan(c * r, r), w);
                    int src = (o * d1 + c) * jn;
                    for (int j = 0; j < jn; j++)
                    {
                        double v = x[src + j];
                        if (v != 0) TensorPrimitives.MultiplyAdd(w, v, local.AsSpan(j * r, r), local.AsSpan(j * r, r));
                    }
                }
            lock (gate) TensorPrimitives.Add(total, local, total);
        });
        return total;
    }

    /// <summary>
    /// From T [n1·n2, R] (rows i·n2 + j): keepFirst → M[i, :] = Σ_j T[i·n2+j, :]∘f[j, :]; else M[j, :] = Σ_i T[i·n2+j, :]∘f[i, :].
    /// </summary>
    private static double[] Contract(double[] t, double[] f, int n1, int n2, int r, bool keepFirst)
    {
        var m = new double[(keepFirst ? n1 : n2) * r];
        var tmp = new double[r];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < n2; j++)
            {
                var row = t.AsSpan((i * n2 + j) * r, r);
                var dst = m.AsSpan((keepFirst ? i : j) * r, r);
                TensorPrimitives.Multiply(row, f.AsSpan((keepFirst ? j : i) * r, r), tmp);
                TensorPrimitives.Add(dst, tmp, dst);
            }
        return m;
    }

    /// <summary>AᵀA of a row-major [n, R] factor, as a row-major [R, R] array (sum of the rows' outer products).</summary>
    private static double[] Gram(double[] f, int n, int r)
    {
        var g = new double[r * r];
        for (int i = 0; i < n; i++)
        {
            var row = f.AsSpan(i * r, r);
            for (int p = 0; p < r; p++)
            {
                double v = row[p];
                if (v != 0) TensorPrimitives.MultiplyAdd(row, v, g.AsSpan(p * r, r), g.AsSpan(p * r, r));
            }
        }
        return g;
    }

    /// <summary>∘ of the Gram matrices of every mode except <paramref name="skip"/> (−1: all four), row-major [R, R].</summary>
    private static double[] Hadamard(double[][] grams, int skip, int r)
    {
        var v = new double[r * r];
        Array.Fill(v, 1.0);
        for (int m = 0; m < grams.Length; m++)
            if (m != skip) TensorPrimitives.Multiply(v, grams[m], v);
        return v;
    }

    /// <summary>
    /// Solves the damped normal equations A·(V + μI) = M + μ·A_prev·diag(λ) for factor <paramref name="mode"/>
    /// (V = ∘ of the other modes' Grams), renormalises its columns into λ and refreshes its Gram.
    /// </summary>
    private static void Update(double[][] a, double[][] grams, int[] d, double[] lambda, int mode, double[] mttkrp, double damping)
    {
        int r = lambda.Length, n = d[mode];
        var v = Hadamard(grams, mode, r);
        double trace = 0;
        for (int c = 0; c < r; c++) trace += v[c * r + c];
        double mu = damping * trace / r + 1e-12;
        var f = a[mode];
        var lhs = Matrix<double>.Build.Dense(r, r, (p, q) => v[p * r + q] + (p == q ? mu : 0));
        // rhsᵀ [R, n] = (M + μ·A·diag(λ))ᵀ
        var rhsT = Matrix<double>.Build.Dense(r, n, (c, i) => mttkrp[i * r + c] + mu * f[i * r + c] * lambda[c]);
        Matrix<double> solT;
        try
        {
            solT = lhs.Cholesky().Solve(rhsT);
        }
        catch (ArgumentException)
        {
            solT = lhs.Svd(true).Solve(rhsT); // not positive definite numerically: least squares instead
        }
        var sol = solT.ToArray();
        for (int c = 0; c < r; c++)
        {
            double norm = 0;
            for (int i = 0; i < n; i++) norm += sol[c, i] * sol[c, i];
            norm = Math.Sqrt(norm);
            lambda[c] = norm;
            if (norm == 0) continue; // keep the previous unit column for a vanished component
            double scale = double.IsFinite(norm) ? 1 / norm : 1;
            for (int i = 0; i < n; i++) f[i * r + c] = sol[c, i] * scale;
        }
        grams[mode] = Gram(f, n, r);
    }

    /// <summary>‖X − X̂‖/‖X‖ from ‖X‖², ⟨X, X̂⟩ = Σ_r λ_r (M₃ᵀA₃)_rr and ‖X̂‖² = λᵀ(∘_m A_mᵀA_m)λ (cheap; ~1e-8 floor).</summary>
    private static double ErrorFromGrams(double[][] a, double[][] grams, int[] d, double[] lambda, double[] m3, double normX)
    {
        int r = lambda.Length;
        var v = Hadamard(grams, -1, r);
        double hat = 0;
        for (int p = 0; p < r; p++) hat += lambda[p] * TensorPrimitives.Dot(v.AsSpan(p * r, r), lambda);
        double inner = 0;
        for (int i = 0; i < d[3]; i++)
            for (int c = 0; c < r; c++) inner += lambda[c] * m3[i * r + c] * a[3][i * r + c];
        double e2 = normX * normX - 2 * inner + hat;
        return Math.Sqrt(Math.Max(0, e2)) / normX;
    }

    /// <summary>
    /// The most negative congruence Π_m ⟨a_m,p, a_m,q⟩ over pairs of components: near −1 means two nearly identical
    /// rank-one terms of opposite sign, the signature of a degenerate CP solution.
    /// </summary>
    private static double MinCongruence(double[][] grams, int r)
    {
        var v = Hadamard(grams, -1, r);
        double min = 0;
        for (int p = 0; p < r; p++)
            for (int q = p + 1; q < r; q++) min = Math.Min(min, v[p * r + q]);
        return min;
    }

    private static double[][] Initialise(DenseTensor x, int rank, CpOptions opt)
    {
        var rng = new Random(opt.Seed);
        var a = new double[4][];
        for (int m = 0; m < 4; m++)
        {
            int dm = x.Dims[m];
            var f = new double[dm * rank];
            for (int i = 0; i < f.Length; i++) f[i] = Init.NextGaussian(rng);
            if (opt.HosvdInit)
            {
                int k = Math.Min(rank, dm);
                var u = x.LeadingModeVectors(m, k).Vectors;
                for (int i = 0; i < dm; i++)
                    for (int c = 0; c < k; c++) f[i * rank + c] = u[i, c];
            }
            for (int c = 0; c < rank; c++)
            {
                double n = 0;
                for (int i = 0; i < dm; i++) n += f[i * rank + c] * f[i * rank + c];
                n = n > 0 ? Math.Sqrt(n) : 1;
                for (int i = 0; i < dm; i++) f[i * rank + c] /= n;
            }
            a[m] = f;
        }
        return a;
    }

    /// <summary>The exact decomposition: one component per fibre of the largest mode, unit vectors elsewhere; extra components zero.</summary>
    private static CpResult Exact(DenseTensor x, int rank)
    {
        int[] d = x.Dims;
        int big = Array.IndexOf(d, d.Max());
        var a = d.Select(n => Matrix<double>.Build.Dense(n, rank)).ToArray();
        var lambda = new double[rank];
        int[] others = Enumerable.Range(0, 4).Where(m => m != big).ToArray();
        int fibres = ExactRank(d);
        var idx = new int[4];
        var strides = new int[4];
        strides[3] = 1;
        for (int m = 2; m >= 0; m--) strides[m] = strides[m + 1] * d[m + 1];
        for (int c = 0; c < rank; c++)
        {
            if (c >= fibres)
            {
                for (int m = 0; m < 4; m++) a[m][0, c] = 1;
                continue;
            }
            int rest = c;
            for (int k = 2; k >= 0; k--)
            {
                idx[others[k]] = rest % d[others[k]];
                rest /= d[others[k]];
            }
            foreach (int m in others) a[m][idx[m], c] = 1;
            int baseOffset = 0;
            foreach (int m in others) baseOffset += idx[m] * strides[m];
            double norm = 0;
            for (int i = 0; i < d[big]; i++)
            {
                double v = x.Data[baseOffset + i * strides[big]];
                a[big][i, c] = v;
                norm += v * v;
            }
            norm = Math.Sqrt(norm);
            lambda[c] = norm;
            if (norm > 0) for (int i = 0; i < d[big]; i++) a[big][i, c] /= norm;
            else a[big][0, c] = 1;
        }
        double normX = x.FrobeniusNorm();
        var result = new CpResult(a, lambda, 0, 0, true, false, null, normX == 0 ? 0 : Norm(lambda) / normX, 0, []);
        return result with { RelativeError = x.RelativeErrorTo(result.Reconstruct()) };
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(e => e * e));
}

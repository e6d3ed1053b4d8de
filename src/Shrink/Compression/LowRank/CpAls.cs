using MathNet.Numerics.LinearAlgebra;
using Shrink.Kernels;
using Shrink.Tensors;

namespace Shrink.Compression.LowRank;

/// <summary>Controls of <see cref="CpAls"/>.</summary>
public sealed record CpOptions
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

    /// <summary>
    /// Cap on one decomposition's ALS work, in multiply-adds (≤ 0: none): ALS runs at most this ÷ (one sweep's ≈ 3·numel·R
    /// multiply-adds) sweeps; the result then has <see cref="CpResult.BudgetSpent"/> set and Converged false. A count of
    /// work, not a clock, so that a decomposition — and an optimize run built on it — is the same on a busy machine as on
    /// an idle one. The default, 3.6·10¹¹ (≈ 30 s of this machine's double GEMM on one core), lets a 512×512×3×3 weight run
    /// its 300 sweeps at R ≤ 128 and ~200 of them at R = 256; small layers never reach it.
    /// </summary>
    public double WorkBudget { get; init; } = 3.6e11;
}

/// <summary>
/// A rank-R CP decomposition of a 4-way tensor: X[a,b,c,d] ≈ Σ_r λ_r·F0[a,r]·F1[b,r]·F2[c,r]·F3[d,r], factor columns of
/// unit norm. For a conv weight the modes are (out, in, kh, kw). <see cref="RelativeError"/> is ‖X − X̂‖_F / ‖X‖_F from
/// the explicit reconstruction. <see cref="Degenerate"/> is set (with <see cref="Diagnosis"/>) when ALS ran into
/// diverging, cancelling components or non-finite numbers: callers should not use the factors then (fall back to Tucker-2).
/// </summary>
public sealed record CpResult(
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

    /// <summary>ALS stopped on <see cref="CpOptions.WorkBudget"/> before converging or reaching MaxIterations.</summary>
    public bool BudgetSpent { get; init; }

    public DenseTensor Reconstruct() =>
        CpAls.Reconstruct(Factors.Select(m => m.RowCount).ToArray(), Factors.Select(CpAls.ToRowMajor).ToArray(), Lambda);
}

/// <summary>
/// CP (CANDECOMP/PARAFAC) of a 4-way tensor by alternating least squares, in double precision: HOSVD start, unit-norm
/// factors with weights λ, damped normal equations, stop on a relative-error plateau or after
/// <see cref="CpOptions.MaxIterations"/> or <see cref="CpOptions.WorkBudget"/>, and a degeneracy guard on ‖λ‖ and on
/// cancelling pairs. Each sweep costs three double GEMMs over the tensor (about 3·numel·R multiply-adds, see Sweep) and
/// never stores an out·in×R intermediate.
/// </summary>
public static class CpAls
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
        int maxSweeps = SweepsWithin(opt, x.Dims, rank);
        var ws = new Workspace(x, rank);
        while (it < maxSweeps)
        {
            it++;
            var m3 = Sweep(ws, a, grams, lambda, opt.Damping);

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
        var result = new CpResult(factors, lambda, double.NaN, it, converged, degenerate, diagnosis, ratio, congruence, history)
            { BudgetSpent = !converged && !degenerate && it == maxSweeps && maxSweeps < opt.MaxIterations };
        double exact = !double.IsFinite(ratio) ? double.NaN : ReconstructionError(x, a, lambda);
        return result with { RelativeError = exact };
    }

    /// <summary>The sweeps <paramref name="opt"/> allows: MaxIterations, or fewer when the work budget runs out first (at least one).</summary>
    internal static int SweepsWithin(CpOptions opt, IReadOnlyList<int> dims, int rank)
    {
        if (opt.WorkBudget <= 0) return opt.MaxIterations;
        double perSweep = 3.0 * dims.Aggregate(1.0, (n, v) => n * v) * rank;
        return (int)Math.Clamp(Math.Floor(opt.WorkBudget / perSweep), 1, opt.MaxIterations);
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
    /// Per-decomposition buffers: the tensor in its natural layout X[(o, c), j] (= the mode-0 unfolding [out, in·kh·kw])
    /// and once permuted, XP[(o, j), c] (its transpose is the mode-1 unfolding with columns ordered (o, j)); j = (kh, kw).
    /// </summary>
    internal sealed class Workspace
    {
        public Workspace(DenseTensor x, int rank)
        {
            Dims = x.Dims;
            Rank = rank;
            X = x.Data;
            int d0 = Dims[0], d1 = Dims[1], jn = Dims[2] * Dims[3];
            XP = new double[X.Length];
            for (int o = 0; o < d0; o++)
                for (int c = 0; c < d1; c++)
                {
                    int src = (o * d1 + c) * jn;
                    for (int j = 0; j < jn; j++) XP[(o * jn + j) * d1 + c] = X[src + j];
                }
        }

        public int[] Dims { get; }
        public int Rank { get; }
        public double[] X { get; }
        public double[] XP { get; }
    }

    /// <summary>
    /// One ALS sweep (modes 0, 1, 2, 3 in turn) with three GEMMs of numel·R multiply-adds each:
    /// M₀ = X₍₀₎·(A₁⊙A₂⊙A₃), M₁ = XPᵀ·(A₀⊙A₂⊙A₃), and P = XP·A₁ [(o, j), R] from which S[j, :] = Σ_o P[(o, j), :]∘A₀[o, :]
    /// (X contracted with A₀ and A₁ at once) gives both spatial MTTKRPs. Returns M₃ (for the error by norms).
    /// </summary>
    private static double[] Sweep(Workspace ws, double[][] a, double[][] grams, double[] lambda, double damping)
    {
        int[] d = ws.Dims;
        int r = ws.Rank;
        var k23 = KhatriRao(a[2], d[2], a[3], d[3], r);                  // [kh·kw, R]
        Update(a, grams, d, lambda, 0, ChannelMttkrp(ws, k23, a[1], outMode: true), damping);
        Update(a, grams, d, lambda, 1, ChannelMttkrp(ws, k23, a[0], outMode: false), damping);
        var s = SpatialProjection(ws, a[0], a[1]);                        // [kh·kw, R]
        Update(a, grams, d, lambda, 2, Contract(s, a[3], d[2], d[3], r, keepFirst: true), damping);
        var m3 = Contract(s, a[2], d[2], d[3], r, keepFirst: false);
        Update(a, grams, d, lambda, 3, m3, damping);
        return m3;
    }

    /// <summary>The MTTKRP of <paramref name="mode"/> for the given factors (the paths <see cref="Sweep"/> uses; for tests).</summary>
    internal static double[] Mttkrp(Workspace ws, double[][] a, int mode)
    {
        int[] d = ws.Dims;
        int r = ws.Rank;
        if (mode < 2)
            return ChannelMttkrp(ws, KhatriRao(a[2], d[2], a[3], d[3], r), mode == 0 ? a[1] : a[0], outMode: mode == 0);
        var s = SpatialProjection(ws, a[0], a[1]);
        return mode == 2 ? Contract(s, a[3], d[2], d[3], r, keepFirst: true) : Contract(s, a[2], d[2], d[3], r, keepFirst: false);
    }

    /// <summary>
    /// MTTKRP of a channel mode as one GEMM: outMode → X₍₀₎ [out, in·J] × (F⊙K) [in·J, R] with F = A₁;
    /// else XPᵀ [in, out·J] × (F⊙K) [out·J, R] with F = A₀. K = A₂⊙A₃ [J, R].
    /// </summary>
    private static double[] ChannelMttkrp(Workspace ws, double[] k, double[] f, bool outMode)
    {
        int[] d = ws.Dims;
        int r = ws.Rank, jn = d[2] * d[3];
        int rows = outMode ? d[0] : d[1], inner = outMode ? d[1] : d[0];
        var kr = KhatriRao(f, inner, k, jn, r);                            // [inner·J, R]
        var m = new double[rows * r];
        if (outMode) Dgemm.Multiply(false, false, rows, r, inner * jn, 1, ws.X, inner * jn, kr, r, 0, m, r);
        else Dgemm.Multiply(true, false, rows, r, inner * jn, 1, ws.XP, rows, kr, r, 0, m, r);
        return m;
    }

    /// <summary>S[j, :] = Σ_{o,c} X[o, c, j]·(A0[o, :]∘A1[c, :]) [kh·kw, R], via P = XP·A1 [(o, j), R] (one GEMM).</summary>
    private static double[] SpatialProjection(Workspace ws, double[] a0, double[] a1)
    {
        int[] d = ws.Dims;
        int r = ws.Rank, d0 = d[0], d1 = d[1], jn = d[2] * d[3];
        var p = new double[d0 * jn * r];
        Dgemm.Multiply(false, false, d0 * jn, r, d1, 1, ws.XP, d1, a1, r, 0, p, r);
        var s = new double[jn * r];
        for (int o = 0; o < d0; o++)
            for (int j = 0; j < jn; j++)
                TensorPrimitives.MultiplyAdd(p.AsSpan((o * jn + j) * r, r), a0.AsSpan(o * r, r), s.AsSpan(j * r, r), s.AsSpan(j * r, r));
        return s;
    }

    /// <summary>
    /// From T [n1·n2, R] (rows i·n2 + j): keepFirst → M[i, :] = Σ_j T[i·n2+j, :]∘f[j, :]; else M[j, :] = Σ_i T[i·n2+j, :]∘f[i, :].
    /// </summary>
    private static double[] Contract(double[] t, double[] f, int n1, int n2, int r, bool keepFirst)
    {
        var m = new double[(keepFirst ? n1 : n2) * r];
        for (int i = 0; i < n1; i++)
            for (int j = 0; j < n2; j++)
            {
                var dst = m.AsSpan((keepFirst ? i : j) * r, r);
                TensorPrimitives.MultiplyAdd(t.AsSpan((i * n2 + j) * r, r), f.AsSpan((keepFirst ? j : i) * r, r), dst, dst);
            }
        return m;
    }

    /// <summary>AᵀA of a row-major [n, R] factor, as a row-major [R, R] array.</summary>
    private static double[] Gram(double[] f, int n, int r)
    {
        var g = new double[r * r];
        Dgemm.Multiply(true, false, r, r, n, 1, f, r, f, r, 0, g, r);
        for (int p = 0; p < r; p++)                                         // exactly symmetric
            for (int q = p + 1; q < r; q++) g[q * r + p] = g[p * r + q];
        return g;
    }

    /// <summary>‖X − X̂‖_F / ‖X‖_F from the explicit reconstruction.</summary>
    internal static double ReconstructionError(DenseTensor x, double[][] a, double[] lambda) =>
        x.RelativeErrorTo(Reconstruct(x.Dims, a, lambda));

    /// <summary>
    /// X̂ = Σ_r λ_r a0∘a1∘a2∘a3 from row-major [d_m, R] factors, a block of output channels at a time by GEMM:
    /// (λ·A0 ⊙ A1) [bo·in, R] × (A2 ⊙ A3)ᵀ [R, J] written straight into X̂'s rows (o, c).
    /// </summary>
    internal static DenseTensor Reconstruct(int[] d, double[][] a, double[] lambda)
    {
        int r = lambda.Length, d0 = d[0], d1 = d[1], jn = d[2] * d[3];
        var t = new DenseTensor(d);
        var k23 = KhatriRao(a[2], d[2], a[3], d[3], r);
        int block = Math.Max(1, Math.Min(d0, (1 << 19) / Math.Max(1, d1 * r)));
        var left = new double[block * d1 * r];
        var scaled = new double[r];
        for (int o0 = 0; o0 < d0; o0 += block)
        {
            int bo = Math.Min(block, d0 - o0);
            for (int o = 0; o < bo; o++)
            {
                TensorPrimitives.Multiply(a[0].AsSpan((o0 + o) * r, r), lambda, scaled);
                for (int c = 0; c < d1; c++)
                    TensorPrimitives.Multiply(scaled, a[1].AsSpan(c * r, r), left.AsSpan((o * d1 + c) * r, r));
            }
            Dgemm.Multiply(false, true, bo * d1, jn, r, 1, left, r, k23, r, 0, t.Data.AsSpan(o0 * d1 * jn, bo * d1 * jn), jn);
        }
        return t;
    }

    internal static double[] ToRowMajor(Matrix<double> m)
    {
        int n = m.RowCount, r = m.ColumnCount;
        var f = new double[n * r];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < r; c++) f[i * r + c] = m[i, c];
        return f;
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
        var lhs = new double[r * r];
        for (int p = 0; p < r; p++)
            for (int q = 0; q < r; q++) lhs[p * r + q] = v[p * r + q] + (p == q ? mu : 0);
        // rhs [n, R] = M + μ·A·diag(λ); the solution A' of A'·lhs = rhs (lhs symmetric).
        var rhs = new double[n * r];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < r; c++) rhs[i * r + c] = mttkrp[i * r + c] + mu * f[i * r + c] * lambda[c];
        var sol = new double[n * r];
        var l = Cholesky(lhs, r);
        if (l is not null && n < r) SolveRows(l, r, rhs, sol, n);   // few rows (spatial modes): substitution
        else if (l is not null) Dgemm.Multiply(false, false, n, r, r, 1, rhs, r, InverseFromCholesky(l, r), r, 0, sol, r);
        else
        {
            // not positive definite numerically: least squares instead
            var lhsM = Matrix<double>.Build.Dense(r, r, (p, q) => lhs[p * r + q]);
            var rhsT = Matrix<double>.Build.Dense(r, n, (c, i) => rhs[i * r + c]);
            var solT = lhsM.Svd(true).Solve(rhsT);
            for (int i = 0; i < n; i++)
                for (int c = 0; c < r; c++) sol[i * r + c] = solT[c, i];
        }
        for (int c = 0; c < r; c++)
        {
            double norm = 0;
            for (int i = 0; i < n; i++) norm += sol[i * r + c] * sol[i * r + c];
            norm = Math.Sqrt(norm);
            lambda[c] = norm;
            if (norm == 0) continue; // keep the previous unit column for a vanished component
            double scale = double.IsFinite(norm) ? 1 / norm : 1;
            for (int i = 0; i < n; i++) f[i * r + c] = sol[i * r + c] * scale;
        }
        grams[mode] = Gram(f, n, r);
    }

    /// <summary>
    /// (L·Lᵀ)⁻¹ of a symmetric [R, R] matrix by Cholesky (L lower), as L⁻ᵀ·L⁻¹; null when a pivot is ≤ 0 (not positive
    /// definite numerically), where the caller falls back to a least-squares solve.
    /// </summary>
    internal static double[]? CholeskyInverse(double[] s, int r) => Cholesky(s, r) is { } l ? InverseFromCholesky(l, r) : null;

    /// <summary>x·(L·Lᵀ) = b for each of the <paramref name="n"/> rows b of <paramref name="rhs"/> (forward then back substitution).</summary>
    internal static void SolveRows(double[] l, int r, double[] rhs, double[] sol, int n)
    {
        var u = new double[r * r];                                          // Lᵀ, so that the back substitution reads rows
        for (int i = 0; i < r; i++)
            for (int k = 0; k <= i; k++) u[k * r + i] = l[i * r + k];
        var z = new double[r];
        for (int row = 0; row < n; row++)
        {
            var b = rhs.AsSpan(row * r, r);
            var x = sol.AsSpan(row * r, r);
            for (int i = 0; i < r; i++) z[i] = (b[i] - TensorPrimitives.Dot(l.AsSpan(i * r, i), z.AsSpan(0, i))) / l[i * r + i];
            for (int i = r - 1; i >= 0; i--)
                x[i] = (z[i] - TensorPrimitives.Dot(u.AsSpan(i * r + i + 1, r - i - 1), x[(i + 1)..])) / l[i * r + i];
        }
    }

    /// <summary>The lower Cholesky factor of a symmetric [R, R] matrix; null when a pivot is ≤ 0.</summary>
    private static double[]? Cholesky(double[] s, int r)
    {
        var l = new double[r * r];
        for (int j = 0; j < r; j++)
        {
            var lj = l.AsSpan(j * r, j);
            double dj = s[j * r + j] - TensorPrimitives.Dot(lj, lj);
            if (dj <= 0) return null;
            dj = Math.Sqrt(dj);
            l[j * r + j] = dj;
            for (int i = j + 1; i < r; i++)
                l[i * r + j] = (s[i * r + j] - TensorPrimitives.Dot(l.AsSpan(i * r, j), lj)) / dj;
        }
        return l;
    }

    /// <summary>(L·Lᵀ)⁻¹ = L⁻ᵀ·L⁻¹ from the Cholesky factor.</summary>
    private static double[] InverseFromCholesky(double[] l, int r)
    {
        // L⁻¹ row by row: row i = (e_i − Σ_{k<i} L[i,k]·row k) / L[i,i] (rows are zero past the diagonal).
        var li = new double[r * r];
        for (int i = 0; i < r; i++)
        {
            var row = li.AsSpan(i * r, i + 1);
            row[i] = 1;
            for (int k = 0; k < i; k++)
            {
                double c = l[i * r + k];
                if (c != 0) TensorPrimitives.MultiplyAdd(li.AsSpan(k * r, k + 1), -c, row[..(k + 1)], row[..(k + 1)]);
            }
            TensorPrimitives.Multiply(row, 1 / l[i * r + i], row);
        }
        var inv = new double[r * r];
        Dgemm.Multiply(true, false, r, r, r, 1, li, r, li, r, 0, inv, r);
        for (int p = 0; p < r; p++)
            for (int q = p + 1; q < r; q++) inv[q * r + p] = inv[p * r + q];
        return inv;
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

using MathNet.Numerics.LinearAlgebra;
using Shrink.Tensors;

namespace Shrink.Compression.LowRank;

/// <summary>
/// Tucker-2 of a conv weight W[out, in, kh, kw] over its channel modes: W ≈ Core ×₀ UOut ×₁ UIn, i.e.
/// W[o, c, i, j] ≈ Σ_{s,t} UOut[o, s]·Core[s, t, i, j]·UIn[c, t]. <see cref="UIn"/> [in, R1] and <see cref="UOut"/>
/// [out, R2] have orthonormal columns; <see cref="Core"/> is [R2, R1, kh, kw]. <see cref="RelativeError"/> is
/// ‖W − Ŵ‖_F / ‖W‖_F, computed from the reconstruction.
/// </summary>
public sealed record Tucker2Result(Matrix<double> UIn, DenseTensor Core, Matrix<double> UOut, double RelativeError, int Sweeps)
{
    public int RankIn => UIn.ColumnCount;
    public int RankOut => UOut.ColumnCount;

    /// <summary>Core ×₀ UOut ×₁ UIn: the approximated weight.</summary>
    public DenseTensor Reconstruct() => Core.ModeProduct(0, UOut).ModeProduct(1, UIn);
}

/// <summary>Tucker-2 by HOSVD initialisation and HOOI (higher-order orthogonal iteration) sweeps, in double precision.</summary>
public static class Tucker2
{
    /// <summary>
    /// Decomposes <paramref name="weight"/> [out, in, kh, kw] with ranks R2 = <paramref name="rankOut"/> (≤ out) and
    /// R1 = <paramref name="rankIn"/> (≤ in). HOSVD gives the start; up to <paramref name="sweeps"/> HOOI sweeps refine
    /// it, stopping early when the error changes by less than <see cref="PlateauTolerance"/> (relative). At full ranks the result is exact.
    /// </summary>
    public static Tucker2Result Decompose(DenseTensor weight, int rankOut, int rankIn, int sweeps = 5)
    {
        if (weight.Order != 4) throw new ArgumentException($"Tucker-2 needs a 4-way conv weight, got dims [{string.Join(",", weight.Dims)}].", nameof(weight));
        int outC = weight.Dims[0], inC = weight.Dims[1];
        if (rankOut < 1 || rankOut > outC) throw new ArgumentOutOfRangeException(nameof(rankOut), rankOut, $"Output rank must be in [1, {outC}].");
        if (rankIn < 1 || rankIn > inC) throw new ArgumentOutOfRangeException(nameof(rankIn), rankIn, $"Input rank must be in [1, {inC}].");
        if (sweeps < 0) throw new ArgumentOutOfRangeException(nameof(sweeps), sweeps, "Sweeps must be ≥ 0.");

        // HOSVD: leading left singular vectors of the mode-0 and mode-1 unfoldings.
        var uOut = weight.LeadingModeVectors(0, rankOut).Vectors;
        var uIn = weight.LeadingModeVectors(1, rankIn).Vectors;
        var core = Project(weight, uOut, uIn);
        double err = weight.RelativeErrorTo(core.ModeProduct(0, uOut).ModeProduct(1, uIn));
        int done = 0;
        bool full = rankOut == outC && rankIn == inC;
        for (int s = 0; s < sweeps && !full && err > 1e-12; s++)
        {
            // HOOI: each factor = leading subspace of W projected on the other factor.
            uOut = weight.ModeProduct(1, uIn.Transpose()).LeadingModeVectors(0, rankOut).Vectors;
            uIn = weight.ModeProduct(0, uOut.Transpose()).LeadingModeVectors(1, rankIn).Vectors;
            core = Project(weight, uOut, uIn);
            double next = weight.RelativeErrorTo(core.ModeProduct(0, uOut).ModeProduct(1, uIn));
            done++;
            bool plateau = Math.Abs(err - next) <= PlateauTolerance * Math.Max(err, 1e-300);
            err = next;
            if (plateau) break;
        }
        return new Tucker2Result(uIn, core, uOut, err, done);
    }

    /// <summary>HOOI stops once a sweep changes the relative error by less than this fraction of itself.</summary>
    public const double PlateauTolerance = 1e-4;

    /// <summary>Tucker-2 of a float conv weight.</summary>
    public static Tucker2Result Decompose(Tensor weight, int rankOut, int rankIn, int sweeps = 5) =>
        Decompose(DenseTensor.FromTensor(weight), rankOut, rankIn, sweeps);

    /// <summary>Singular values of the mode-0 (out) and mode-1 (in) unfoldings: the inputs of energy rank estimates.</summary>
    public static (double[] Out, double[] In) ModeSpectra(DenseTensor weight) =>
        (weight.LeadingModeVectors(0, 1).SingularValues, weight.LeadingModeVectors(1, 1).SingularValues);

    private static DenseTensor Project(DenseTensor w, Matrix<double> uOut, Matrix<double> uIn) =>
        w.ModeProduct(0, uOut.Transpose()).ModeProduct(1, uIn.Transpose());
}

using Shrink.Graph;

namespace Shrink.Data;

/// <summary>
/// The splits of a loaded data set: <see cref="Train"/> and <see cref="Test"/> as published, and once
/// <see cref="WithValidation"/> has carved it, a <see cref="Validation"/> split taken out of the training data
/// (search decisions use it; the test split is only for the final report).
/// </summary>
public sealed record DataSplits(Dataset Train, Dataset Test)
{
    /// <summary>Carved from the original training split by <see cref="WithValidation"/>; disjoint from <see cref="Train"/>.</summary>
    public Dataset? Validation { get; init; }

    /// <summary>The data set's canonical name ("fashion-mnist", "cifar10", or the folder name for other paths).</summary>
    public string Name { get; init; } = Train.Name;

    /// <summary>The folder the files were read from.</summary>
    public string Source { get; init; } = "";

    /// <summary>The detected file format: "idx", "cifar10-binary", "cifar100-binary" or "npy".</summary>
    public string Format { get; init; } = "";

    public int ClassCount => Train.ClassCount;

    /// <summary>
    /// These splits with <paramref name="fraction"/> of the training data (seeded, optionally stratified by class)
    /// moved into <see cref="Validation"/>.
    /// </summary>
    public DataSplits WithValidation(double fraction = 0.1, int seed = 0, bool stratified = false)
    {
        if (Validation is not null) throw new InvalidOperationException($"Data set '{Name}' already has a validation split.");
        var (train, validation) = Train.SplitValidation(fraction, seed, stratified);
        return this with { Train = train.WithName($"{Name}/train"), Validation = validation.WithName($"{Name}/validation") };
    }

    /// <summary>Per-channel statistics of the training split (after any validation split was carved out).</summary>
    public Normalization ComputeNormalization() => Normalization.Compute(Train);

    /// <summary>Checks that train, validation and test agree on image size and class count.</summary>
    internal void CheckConsistent()
    {
        foreach (var d in Validation is null ? [Test] : new[] { Test, Validation })
        {
            if (d.ImageShape != Train.ImageShape)
                throw new ShrinkException($"Data set '{Name}': {d.Name} images are {d.ImageShape} but {Train.Name} images are {Train.ImageShape}.");
            if (d.ClassCount != Train.ClassCount)
                throw new ShrinkException($"Data set '{Name}': {d.Name} has {d.ClassCount} classes but {Train.Name} has {Train.ClassCount}.");
        }
    }
}

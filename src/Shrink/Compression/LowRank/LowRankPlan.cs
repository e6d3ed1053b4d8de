namespace Shrink.Compression.LowRank;

/// <summary>How a layer is factorised.</summary>
public enum LowRankMethod
{
    /// <summary>Dense [out, in] → three Gemms (in×r, r×r, r×out); a 1x1 conv → two 1x1 convs.</summary>
    Svd,

    /// <summary>Conv → 1x1 in→R1, kh×kw R1→R2 (original stride/pad/dilation), 1x1 R2→out.</summary>
    Tucker2,

    /// <summary>Conv → 1x1 in→R, depthwise kh×1, depthwise 1×kw, 1x1 R→out.</summary>
    Cp,
}

/// <summary>
/// The factorisation of one layer: <see cref="Rank"/> is the CP rank, the SVD rank, or Tucker-2's output-side rank R2;
/// <see cref="RankIn"/> is Tucker-2's input-side rank R1 (0 for the other methods).
/// </summary>
public sealed record LayerRank(LowRankMethod Method, int Rank, int RankIn = 0)
{
    public static LayerRank Cp(int rank) => new(LowRankMethod.Cp, rank);
    public static LayerRank Svd(int rank) => new(LowRankMethod.Svd, rank);
    public static LayerRank Tucker2(int rankOut, int rankIn) => new(LowRankMethod.Tucker2, rankOut, rankIn);

    public override string ToString() => Method == LowRankMethod.Tucker2 ? $"Tucker2({Rank},{RankIn})" : $"{Method}({Rank})";
}

/// <summary>Per-layer parameters of the low-rank passes: node name → method and rank(s). Nodes not listed are left alone.</summary>
public sealed class LowRankPlan
{
    private readonly Dictionary<string, LayerRank> _layers = new(StringComparer.Ordinal);

    public LowRankPlan() { }

    public LowRankPlan(IEnumerable<KeyValuePair<string, LayerRank>> layers)
    {
        foreach (var (k, v) in layers) Set(k, v);
    }

    public IReadOnlyDictionary<string, LayerRank> Layers => _layers;

    public int Count => _layers.Count;

    /// <summary>Sets (or replaces) the entry of <paramref name="node"/>; ranks must be ≥ 1 (Tucker-2: both).</summary>
    public LowRankPlan Set(string node, LayerRank rank)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        if (rank.Rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank.Rank, $"Rank for '{node}' must be ≥ 1.");
        if (rank.Method == LowRankMethod.Tucker2 && rank.RankIn < 1)
            throw new ArgumentOutOfRangeException(nameof(rank), rank.RankIn, $"Tucker-2 input rank for '{node}' must be ≥ 1.");
        _layers[node] = rank;
        return this;
    }

    public bool TryGet(string node, out LayerRank rank) => _layers.TryGetValue(node, out rank!);

    public LowRankPlan Clone() => new(_layers);

    public override string ToString() => string.Join(", ", _layers.Select(kv => $"{kv.Key}: {kv.Value}"));
}

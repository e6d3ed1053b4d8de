using System.Text.Json;
using System.Text.Json.Serialization;
using Shrink.IO;

namespace Shrink.Conductor;

/// <summary>One state the search looked at: its ranks, the predicted drop, and — when it was fine-tuned and measured — its accuracy.</summary>
public sealed record StateRecord
{
    public string Stage { get; init; } = "";
    public int Step { get; init; }
    public Dictionary<string, int> Ranks { get; init; } = [];
    /// <summary>Key of the state this one was reached from (Stage 2), whose weights it was fine-tuned from.</summary>
    public string From { get; init; } = "";
    /// <summary>Σ of the layers' sensitivity drops at these ranks (points, no training).</summary>
    public double SensitivitySum { get; init; }
    public double PredictedDrop { get; init; }
    /// <summary>Cost relative to the original under the objective (1 = original).</summary>
    public double CostRatio { get; init; }
    public bool Measured { get; init; }
    /// <summary>Measured size (MB) and MACs per sample of the state's model (0 when not measured).</summary>
    public double SizeMb { get; init; }
    public long Macs { get; init; }
    public double Accuracy { get; init; }
    public double Drop { get; init; }
    /// <summary>Points held back from the allowed drop for this measurement (<see cref="Constraints.SafetyMargin"/> × its paired standard error).</summary>
    public double Margin { get; init; }
    public bool Accepted { get; init; }
    public string Note { get; init; } = "";

    public static string Key(IReadOnlyDictionary<string, int> ranks) =>
        string.Join(",", ranks.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
}

/// <summary>
/// Everything a run needs to continue after an interruption, written (atomically) to state.json in the run directory
/// after every stage step: the stage and the next step, the composed list with its sensitivity curves, the current and
/// best ranks with the model files holding their weights, the history of every state looked at, and the times spent.
/// Random draws are functions of (seed, stage, step), so the step number is the whole RNG state.
/// </summary>
public sealed class RunState
{
    public const string FileName = "state.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>2 since the safety margin; a version-1 run (checkpointed without one) resumes with a margin of 0.</summary>
    public int Version { get; set; } = CurrentVersion;
    public const int CurrentVersion = 2;
    public string Model { get; set; } = "";
    public string Dataset { get; set; } = "";
    /// <summary>The folder the data set was read from (resume reloads it from there when no data set is given).</summary>
    public string DatasetSource { get; set; } = "";
    public Constraints Constraints { get; set; } = new();
    /// <summary>"stage1", "stage2", "final", "squeeze" or "done".</summary>
    public string Stage { get; set; } = "stage1";
    public int Step { get; set; }
    public List<LayerChoice> Layers { get; set; } = [];
    public ModelMetrics? Original { get; set; }
    /// <summary>Which validation images the original classifies right (<see cref="PackVerdicts"/>); null with a custom metric.</summary>
    public string? OriginalVerdicts { get; set; }
    public ModelMetrics? Stage1 { get; set; }
    public ModelMetrics? Stage2 { get; set; }
    public bool Stage1Met { get; set; }
    public Dictionary<string, int> Ranks { get; set; } = [];
    public double CurrentAccuracy { get; set; }
    public double CurrentEnergy { get; set; }
    public string? CurrentModel { get; set; }
    public StateRecord? Best { get; set; }
    public string? BestModel { get; set; }
    public List<StateRecord> History { get; set; } = [];
    /// <summary>The safety margin (points) of the result's validation drop.</summary>
    public double ResultMargin { get; set; }
    /// <summary>Points the final fine-tune added to the best state's accuracy as measured during the search (the squeeze's yardstick).</summary>
    public double FinalGain { get; set; }
    public Dictionary<string, double> StageSeconds { get; set; } = [];
    public int FileCounter { get; set; }
    /// <summary>The ranks Stage 1 ended with (the report shows them beside the final ones).</summary>
    public Dictionary<string, int>? Stage1Ranks { get; set; }
    /// <summary>Fine-tuning steps run and the seconds they took (the pace that fits the final fine-tune into a time budget).</summary>
    public int FineTuneSteps { get; set; }
    public double FineTuneSeconds { get; set; }
    /// <summary>What the run had to cut short or skip (time budget), for the report.</summary>
    public List<string> Notes { get; set; } = [];

    /// <summary>Per-image verdicts as base64 of their bits (little-endian within each byte).</summary>
    public static string PackVerdicts(ReadOnlySpan<bool> verdicts)
    {
        var bytes = new byte[(verdicts.Length + 7) / 8];
        for (int i = 0; i < verdicts.Length; i++)
            if (verdicts[i]) bytes[i >> 3] |= (byte)(1 << (i & 7));
        return Convert.ToBase64String(bytes);
    }

    public static bool[] UnpackVerdicts(string packed, int count)
    {
        var bytes = Convert.FromBase64String(packed);
        if (bytes.Length != (count + 7) / 8)
            throw new Graph.ShrinkException($"The run state holds verdicts for {bytes.Length * 8} images, not the {count} validation images of the run; it cannot continue.");
        var verdicts = new bool[count];
        for (int i = 0; i < count; i++) verdicts[i] = (bytes[i >> 3] >> (i & 7) & 1) != 0;
        return verdicts;
    }

    public int Measurements(string stage) => History.Count(h => h.Stage == stage && h.Measured);

    public double TotalSeconds => StageSeconds.Values.Sum();

    public void Save(string directory)
    {
        string path = Path.Combine(directory, FileName);
        AtomicFile.WriteText(path, JsonSerializer.Serialize(this, Json));
    }

    public static RunState Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new Graph.ShrinkException($"'{directory}' holds no run to resume ({FileName} not found); start one with --out {directory}.");
        try
        {
            var state = JsonSerializer.Deserialize<RunState>(File.ReadAllText(path), Json)
                ?? throw new Graph.ShrinkException($"'{path}' is empty.");
            if (state.Version < 2) state.Constraints = state.Constraints with { SafetyMargin = 0 };
            return state;
        }
        catch (JsonException e)
        {
            throw new Graph.ShrinkException($"'{path}' is not a readable run state ({e.Message}).", e);
        }
    }
}

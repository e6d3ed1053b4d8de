using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Execution.Optimizers;

/// <summary>What an optimizer remembers about one parameter: its own step count and named buffers (moments).</summary>
public sealed class ParameterState
{
    /// <summary>Updates applied to this parameter (it is skipped on steps where it is frozen or has no gradient).</summary>
    public int Step { get; set; }

    /// <summary>Named buffers, same shape as the parameter ("momentum_buffer", "exp_avg", "exp_avg_sq": PyTorch's names).</summary>
    public Dictionary<string, Tensor> Buffers { get; } = new(StringComparer.Ordinal);

    public ParameterState Clone()
    {
        var c = new ParameterState { Step = Step };
        foreach (var (k, v) in Buffers) c.Buffers[k] = v.Clone();
        return c;
    }
}

/// <summary>
/// A snapshot of an optimizer's state for checkpoint and resume, keyed by parameter name. Made by
/// <see cref="Optimizer.Save"/> (deep copies: later steps do not change it) and read back by <see cref="Optimizer.Load"/>.
/// <see cref="ToTensors"/>/<see cref="FromTensors"/> flatten it to name → tensor for storage in an .npz or similar.
/// </summary>
public sealed class OptimizerState
{
    /// <summary>Separator between parameter and buffer name in the flat form (buffer names never contain it).</summary>
    public const string Separator = "::";

    /// <summary>Flat key of the optimizer's global step count.</summary>
    public const string StepCountKey = Separator + "step_count";

    public OptimizerState(string optimizer, int stepCount)
    {
        ArgumentException.ThrowIfNullOrEmpty(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        Optimizer = optimizer;
        StepCount = stepCount;
    }

    /// <summary>Which optimizer wrote it ("Sgd", "AdamW"); loading into another kind is an error.</summary>
    public string Optimizer { get; }

    /// <summary>Calls to <see cref="Optimizers.Optimizer.Step"/> made before the snapshot.</summary>
    public int StepCount { get; }

    public Dictionary<string, ParameterState> Parameters { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Flat form: "param::buffer" → buffer, "param::step" → scalar step count, "::step_count" → the global count.
    /// Counts are stored as float32 (exact up to 2^24 steps). The tensors are the state's own, not copies.
    /// </summary>
    public Dictionary<string, Tensor> ToTensors()
    {
        var flat = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [StepCountKey] = Tensor.Scalar(StepCount) };
        foreach (var (name, p) in Parameters)
        {
            flat[name + Separator + "step"] = Tensor.Scalar(p.Step);
            foreach (var (b, t) in p.Buffers) flat[name + Separator + b] = t;
        }
        return flat;
    }

    /// <summary>
    /// Rebuilds a state from <see cref="ToTensors"/>' form. A missing, non-scalar or non-integer count, a buffer
    /// without its parameter's step, or a step beyond the global count is a <see cref="ShrinkException"/> naming the
    /// entry (and <paramref name="source"/>, the file it came from, when given).
    /// </summary>
    public static OptimizerState FromTensors(string optimizer, IReadOnlyDictionary<string, Tensor> flat, string? source = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(optimizer);
        ArgumentNullException.ThrowIfNull(flat);
        string what = source is null ? $"{optimizer} optimizer state" : $"{optimizer} optimizer state '{source}'";
        if (!flat.TryGetValue(StepCountKey, out var count))
            throw new ShrinkException($"{what} has no '{StepCountKey}' entry: not a saved optimizer state.");
        var state = new OptimizerState(optimizer, Count(count, StepCountKey, what));
        var stepped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, t) in flat)
        {
            if (key == StepCountKey) continue;
            int cut = key.LastIndexOf(Separator, StringComparison.Ordinal);
            if (cut <= 0 || cut + Separator.Length == key.Length)
                throw new ShrinkException($"{what}: entry '{key}' is not of the form 'parameter{Separator}buffer'.");
            string param = key[..cut], buffer = key[(cut + Separator.Length)..];
            if (!state.Parameters.TryGetValue(param, out var ps)) state.Parameters[param] = ps = new ParameterState();
            if (buffer == "step")
            {
                ps.Step = Count(t, key, what);
                if (ps.Step > state.StepCount)
                    throw new ShrinkException($"{what}: entry '{key}' counts {ps.Step} updates, more than the optimizer's {state.StepCount} steps ('{StepCountKey}').");
                stepped.Add(param);
            }
            else ps.Buffers[buffer] = t.Clone();
        }
        foreach (var (param, ps) in state.Parameters)
            if (!stepped.Contains(param))
                throw new ShrinkException($"{what}: parameter '{param}' has buffers ({string.Join(", ", ps.Buffers.Keys)}) but no '{param}{Separator}step' entry.");
        return state;
    }

    /// <summary>A stored count: one element holding a whole number that fits an int (float32: exact up to 2^24).</summary>
    private static int Count(Tensor t, string key, string what)
    {
        if (t.Length != 1)
            throw new ShrinkException($"{what}: entry '{key}' has shape {t.Shape}; a step count is a single number.");
        float v = t[0];
        if (!float.IsFinite(v) || v < 0 || v >= 2147483648f || v != MathF.Floor(v))
            throw new ShrinkException($"{what}: entry '{key}' is {v.ToString(System.Globalization.CultureInfo.InvariantCulture)}, not a step count (a whole number ≥ 0).");
        return (int)v;
    }
}

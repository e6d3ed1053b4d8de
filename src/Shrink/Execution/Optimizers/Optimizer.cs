using Shrink.Graph;
using Shrink.Tensors;

namespace Shrink.Execution.Optimizers;

/// <summary>
/// Updates a fixed set of parameters from their gradients. <see cref="Step"/> touches only parameters that are
/// <see cref="Parameter.Trainable"/> at that moment and have a gradient; the learning rate comes from the caller
/// (the trainer asks its <see cref="Schedules.LrSchedule"/>). Per-parameter state (moments) is created on a
/// parameter's first update and can be saved and restored by name. After the first step no step allocates.
/// </summary>
public abstract class Optimizer
{
    private readonly Parameter[] _parameters;
    private readonly Dictionary<Parameter, ParameterState> _state = new(ReferenceEqualityComparer.Instance);
    private float[] _scratch = [];

    protected Optimizer(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = new List<Parameter>();
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        var names = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        foreach (var p in parameters)
        {
            if (p is null) throw new ArgumentException("The parameter list contains null.", nameof(parameters));
            if (!seen.Add(p)) continue; // a shared parameter listed twice is updated once
            if (names.ContainsKey(p.Name))
                throw new ArgumentException($"Two different parameters are named '{p.Name}'; optimizer state is keyed by name.", nameof(parameters));
            names[p.Name] = p;
            list.Add(p);
        }
        _parameters = [.. list];
    }

    /// <summary>The optimizer's kind, as written into <see cref="OptimizerState.Optimizer"/>.</summary>
    public abstract string Name { get; }

    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Calls to <see cref="Step"/> so far (restored by <see cref="Load"/>).</summary>
    public int StepCount { get; private set; }

    /// <summary>Applies one update with learning rate <paramref name="lr"/> (finite, ≥ 0).</summary>
    public void Step(float lr)
    {
        if (!float.IsFinite(lr) || lr < 0)
            throw new ArgumentOutOfRangeException(nameof(lr), lr, "The learning rate must be finite and non-negative.");
        foreach (var p in _parameters)
        {
            if (!p.Trainable || p.Grad is not { } grad) continue;
            if (grad.Shape != p.Data.Shape)
                throw new ShapeMismatchException($"{Name}: gradient of parameter '{p.Name}' has shape {grad.Shape}, the parameter has {p.Data.Shape}.");
            if (!_state.TryGetValue(p, out var state)) _state[p] = state = new ParameterState();
            foreach (var (b, t) in state.Buffers)
                if (t.Shape != p.Data.Shape)
                    throw new ShrinkException($"{Name}: state '{b}' of parameter '{p.Name}' has shape {t.Shape} but the parameter now has {p.Data.Shape}; make a new optimizer after changing the model.");
            state.Step++;
            Update(p, grad, state, lr);
        }
        StepCount++;
    }

    /// <summary>One parameter's update; <paramref name="state"/>.Step already counts this step.</summary>
    protected abstract void Update(Parameter parameter, Tensor grad, ParameterState state, float lr);

    /// <summary>Clears the gradient of every parameter (frozen ones included).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.ZeroGrad();
    }

    /// <summary>A deep copy of the state of every parameter updated so far.</summary>
    public OptimizerState Save()
    {
        var s = new OptimizerState(Name, StepCount);
        foreach (var p in _parameters)
            if (_state.TryGetValue(p, out var ps)) s.Parameters[p.Name] = ps.Clone();
        return s;
    }

    /// <summary>
    /// Replaces the whole state by (a copy of) <paramref name="state"/>. Parameters it does not mention start fresh.
    /// Throws when it was written by another optimizer kind, names an unknown parameter or has a wrong shape.
    /// </summary>
    public void Load(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Optimizer != Name)
            throw new ShrinkException($"Cannot load {state.Optimizer} optimizer state into a {Name} optimizer.");
        var byName = _parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var loaded = new Dictionary<Parameter, ParameterState>(ReferenceEqualityComparer.Instance);
        foreach (var (name, ps) in state.Parameters)
        {
            if (!byName.TryGetValue(name, out var p))
                throw new ShrinkException($"{Name} state has an entry for parameter '{name}', which this optimizer does not hold.");
            foreach (var (b, t) in ps.Buffers)
            {
                if (!IsKnownBuffer(b))
                    throw new ShrinkException($"{Name} state of parameter '{name}' has an unknown buffer '{b}'.");
                if (t.Shape != p.Data.Shape)
                    throw new ShapeMismatchException($"{Name} state '{b}' of parameter '{name}' has shape {t.Shape}, the parameter has {p.Data.Shape}.");
            }
            if (ps.Step < 0 || ps.Step > state.StepCount || (ps.Step == 0 && ps.Buffers.Count > 0))
                throw new ShrinkException($"{Name} state of parameter '{name}' has step {ps.Step}, which does not fit its " +
                    $"{(ps.Buffers.Count > 0 ? "buffers" : "state")} and the optimizer's {state.StepCount} steps.");
            loaded[p] = ps.Clone();
        }
        _state.Clear();
        foreach (var (p, ps) in loaded) _state[p] = ps;
        StepCount = state.StepCount;
    }

    /// <summary>Buffer names this optimizer keeps (checked on load).</summary>
    protected abstract bool IsKnownBuffer(string name);

    /// <summary>The named buffer of a parameter's state, created zero-filled on first use (<paramref name="created"/>).</summary>
    protected static Tensor Buffer(ParameterState state, string name, Shape shape, out bool created)
    {
        created = !state.Buffers.TryGetValue(name, out var t);
        if (created) state.Buffers[name] = t = new Tensor(shape);
        return t!;
    }

    /// <summary>Shared scratch space of at least <paramref name="length"/> floats; grows once, then is reused.</summary>
    protected Span<float> Scratch(int length)
    {
        if (_scratch.Length < length) _scratch = new float[length];
        return _scratch.AsSpan(0, length);
    }
}

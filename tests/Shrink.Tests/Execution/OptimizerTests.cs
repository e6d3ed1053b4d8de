using Shrink.Execution.Optimizers;
using Shrink.Graph;
using Shrink.Tensors;
using Shrink.Tests.Ops;

namespace Shrink.Tests.Execution;

public class OptimizerTests
{
    public static TheoryData<string> Kinds => new() { "sgd", "sgd-momentum", "sgd-nesterov-wd", "adamw" };

    private static Optimizer Make(string kind, IEnumerable<Parameter> ps) => kind switch
    {
        "sgd" => new Sgd(ps),
        "sgd-momentum" => new Sgd(ps, momentum: 0.9),
        "sgd-nesterov-wd" => new Sgd(ps, momentum: 0.9, weightDecay: 0.01, nesterov: true),
        "adamw" => new AdamW(ps),
        _ => throw new ArgumentException(kind),
    };

    private static Parameter Param(string name, int seed, params int[] dims)
    {
        var p = new Parameter(name, GradientCheck.Random(new Shape(dims), seed));
        return p;
    }

    private static void SetGrad(Parameter p, int seed)
    {
        var g = p.EnsureGrad();
        g.CopyFrom(GradientCheck.Random(p.Shape, seed));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Frozen_parameters_and_parameters_without_gradient_are_untouched(string kind)
    {
        var live = Param("live", 1, 3, 4);
        var frozen = Param("frozen", 2, 4);
        var noGrad = Param("nograd", 3, 2);
        frozen.Trainable = false;
        SetGrad(live, 10);
        SetGrad(frozen, 11);
        var frozenBefore = frozen.Data.Clone();
        var noGradBefore = noGrad.Data.Clone();
        var liveBefore = live.Data.Clone();
        var opt = Make(kind, [live, frozen, noGrad]);
        opt.Step(0.1f);
        opt.Step(0.1f);
        Assert.Equal(0f, frozen.Data.MaxAbsDiff(frozenBefore));
        Assert.Equal(0f, noGrad.Data.MaxAbsDiff(noGradBefore));
        Assert.True(live.Data.MaxAbsDiff(liveBefore) > 1e-3f);
        Assert.Equal(2, opt.StepCount);
        // Nothing recorded for parameters that were never updated.
        Assert.Equal(["live"], opt.Save().Parameters.Keys);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ZeroGrad_clears_every_gradient(string kind)
    {
        var a = Param("a", 1, 3);
        var b = Param("b", 2, 2, 2);
        b.Trainable = false;
        SetGrad(a, 3);
        SetGrad(b, 4);
        var opt = Make(kind, [a, b]);
        opt.ZeroGrad();
        Assert.All(a.Grad!.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(b.Grad!.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Plain_sgd_by_hand()
    {
        var p = new Parameter("p", Tensor.FromArray(new Shape(2), 1f, -2f));
        p.EnsureGrad().CopyFrom(Tensor.FromArray(new Shape(2), 0.5f, 4f));
        new Sgd([p]).Step(0.25f);
        Assert.Equal([0.875f, -3f], p.Data.ToArray());
        Assert.Equal([0.5f, 4f], p.Grad!.ToArray()); // the gradient is not modified
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Save_and_Load_resume_exactly(string kind)
    {
        Parameter[] Fresh() => [Param("w", 1, 3, 5), Param("b", 2, 5)];
        void Run(Optimizer opt, Parameter[] ps, int from, int to)
        {
            for (int k = from; k < to; k++)
            {
                for (int i = 0; i < ps.Length; i++) SetGrad(ps[i], 100 * k + i);
                opt.Step(0.05f * (k + 1));
            }
        }

        var straight = Fresh();
        var opt1 = Make(kind, straight);
        Run(opt1, straight, 0, 5);

        var resumed = Fresh();
        var opt2 = Make(kind, resumed);
        Run(opt2, resumed, 0, 2);
        var saved = opt2.Save();
        var weights = resumed.Select(p => p.Data.Clone()).ToArray();
        Run(opt2, resumed, 2, 3); // changes after Save do not leak into the snapshot

        var again = Fresh();
        for (int i = 0; i < again.Length; i++) again[i].Data.CopyFrom(weights[i]);
        var flat = saved.ToTensors();
        var opt3 = Make(kind, again);
        opt3.Load(OptimizerState.FromTensors(saved.Optimizer, flat));
        Assert.Equal(2, opt3.StepCount);
        Run(opt3, again, 2, 5);
        for (int i = 0; i < again.Length; i++)
            Assert.Equal(0f, again[i].Data.MaxAbsDiff(straight[i].Data));
    }

    [Fact]
    public void State_uses_pytorch_buffer_names_keyed_by_parameter()
    {
        var w = Param("layer.weight", 1, 2, 2);
        SetGrad(w, 2);
        var adam = new AdamW([w]);
        adam.Step(0.01f);
        var s = adam.Save();
        Assert.Equal("AdamW", s.Optimizer);
        Assert.Equal(1, s.Parameters["layer.weight"].Step);
        Assert.Equal(["exp_avg", "exp_avg_sq"], s.Parameters["layer.weight"].Buffers.Keys.Order());
        Assert.Contains("layer.weight::exp_avg", s.ToTensors().Keys);

        var sgd = new Sgd([w], momentum: 0.5);
        sgd.Step(0.01f);
        Assert.Equal(["momentum_buffer"], sgd.Save().Parameters["layer.weight"].Buffers.Keys);
        Assert.Empty(new Sgd([w]).Save().Parameters); // no state before the first step
    }

    [Fact]
    public void Load_rejects_foreign_or_mismatched_state()
    {
        var w = Param("w", 1, 2, 3);
        SetGrad(w, 2);
        var sgd = new Sgd([w], momentum: 0.9);
        sgd.Step(0.1f);
        var state = sgd.Save();

        Assert.Contains("Cannot load Sgd optimizer state into a AdamW optimizer",
            Assert.Throws<ShrinkException>(() => new AdamW([w]).Load(state)).Message);
        Assert.Contains("parameter 'w', which this optimizer does not hold",
            Assert.Throws<ShrinkException>(() => new Sgd([Param("v", 1, 2, 3)], momentum: 0.9).Load(state)).Message);
        Assert.Contains("has shape [2,3], the parameter has [6]",
            Assert.Throws<ShapeMismatchException>(() => new Sgd([Param("w", 1, 6)], momentum: 0.9).Load(state)).Message);
        var odd = new OptimizerState("Sgd", 1);
        odd.Parameters["w"] = new ParameterState();
        odd.Parameters["w"].Buffers["velocity"] = new Tensor(new Shape(2, 3));
        Assert.Contains("unknown buffer 'velocity'", Assert.Throws<ShrinkException>(() => new Sgd([w]).Load(odd)).Message);
        Assert.Contains("step_count", Assert.Throws<ShrinkException>(() => OptimizerState.FromTensors("Sgd", new Dictionary<string, Tensor>())).Message);
    }

    /// <summary>A saved AdamW state of one parameter "w" [2] after 3 steps, flat, with one entry replaced or removed.</summary>
    private static Dictionary<string, Tensor> SavedFlat(string key, Tensor? value)
    {
        var w = Param("w", 1, 2);
        var opt = new AdamW([w]);
        for (int k = 0; k < 3; k++)
        {
            SetGrad(w, k);
            opt.Step(0.01f);
        }
        var flat = opt.Save().ToTensors();
        if (value is null) flat.Remove(key);
        else flat[key] = value;
        return flat;
    }

    public static TheoryData<string, float[]?, int[], string> MalformedSteps => new()
    {
        { "::step_count", [3f, 3f], [2], "has shape [2]" },
        { "::step_count", [float.NaN], [], "is NaN" },
        { "::step_count", [-1f], [], "is -1" },
        { "w::step", null, [], "no 'w::step' entry" },           // used to load as step 0: AdamW's bias correction divides by 0
        { "w::step", [], [0], "has shape [0]" },                 // used to throw IndexOutOfRangeException
        { "w::step", [float.NaN], [], "is NaN" },                // used to throw OverflowException
        { "w::step", [2.5f], [], "is 2.5" },                     // used to truncate silently to 2
        { "w::step", [1e10f], [], "is 1E+10" },
        { "w::step", [4f], [], "more than the optimizer's 3 steps" },
        { "w::step", [1f, 2f], [2], "has shape [2]" },           // used to take the first element silently
    };

    [Theory]
    [MemberData(nameof(MalformedSteps))]
    public void FromTensors_malformed_step_entry_is_one_clear_error_naming_it(string key, float[]? values, int[] dims, string why)
    {
        var flat = SavedFlat(key, values is null ? null : Tensor.FromArray(new Shape(dims), values));
        var e = Assert.Throws<ShrinkException>(() => OptimizerState.FromTensors("AdamW", flat, "run/optimizer-epoch3.npz"));
        Assert.Contains("'run/optimizer-epoch3.npz'", e.Message);
        Assert.Contains(key == "w::step" && values is null ? "'w'" : $"'{key}'", e.Message);
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void FromTensors_rejects_an_empty_buffer_name_and_Load_rejects_buffers_at_step_0()
    {
        var flat = SavedFlat("w::", Tensor.Scalar(0));
        Assert.Contains("'w::'", Assert.Throws<ShrinkException>(() => OptimizerState.FromTensors("AdamW", flat)).Message);
        var w = Param("w", 1, 2);
        var state = new OptimizerState("AdamW", 3);
        state.Parameters["w"] = new ParameterState();
        state.Parameters["w"].Buffers["exp_avg"] = new Tensor(new Shape(2));
        state.Parameters["w"].Buffers["exp_avg_sq"] = new Tensor(new Shape(2));
        Assert.Contains("parameter 'w' has step 0", Assert.Throws<ShrinkException>(() => new AdamW([w]).Load(state)).Message);
        // The well-formed flat state still loads.
        new AdamW([w]).Load(OptimizerState.FromTensors("AdamW", SavedFlat("::step_count", Tensor.Scalar(3))));
    }

    [Fact]
    public void Bad_construction_and_step_arguments_are_rejected()
    {
        var w = Param("w", 1, 3);
        Assert.Contains("named 'w'", Assert.Throws<ArgumentException>(() => new Sgd([w, Param("w", 2, 3)])).Message);
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(() => new Sgd([w], nesterov: true)).Message);
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(() => new Sgd([w], momentum: 0.9, dampening: 0.1, nesterov: true)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([w], momentum: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([w], weightDecay: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([w], beta1: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([w], beta2: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([w], eps: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([w], weightDecay: -1));

        var opt = new Sgd([w]);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.Step(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.Step(-0.1f));
        w.Grad = new Tensor(new Shape(4));
        Assert.Contains("gradient of parameter 'w' has shape [4], the parameter has [3]",
            Assert.Throws<ShapeMismatchException>(() => opt.Step(0.1f)).Message);
    }

    [Fact]
    public void A_shared_parameter_listed_twice_is_updated_once()
    {
        var p = new Parameter("p", Tensor.FromArray(new Shape(1), 1f));
        p.EnsureGrad()[0] = 1f;
        var opt = new Sgd([p, p]);
        opt.Step(0.5f);
        Assert.Single(opt.Parameters);
        Assert.Equal(0.5f, p.Data[0]);
    }

    [Fact]
    public void Changing_a_parameter_shape_after_state_exists_is_reported()
    {
        var p = Param("p", 1, 4);
        SetGrad(p, 2);
        var opt = new AdamW([p]);
        opt.Step(0.01f);
        p.Data = new Tensor(new Shape(2));
        p.Grad = new Tensor(new Shape(2));
        Assert.Contains("make a new optimizer", Assert.Throws<ShrinkException>(() => opt.Step(0.01f)).Message);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Steps_after_the_first_do_not_allocate(string kind)
    {
        Parameter[] ps = [Param("w", 1, 64, 33), Param("b", 2, 33)];
        foreach (var p in ps) SetGrad(p, 3);
        var opt = Make(kind, ps);
        opt.Step(0.01f);
        opt.Step(0.01f); // warm up the JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 20; k++) opt.Step(0.01f);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }
}

using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Execution;

/// <summary>
/// One forward pass that keeps every activation and each node's saved state, so that <see cref="Backward"/> can run
/// the nodes in reverse order. Gradients of trainable parameters are accumulated into <see cref="Parameter.Grad"/>;
/// gradients of graph inputs are kept when asked for. Dispose to return the activations to the pool.
/// </summary>
public sealed class Tape : IDisposable
{
    private readonly Graph.Graph _graph;
    private readonly List<Node> _order;
    private readonly Dictionary<Value, Tensor> _tensors = [];
    private readonly List<Tensor> _owned = [];
    private readonly Dictionary<Node, OpContext> _contexts = [];
    private readonly Dictionary<Value, Tensor> _inputGrads = [];
    private readonly bool _inputGradients;
    private readonly bool _economical;

    /// <summary>Values a backward reads whose data was nevertheless released after forward: each is recomputed (by
    /// <see cref="Operator.Recompute"/>) when a backward first reads it, and leaves this set then.</summary>
    private readonly HashSet<Value> _dropped = [];

    /// <summary>Values no backward reads, released after forward, that the recomputation of dropped values goes
    /// through (a batch norm's output under a ReLU): recomputed into temporaries each time.</summary>
    private readonly HashSet<Value> _intermediates = [];

    /// <summary>Most recomputing ops (element-wise passes) a dropped value may take to make again, intermediates
    /// included: ResNet-18's deepest chain (ReLU(BN(conv) + ReLU(BN(conv) + ReLU(BN(conv))))) takes 8.</summary>
    internal const int MaxRecomputeCost = 8;

    /// <summary>SHRINK_NO_RECOMPUTE=1 (or this switch, for in-process A/B) keeps every value a backward reads, as before.</summary>
    internal static bool Recomputation = Environment.GetEnvironmentVariable("SHRINK_NO_RECOMPUTE") != "1";

    /// <summary>How many clips this tape's forward fused into the op before them (economical only).</summary>
    internal int FusedClipForwards { get; private set; }

    /// <summary>How many values backward reads this tape released after forward to recompute them (economical only).</summary>
    internal int DroppedValues { get; private set; }

    private Tape(Graph.Graph graph, List<Node> order, bool inputGradients, bool economical)
    {
        _graph = graph;
        _order = order;
        _inputGradients = inputGradients;
        _economical = economical;
    }

    /// <summary>
    /// Runs <paramref name="graph"/> forward on <paramref name="inputs"/> (one per graph input, in order), in training
    /// or evaluation mode. <paramref name="inputGradients"/> keeps gradients for the graph inputs during backward.
    /// </summary>
    /// <para><paramref name="economical"/> (training loops): intermediate values whose data no backward reads are
    /// released as soon as forward is done with them, and during <see cref="Backward"/> each node's outputs and their
    /// gradients are released once its backward has run; only the graph inputs and outputs stay readable throughout.
    /// Values a backward does read but that cheap ops (<see cref="Operator.Recomputable"/>: ReLU of a batch norm of a
    /// retained conv output, a residual sum) can make again from retained values are released too and recomputed,
    /// bit for bit, when backward reaches their first reader.</para>
    public static Tape Forward(Graph.Graph graph, IReadOnlyList<Tensor> inputs, bool training, Random? rng = null,
        bool inputGradients = false, IReadOnlyList<Node>? order = null, bool economical = false)
    {
        var tape = new Tape(graph, order?.ToList() ?? graph.TopologicalOrder(), inputGradients, economical);
        try
        {
            tape.BindInputs(inputs);
            rng ??= new Random(0);
            var release = economical ? tape.ForwardReleasePoints() : null;
            Tensor? clamped = null; // the next node's (a Clip's) output, already written by a fused forward
            for (int step = 0; step < tape._order.Count; step++)
            {
                var node = tape._order[step];
                var ctx = new OpContext(training, rng);
                tape._contexts[node] = ctx;
                var ins = node.Inputs.Select(tape.TensorOf).ToArray();
                var timer = Profiling.OpTimer.Active;
                long t0 = timer is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                Tensor[] outs;
                if (clamped is not null)
                {
                    outs = [clamped];
                    clamped = null;
                }
                else if (release is not null && tape.FusedClip(step, release) is { } clip)
                {
                    // Op → Clip(lo ≥ 0) over a value released right after the clip: the op writes the clamped values into
                    // the clip's output in one pass; its own output is only a shape (nothing reads its data).
                    outs = RunNode(node, ctx, ins, clip, out clamped);
                    if (clamped is not null) tape.FusedClipForwards++;
                }
                else outs = RunNode(node, ctx, ins);
                timer?.Add(node.Name, node.OpType, "forward", t0);
                for (int i = 0; i < outs.Length; i++)
                {
                    tape._tensors[node.Outputs[i]] = outs[i];
                    tape._owned.Add(outs[i]);
                }
                if (release is not null && release.TryGetValue(step, out var dead))
                    foreach (var v in dead) tape._tensors[v].Dispose(); // shape stays readable; data goes back to the pool
            }
            return tape;
        }
        catch
        {
            tape.Dispose();
            throw;
        }
    }

    /// <summary>For each forward step, the values whose data can be released after it: produced here, not a graph
    /// output, this step is their last forward reader, and either no backward reads them (per
    /// <see cref="Operator.BackwardReadsInput"/> / <see cref="Operator.BackwardReadsOutput"/>) or they are recomputable
    /// (see <see cref="PlanRecomputation"/>).</summary>
    private Dictionary<int, List<Value>> ForwardReleasePoints()
    {
        var outputs = new HashSet<Value>(_graph.Outputs);
        var lastRead = new Dictionary<Value, int>();
        var neededBackward = new HashSet<Value>();
        for (int i = 0; i < _order.Count; i++)
        {
            var node = _order[i];
            for (int j = 0; j < node.Inputs.Count; j++)
            {
                lastRead[node.Inputs[j]] = i;
                if (node.Op.BackwardReadsInput(j)) neededBackward.Add(node.Inputs[j]);
            }
            for (int j = 0; j < node.Outputs.Count; j++)
                if (node.Op.BackwardReadsOutput(j)) neededBackward.Add(node.Outputs[j]);
        }
        if (Recomputation) PlanRecomputation(outputs, neededBackward);
        var result = new Dictionary<int, List<Value>>();
        foreach (var (v, i) in lastRead)
        {
            if (v.Producer is null || v.Parameter is not null || outputs.Contains(v) || (neededBackward.Contains(v) && !_dropped.Contains(v))) continue;
            if (!result.TryGetValue(i, out var list)) result[i] = list = [];
            list.Add(v);
        }
        return result;
    }

    /// <summary>
    /// Chooses the values backward reads that are released after forward anyway and recomputed: in topological
    /// order, a value is recomputable when its producer is <see cref="Operator.Recomputable"/> and each of the
    /// producer's inputs is available in backward (a parameter, a graph input, a retained value) or recomputable itself,
    /// at a total of at most <see cref="MaxRecomputeCost"/> ops; every recomputable value a backward reads is dropped.
    /// Retained values are the ones backward reads that are not dropped: a chain of cheap ops is rebuilt from them.
    /// </summary>
    private void PlanRecomputation(HashSet<Value> outputs, HashSet<Value> neededBackward)
    {
        var costs = new Dictionary<Value, int>();
        foreach (var node in _order)
        {
            if (!node.Op.Recomputable || node.Outputs.Count != 1 || outputs.Contains(node.Outputs[0])) continue;
            int cost = 1;
            foreach (var u in node.Inputs)
            {
                if (u.Parameter is not null || u.Producer is null || (neededBackward.Contains(u) && !_dropped.Contains(u))) continue;
                if (!costs.TryGetValue(u, out int c)) { cost = int.MaxValue; break; }
                cost += c;
            }
            if (cost > MaxRecomputeCost) continue;
            var v = node.Outputs[0];
            costs[v] = cost;
            if (neededBackward.Contains(v)) _dropped.Add(v);
            else _intermediates.Add(v);
        }
        DroppedValues = _dropped.Count;
    }

    /// <summary>Makes the data of dropped value <paramref name="v"/> readable again (it stays until its producer's
    /// backward releases it).</summary>
    private void Restore(Value v)
    {
        var t = Recomputed(v);
        _tensors[v] = t;
        _owned.Add(t);
        _dropped.Remove(v);
    }

    /// <summary>A new tensor holding <paramref name="v"/> as forward computed it, recomputed from retained values:
    /// dropped inputs on the way are restored first, then released intermediates are recomputed into temporaries
    /// (one at a time), and an op that may (<see cref="Operator.RecomputesInPlace"/>) writes over a temporary input of
    /// its output's shape, so that a chain such as ReLU(BN(x) + s) takes one buffer.</summary>
    private Tensor Recomputed(Value v)
    {
        var node = v.Producer!;
        // ReLU of a released intermediate (BN → ReLU, Add → ReLU): the intermediate's producer writes the clamped
        // result in one pass when it can (Operator.RecomputeClamped), as the inference plan fuses activations.
        // Clip(lo ≥ 0, hi) (ReLU6) fuses the same way: with lo ≥ 0 the clamp of a −0 gives +0 or lo either way, so the
        // fused pass is bit for bit the producer's pass followed by the clip's (which adds a zero bias first).
        if ((node.Op is Relu || node.Op is Clip { Min: >= 0f } && Clip.Fused) && _intermediates.Contains(node.Inputs[0]) && node.Inputs[0].Producer!.Outputs.Count == 1)
            return Recomputed(node.Inputs[0].Producer!, node.Inputs[0], relu: node);
        return Recomputed(node, v, relu: null);
    }

    /// <summary>Output <paramref name="v"/> of <paramref name="node"/>, recomputed; with <paramref name="relu"/>, that
    /// ReLU node's output of it instead.</summary>
    private Tensor Recomputed(Node node, Value v, Node? relu)
    {
        var ins = new Tensor[node.Inputs.Count];
        var temporaries = new List<Tensor>();
        try
        {
            for (int j = 0; j < ins.Length; j++)
                if (_dropped.Contains(node.Inputs[j])) Restore(node.Inputs[j]);
            for (int j = 0; j < ins.Length; j++)
            {
                var u = node.Inputs[j];
                if (_intermediates.Contains(u))
                {
                    ins[j] = Recomputed(u);
                    temporaries.Add(ins[j]);
                }
                else ins[j] = TensorOf(u);
            }
            var shape = TensorOf(v).Shape;
            var t = node.Op.RecomputesInPlace ? temporaries.Find(x => x.Shape == shape) : null;
            if (t is not null) temporaries.Remove(t);
            else t = Tensor.Rent(shape, clear: false);
            try
            {
                var (lo, hi) = relu?.Op is Clip clip ? (clip.Min, clip.Max) : (0f, float.PositiveInfinity);
                if (relu is null) node.Op.Recompute(_contexts[node], ins, [t]);
                else if (!node.Op.RecomputeClamped(_contexts[node], ins, [t], lo, hi))
                {
                    node.Op.Recompute(_contexts[node], ins, [t]);
                    relu.Op.Recompute(_contexts[relu], [t], [t]);
                }
            }
            catch
            {
                t.Dispose();
                throw;
            }
            return t;
        }
        finally
        {
            foreach (var t in temporaries) t.Dispose();
        }
    }

    /// <summary>The graph outputs, in order.</summary>
    public IReadOnlyList<Tensor> Outputs => _graph.Outputs.Select(TensorOf).ToArray();

    public Tensor Output => TensorOf(_graph.Outputs[0]);

    /// <summary>The tensor computed (or fed) for <paramref name="value"/> in this pass.</summary>
    public Tensor TensorOf(Value value) =>
        value.Parameter is { } p ? p.Data
        : _tensors.TryGetValue(value, out var t) ? t
        : throw new InvalidGraphException($"Value '{value.Name}' has no tensor in this pass.");

    /// <summary>The gradient of graph input <paramref name="input"/> after <see cref="Backward"/> (requires inputGradients).</summary>
    public Tensor InputGradient(Value input) =>
        _inputGrads.TryGetValue(input, out var g) ? g : throw new InvalidOperationException($"No gradient kept for '{input.Name}'.");

    /// <summary>
    /// Back-propagates <paramref name="outputGrads"/> (dLoss/dOutput, one per graph output; null for outputs that do
    /// not feed the loss). Accumulates into the gradients of trainable parameters: zero them first for a fresh step.
    /// </summary>
    public void Backward(IReadOnlyList<Tensor?> outputGrads)
    {
        if (outputGrads.Count != _graph.Outputs.Count)
            throw new ArgumentException($"{outputGrads.Count} output gradients for {_graph.Outputs.Count} outputs.");
        var needs = GradientNeeds();
        var grads = new Dictionary<Value, Tensor>();
        var temporaries = new List<Tensor>();
        try
        {
            for (int i = 0; i < outputGrads.Count; i++)
            {
                if (outputGrads[i] is not { } g) continue;
                var v = _graph.Outputs[i];
                if (g.Shape != TensorOf(v).Shape)
                    throw new ShapeMismatchException($"Gradient for output '{v.Name}' has shape {g.Shape}, output has {TensorOf(v).Shape}.");
                if (!needs.Contains(v)) continue;
                var acc = GradFor(v, grads, temporaries);
                TensorPrimitivesAdd(acc, g);
            }
            var graphOutputs = new HashSet<Value>(_graph.Outputs);
            for (int n = _order.Count - 1; n >= 0; n--)
            {
                var node = _order[n];
                if (!node.Outputs.Any(grads.ContainsKey) || !node.Inputs.Any(needs.Contains))
                {
                    if (_economical) ReleaseOutputs(node, grads, graphOutputs);
                    continue;
                }
                var outGrads = new Tensor[node.Outputs.Count];
                for (int i = 0; i < outGrads.Length; i++)
                    outGrads[i] = GradFor(node.Outputs[i], grads, temporaries);
                var inGrads = new Tensor?[node.Inputs.Count];
                int inPlace = InPlaceGradientInput(node, needs, grads);
                if (inPlace >= 0)
                {
                    // The output gradient becomes the input's: the op overwrites it (no buffer, no zeroing, no copy).
                    inGrads[inPlace] = grads[node.Inputs[inPlace]] = outGrads[0];
                    grads.Remove(node.Outputs[0]);
                }
                for (int i = 0; i < inGrads.Length; i++)
                    if (i != inPlace && needs.Contains(node.Inputs[i])) inGrads[i] = GradFor(node.Inputs[i], grads, temporaries);
                if (_dropped.Count > 0) RestoreReads(node);
                var ins = node.Inputs.Select(TensorOf).ToArray();
                var outs = node.Outputs.Select(TensorOf).ToArray();
                var timer = Profiling.OpTimer.Active;
                long t0 = timer is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                node.Op.Backward(_contexts[node], ins, outs, outGrads, inGrads);
                if (Tensor.Guarded) Tensor.CheckGuards(inGrads, $"the backward of {node.Name} ({node.OpType})");
                timer?.Add(node.Name, node.OpType, "backward", t0);
                if (_economical) ReleaseOutputs(node, grads, graphOutputs);
            }
            foreach (var input in _graph.Inputs)
                if (_inputGradients && grads.TryGetValue(input, out var g))
                {
                    _inputGrads[input] = g.Clone();
                }
        }
        finally
        {
            foreach (var t in temporaries) t.Dispose();
        }
    }

    /// <summary>The input whose gradient <paramref name="node"/>'s backward can write over its output gradient (see
    /// <see cref="Operator.BackwardInPlace"/>), or -1: one output, whose gradient is a temporary of this pass; an input
    /// wanting a gradient, of the output's shape, read once by the node, with no contribution to its gradient yet.</summary>
    private int InPlaceGradientInput(Node node, HashSet<Value> needs, Dictionary<Value, Tensor> grads)
    {
        if (node.Outputs.Count != 1 || !InPlaceGradients) return -1;
        var shape = TensorOf(node.Outputs[0]).Shape;
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            var u = node.Inputs[i];
            if (!needs.Contains(u) || u.Parameter is not null || grads.ContainsKey(u) || !node.Op.BackwardInPlace(i)) continue;
            if (TensorOf(u).Shape != shape || node.Inputs.Count(w => w == u) != 1) continue;
            return i;
        }
        return -1;
    }

    /// <summary>SHRINK_NO_INPLACE_GRAD=1 (or this switch, for in-process A/B) gives every input gradient its own buffer.</summary>
    internal static bool InPlaceGradients = Environment.GetEnvironmentVariable("SHRINK_NO_INPLACE_GRAD") != "1";

    /// <summary>Recomputes the dropped values <paramref name="node"/>'s backward reads (timed as the value's producer's
    /// "recompute" phase when an <see cref="Profiling.OpTimer"/> is active).</summary>
    private void RestoreReads(Node node)
    {
        for (int j = 0; j < node.Inputs.Count; j++)
            if (_dropped.Contains(node.Inputs[j]) && node.Op.BackwardReadsInput(j)) TimedRestore(node.Inputs[j]);
        for (int j = 0; j < node.Outputs.Count; j++)
            if (_dropped.Contains(node.Outputs[j]) && node.Op.BackwardReadsOutput(j)) TimedRestore(node.Outputs[j]);
    }

    private void TimedRestore(Value v)
    {
        var timer = Profiling.OpTimer.Active;
        long t0 = timer is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
        Restore(v);
        timer?.Add(v.Producer!.Name, v.Producer.OpType, "recompute", t0);
    }

    /// <summary>After a node's backward every reader of its outputs is done: return their data and gradients to the pool.</summary>
    private void ReleaseOutputs(Node node, Dictionary<Value, Tensor> grads, HashSet<Value> graphOutputs)
    {
        foreach (var o in node.Outputs)
        {
            if (graphOutputs.Contains(o)) continue;
            if (_tensors.TryGetValue(o, out var t)) t.Dispose();
            if (grads.TryGetValue(o, out var g) && o.Parameter is null)
            {
                g.Dispose();
                grads.Remove(o);
            }
        }
    }

    /// <summary>Values whose gradient is wanted: trainable parameters, inputs if asked, and everything downstream of them.</summary>
    private HashSet<Value> GradientNeeds()
    {
        var needs = new HashSet<Value>();
        if (_inputGradients) foreach (var v in _graph.Inputs) needs.Add(v);
        foreach (var node in _order)
        {
            foreach (var v in node.Inputs)
                if (v.Parameter is { Trainable: true }) needs.Add(v);
            if (node.Inputs.Any(needs.Contains))
                foreach (var o in node.Outputs) needs.Add(o);
        }
        return needs;
    }

    private Tensor GradFor(Value v, Dictionary<Value, Tensor> grads, List<Tensor> temporaries)
    {
        if (grads.TryGetValue(v, out var g)) return g;
        if (v.Parameter is { Trainable: true } p) g = p.EnsureGrad();
        else
        {
            g = Tensor.Rent(TensorOf(v).Shape);
            temporaries.Add(g);
        }
        grads[v] = g;
        return g;
    }

    private static void TensorPrimitivesAdd(Tensor acc, Tensor g) =>
        TensorPrimitives.Add(acc.Span, g.Span, acc.Span);

    private void BindInputs(IReadOnlyList<Tensor> inputs)
    {
        if (inputs.Count != _graph.Inputs.Count)
            throw new ArgumentException($"Graph '{_graph.Name}' takes {_graph.Inputs.Count} inputs, got {inputs.Count}.");
        for (int i = 0; i < inputs.Count; i++)
        {
            var v = _graph.Inputs[i];
            if (!inputs[i].Shape.IsCompatibleWith(v.Shape))
                throw new ShapeMismatchException($"Input '{v.Name}' expects shape {v.Shape}, got {inputs[i].Shape}.");
            _tensors[v] = inputs[i];
        }
    }

    /// <summary>SHRINK_NO_FUSED_CLIP_FORWARD=1 (or this switch, for in-process A/B timing) runs every clip's forward itself.</summary>
    internal static bool FuseClipForward = Environment.GetEnvironmentVariable("SHRINK_NO_FUSED_CLIP_FORWARD") != "1";

    /// <summary>The Clip(lo ≥ 0) that step <paramref name="step"/>'s op may write clamped (<see cref="Operator.ForwardClamped"/>):
    /// the next step, reading this op's single output, which is released after it (nothing else ever reads its data);
    /// else null. Released after step + 1 means read last there (<see cref="ForwardReleasePoints"/>), and no reader can
    /// come before its producer, so the clip is its only reader.</summary>
    private Node? FusedClip(int step, Dictionary<int, List<Value>> release)
    {
        if (!FuseClipForward || !Clip.Fused || step + 1 >= _order.Count) return null;
        var node = _order[step];
        var next = _order[step + 1];
        if (node.Outputs.Count != 1 || next.Op is not Clip { Min: >= 0f } || next.Inputs.Count != 1 || next.Inputs[0] != node.Outputs[0]) return null;
        return release.TryGetValue(step + 1, out var dead) && dead.Contains(node.Outputs[0]) ? next : null;
    }

    /// <summary><see cref="RunNode(Node, OpContext, Tensor[])"/>, the op writing its output clamped by
    /// <paramref name="clip"/> into <paramref name="clipOutput"/> (null, and the plain forward, when it does not fuse).</summary>
    private static Tensor[] RunNode(Node node, OpContext ctx, Tensor[] inputs, Node clip, out Tensor? clipOutput)
    {
        var shapes = Graph.Graph.InferNodeShapes(node, node.Op, inputs.Select(t => t.Shape).ToArray());
        var z = Tensor.Rent(shapes[0], clear: false);
        var c = (Clip)clip.Op;
        try
        {
            if (node.Op.ForwardClamped(ctx, inputs, [z], c.Min, c.Max))
            {
                clipOutput = z;
                return [Tensor.ShapeOnly(shapes[0])];
            }
        }
        catch
        {
            z.Dispose();
            throw;
        }
        z.Dispose();
        clipOutput = null;
        return RunNode(node, ctx, inputs);
    }

    /// <summary>Infers a node's output shapes from concrete input tensors, allocates the outputs and runs forward.</summary>
    internal static Tensor[] RunNode(Node node, OpContext ctx, Tensor[] inputs)
    {
        var shapes = Graph.Graph.InferNodeShapes(node, node.Op, inputs.Select(t => t.Shape).ToArray());
        var outputs = new Tensor[shapes.Length];
        for (int i = 0; i < shapes.Length; i++) outputs[i] = Tensor.Rent(shapes[i], clear: false); // ops overwrite their outputs
        try
        {
            node.Op.Forward(ctx, inputs, outputs);
            if (Tensor.Guarded) Tensor.CheckGuards(outputs, $"{node.Name} ({node.OpType})");
        }
        catch
        {
            foreach (var t in outputs) t.Dispose();
            throw;
        }
        return outputs;
    }

    public void Dispose()
    {
        foreach (var ctx in _contexts.Values) ctx.Dispose();
        _contexts.Clear();
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
        _tensors.Clear();
    }
}

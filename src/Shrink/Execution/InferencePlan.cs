using Shrink.Graph;
using Shrink.Kernels;
using Shrink.Ops;
using Shrink.Tensors;

namespace Shrink.Execution;

/// <summary>
/// How a graph runs in evaluation mode, worked out once (the design's "inference plan"):
/// <list type="bullet">
/// <item>batch norm folded into the preceding convolution (weights scaled, bias shifted, on private copies: the
/// user's graph is never touched);</item>
/// <item>convolution + bias + ReLU / ReLU6 / Clip fused (the activation is the GEMM's epilogue), and residual
/// Add + ReLU fused;</item>
/// <item>Flatten, Reshape, Identity and Dropout as views (no copy);</item>
/// <item>activation buffers reused by liveness (a value's buffer is free after its last reader), element-wise steps
/// in place when their input dies there; buffers are allocated once per input shape (<see cref="ShapePlan"/>);</item>
/// <item>convolution weights packed once in the GEMM's panel layout (<see cref="PackedMatrix"/>), so a run never
/// repacks them;</item>
/// <item>batch 1 parallelises inside each layer (the conv GEMM splits over threads; depthwise over channels).</item>
/// </list>
/// Folded weights are a snapshot of the parameters when the plan is built: build a new plan (a new
/// <see cref="Executor"/>) after changing them.
/// </summary>
public sealed class InferencePlan
{
    private readonly Graph.Graph _graph;
    private readonly List<Step> _steps = [];
    private readonly Dictionary<string, ShapePlan> _byShape = [];

    public InferencePlan(Graph.Graph graph)
    {
        _graph = graph;
        Build();
    }

    public Graph.Graph Graph => _graph;

    /// <summary>Steps after fusion ("conv+bn+relu", "add+relu", ...), for display and tests.</summary>
    public IReadOnlyList<string> StepNames => _steps.Select(s => $"{s.Name}: {s.Kind}").ToArray();

    /// <summary>The buffers and views for inputs of these shapes (built on first use, then cached).</summary>
    public ShapePlan For(IReadOnlyList<Shape> inputShapes)
    {
        string key = string.Join("|", inputShapes);
        if (_byShape.TryGetValue(key, out var plan)) return plan;
        if (_byShape.Count >= 4) _byShape.Clear(); // a handful of shapes at most: drop the arenas rather than grow forever
        plan = new ShapePlan(this, inputShapes);
        _byShape[key] = plan;
        return plan;
    }

    // ------------------------------------------------------------------ steps

    internal abstract class Step(string name, string kind, Value[] inputs, Value[] outputs)
    {
        public string Name { get; } = name;
        public string Kind { get; } = kind;
        public Value[] Inputs { get; } = inputs;
        public Value[] Outputs { get; } = outputs;
        /// <summary>The output is a view of input 0 (same storage, maybe another shape).</summary>
        public virtual bool IsAlias => false;
        /// <summary>Element-wise: output i may share the storage of an input of the same length.</summary>
        public virtual bool CanRunInPlace => false;
        public abstract Shape[] InferShapes(Shape[] inputs);
        public abstract void Run(Tensor[] inputs, Tensor[] outputs, OpContext ctx);
    }

    /// <summary>Any operator, run as is.</summary>
    private sealed class NodeStep(Node node, bool alias, bool inPlace)
        : Step(node.Name, node.OpType, node.Inputs.ToArray(), node.Outputs.ToArray())
    {
        public override bool IsAlias => alias;
        public override bool CanRunInPlace => inPlace;
        public override Shape[] InferShapes(Shape[] inputs) => Shrink.Graph.Graph.InferNodeShapes(node, node.Op, inputs);

        public override void Run(Tensor[] inputs, Tensor[] outputs, OpContext ctx)
        {
            if (alias) return; // the output tensor is a view of the input's storage
            node.Op.Forward(ctx, inputs, outputs);
            ctx.Dispose();
        }
    }

    /// <summary>Conv (+ folded batch norm) (+ bias) (+ clamp activation).</summary>
    private sealed class ConvStep(Node node, string kind, Conv conv, Value output, Shape weightShape, float[] weight, float[]? bias,
        float lo, float hi) : Step(node.Name, kind, [node.Inputs[0]], [output])
    {
        public float[] Weight { get; } = weight;
        /// <summary>The weight matrix packed once for the GEMM (null for depthwise convs); a snapshot like <see cref="Weight"/>.</summary>
        public PackedMatrix[]? Packed { get; } = conv.Group > 1 && weightShape[1] == 1 || weight.Length == 0 ? null
            : ConvGemm.PackWeights(weightShape[0], conv.Group, weight.Length / weightShape[0], weight);
        public float[]? Bias { get; } = bias;
        public float Lo { get; set; } = lo;
        public float Hi { get; set; } = hi;

        public override Shape[] InferShapes(Shape[] inputs) =>
            Shrink.Graph.Graph.InferNodeShapes(node, conv, node.Inputs.Select((v, i) => i == 0 ? inputs[0] : v.Shape).ToArray());

        /// <summary>The weights transformed for <see cref="Winograd"/>, made on the first run that takes that path.</summary>
        private WinogradWeights? _winograd;

        public override void Run(Tensor[] inputs, Tensor[] outputs, OpContext ctx)
        {
            var d = conv.Measure(inputs[0].Shape, weightShape, outputs[0].Shape);
            if (Winograd.Preferred(d))
            {
                _winograd ??= Winograd.TransformWeights(Weight, d.Cout, d.Cin);
                Winograd.Forward(d, inputs[0].Span, _winograd, Bias, outputs[0].Span, Lo, Hi);
            }
            else ConvGemm.Forward(d, inputs[0].Span, Weight, Bias, outputs[0].Span, Lo, Hi, Packed);
        }
    }

    /// <summary>ONNX Gemm whose B input is a parameter (Linear): Y = alpha·op(A)·op(B) + beta·C computed as
    /// Yᵀ = alpha·op(B)ᵀ·op(A)ᵀ + beta·Cᵀ with op(B)ᵀ packed once (a snapshot, like the conv weights). Each element is the
    /// same multiply-add chain as the op's GEMM (the GEMV paths at batch 1 are the very same calls), so the bits match.</summary>
    private sealed class GemmStep(Node node, Ops.Gemm op, PackedMatrix packed) : Step(node.Name, "gemm", node.Inputs.ToArray(), node.Outputs.ToArray())
    {
        private float[]? _t;

        public override Shape[] InferShapes(Shape[] inputs) => Shrink.Graph.Graph.InferNodeShapes(node, op, inputs);

        public override void Run(Tensor[] inputs, Tensor[] outputs, OpContext ctx)
        {
            if (!ConvGemm.UsePrepacked || packed.Level != Kernels.Gemm.ActiveLevel)
            {
                op.Forward(ctx, inputs, outputs);
                return;
            }
            var (a, y) = (inputs[0], outputs[0]);
            int m = y.Shape[0], n = y.Shape[1];
            float beta = 0;
            bool hasC = inputs.Length == 3 && op.Beta != 0;
            if (hasC) Broadcast.To(inputs[2], y);
            if (m == 1)
            {
                // Yᵀ (n×1) has Y's layout.
                if (hasC) beta = op.Beta;
                Kernels.Gemm.Sgemm(packed, !op.TransA, 1, op.Alpha, a.Span, a.Shape[1], beta, y.Span, 1);
                return;
            }
            if (_t == null || _t.Length < m * n) _t = new float[m * n];
            var t = _t.AsSpan(0, m * n);
            var ys = y.Span;
            if (hasC)
            {
                beta = op.Beta;
                for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) t[j * m + i] = ys[i * n + j];
            }
            Kernels.Gemm.Sgemm(packed, !op.TransA, m, op.Alpha, a.Span, a.Shape[1], beta, t, m);
            for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) ys[i * n + j] = t[j * m + i];
        }
    }

    /// <summary>Same-shape a + b, then clamp (residual Add + ReLU).</summary>
    private sealed class AddStep(Node node, string kind, Value output, float lo, float hi) : Step(node.Name, kind, node.Inputs.ToArray(), [output])
    {
        public override bool CanRunInPlace => true;
        public override Shape[] InferShapes(Shape[] inputs) => Shrink.Graph.Graph.InferNodeShapes(node, node.Op, inputs);

        public override void Run(Tensor[] inputs, Tensor[] outputs, OpContext ctx)
        {
            if (inputs[0].Shape != inputs[1].Shape)
            {
                new Add().Forward(ctx, inputs, outputs);
                if (lo != float.NegativeInfinity || hi != float.PositiveInfinity) Activation.Clamp(outputs[0].Span, outputs[0].Span, 0f, lo, hi);
                return;
            }
            Activation.AddClamp(inputs[0].Span, inputs[1].Span, lo, hi, outputs[0].Span);
        }
    }

    // ------------------------------------------------------------------ building (fusion)

    private static bool IsParam(Node n, int i) => i < n.Inputs.Count && n.Inputs[i].Parameter is not null;

    /// <summary>The single consumer of <paramref name="v"/>, if it has exactly one and is not a graph output.</summary>
    private Node? OnlyConsumer(Value v) => v.Consumers.Count == 1 && !_graph.Outputs.Contains(v) ? v.Consumers[0] : null;

    private static (float Lo, float Hi)? ClampOf(Node n) => n.Op switch
    {
        Relu => (0f, float.PositiveInfinity),
        Clip c => (c.Min, c.Max),
        _ => null,
    };

    private void Build()
    {
        var consumed = new HashSet<Node>();
        foreach (var node in _graph.TopologicalOrder())
        {
            if (consumed.Contains(node)) continue;
            if (node.Op is Conv conv && IsParam(node, 1) && (node.Inputs.Count < 3 || IsParam(node, 2)))
            {
                var w = node.Inputs[1].Parameter!.Data;
                var weight = w.ToArray();
                float[]? bias = node.Inputs.Count == 3 ? node.Inputs[2].Parameter!.Data.ToArray() : null;
                var output = node.Outputs[0];
                string kind = "conv";
                int cout = w.Shape[0], per = w.Length / Math.Max(1, cout);
                if (OnlyConsumer(output) is { Op: BatchNormalization bn } bnNode && Enumerable.Range(1, 4).All(i => IsParam(bnNode, i)))
                {
                    var scale = bnNode.Inputs[1].Parameter!.Data.Span;
                    var shift = bnNode.Inputs[2].Parameter!.Data.Span;
                    var mean = bnNode.Inputs[3].Parameter!.Data.Span;
                    var var = bnNode.Inputs[4].Parameter!.Data.Span;
                    bias ??= new float[cout];
                    for (int o = 0; o < cout; o++)
                    {
                        // Same arithmetic as the op: a = scale/√(var + ε), y = a·x + (B − mean·a).
                        float invStd = 1f / MathF.Sqrt(var[o] + bn.Epsilon);
                        float a = scale[o] * invStd;
                        for (int j = 0; j < per; j++) weight[o * per + j] *= a;
                        bias[o] = bias[o] * a + (shift[o] - mean[o] * a);
                    }
                    consumed.Add(bnNode);
                    output = bnNode.Outputs[0];
                    kind += "+bn";
                }
                float lo = float.NegativeInfinity, hi = float.PositiveInfinity;
                if (OnlyConsumer(output) is { } act && ClampOf(act) is { } clamp)
                {
                    (lo, hi) = clamp;
                    consumed.Add(act);
                    output = act.Outputs[0];
                    kind += "+" + act.OpType.ToLowerInvariant();
                }
                _steps.Add(new ConvStep(node, kind, conv, output, w.Shape, weight, bias, lo, hi));
                continue;
            }
            if (node.Op is Ops.Gemm gemm && node.Inputs[0].Parameter is null && IsParam(node, 1) && node.Inputs[1].Parameter!.Data.Shape.Rank == 2
                && node.Inputs[1].Parameter!.Data.Length > 0)
            {
                var w = node.Inputs[1].Parameter!.Data;
                int rows = gemm.TransB ? w.Shape[0] : w.Shape[1], depth = gemm.TransB ? w.Shape[1] : w.Shape[0];
                // op(B)ᵀ is rows×depth: W itself when TransB, else Wᵀ.
                _steps.Add(new GemmStep(node, gemm, Kernels.Gemm.PackA(!gemm.TransB, rows, depth, w.ToArray(), 0, w.Shape[1])));
                continue;
            }
            if (node.Op is Add && node.Inputs.All(v => v.Parameter is null) && node.Inputs[0].Shape == node.Inputs[1].Shape)
            {
                var output = node.Outputs[0];
                float lo = float.NegativeInfinity, hi = float.PositiveInfinity;
                string kind = "add";
                if (OnlyConsumer(output) is { } act && ClampOf(act) is { } clamp)
                {
                    (lo, hi) = clamp;
                    consumed.Add(act);
                    output = act.Outputs[0];
                    kind += "+" + act.OpType.ToLowerInvariant();
                }
                _steps.Add(new AddStep(node, kind, output, lo, hi));
                continue;
            }
            bool alias = node.Op is Flatten or Reshape or Identity or Dropout && node.Inputs[0].Parameter is null;
            bool inPlace = node.Op is Relu or Clip or LeakyRelu or Sigmoid or Tanh or HardSigmoid or BatchNormalization;
            _steps.Add(new NodeStep(node, alias, inPlace));
        }
    }

    // ------------------------------------------------------------------ per-shape buffers

    /// <summary>
    /// The plan at concrete input shapes: every value's shape, its storage (a buffer of the arena or, for graph
    /// inputs, the caller's tensor), and the arena's size, which is the peak activation memory of a run.
    /// </summary>
    public sealed class ShapePlan
    {
        private readonly InferencePlan _plan;
        private readonly Dictionary<Value, Shape> _shapes = [];
        private readonly Dictionary<Value, int> _storage = []; // value → physical buffer (−1: graph input)
        private readonly List<float[]> _buffers = [];
        private readonly Tensor[][] _ins, _outs;
        private readonly Dictionary<Value, Tensor> _views = [];

        internal ShapePlan(InferencePlan plan, IReadOnlyList<Shape> inputShapes)
        {
            _plan = plan;
            var graph = plan._graph;
            for (int i = 0; i < inputShapes.Count; i++) _shapes[graph.Inputs[i]] = inputShapes[i];
            foreach (var step in plan._steps)
            {
                var shapes = step.InferShapes(step.Inputs.Select(ShapeOf).ToArray());
                for (int i = 0; i < shapes.Length; i++) _shapes[step.Outputs[i]] = shapes[i];
            }
            Allocate();
            _ins = plan._steps.Select(s => s.Inputs.Select(v => v.Parameter?.Data ?? View(v)).ToArray()).ToArray();
            _outs = plan._steps.Select(s => s.Outputs.Select(View).ToArray()).ToArray();
        }

        private Shape ShapeOf(Value v) => v.Parameter is { } p ? p.Shape : _shapes[v];

        /// <summary>Bytes of the activation arena: the peak of live activations in a run (graph inputs excluded).</summary>
        public long ArenaBytes => _buffers.Sum(b => (long)(b.Length - Tensor.GuardSlack) * sizeof(float));

        /// <summary>Bytes of the graph inputs at these shapes.</summary>
        public long InputBytes => _plan._graph.Inputs.Sum(v => Math.Max(0, _shapes[v].Length) * (long)sizeof(float));

        private Tensor View(Value v)
        {
            if (_views.TryGetValue(v, out var t)) return t;
            int b = _storage[v];
            t = b < 0 ? null! : new Tensor(_shapes[v], _buffers[b]);
            _views[v] = t;
            return t;
        }

        /// <summary>Liveness: each value gets a buffer when produced; a buffer returns to the free list after the last
        /// reader of every value stored in it. Views share their source's buffer; in-place steps take their input's.</summary>
        private void Allocate()
        {
            var graph = _plan._graph;
            var steps = _plan._steps;
            var lastUse = new Dictionary<Value, int>();
            for (int i = 0; i < steps.Count; i++) foreach (var v in steps[i].Inputs) lastUse[v] = i;
            foreach (var v in graph.Outputs) lastUse[v] = int.MaxValue;
            int LastUse(Value v) => lastUse.TryGetValue(v, out int u) ? u : -1;

            var bufferLast = new List<int>();    // per physical buffer: last step that reads it
            var sizes = new List<long>();
            var free = new List<int>();
            foreach (var v in graph.Inputs) _storage[v] = -1;

            int NewBuffer(long floats)
            {
                // Best fit among free buffers; else grow the largest free one; else a new buffer.
                int best = -1;
                foreach (int f in free)
                    if (sizes[f] >= floats && (best < 0 || sizes[f] < sizes[best])) best = f;
                if (best < 0)
                    foreach (int f in free)
                        if (best < 0 || sizes[f] > sizes[best]) best = f;
                if (best >= 0)
                {
                    free.Remove(best);
                    sizes[best] = Math.Max(sizes[best], floats);
                    return best;
                }
                sizes.Add(floats);
                bufferLast.Add(-1);
                return sizes.Count - 1;
            }

            for (int i = 0; i < steps.Count; i++)
            {
                var step = steps[i];
                foreach (var o in step.Outputs)
                {
                    long len = Math.Max(1, _shapes[o].Length);
                    int b = -1;
                    if (step.IsAlias && step.Inputs[0].Parameter is null)
                    {
                        b = _storage[step.Inputs[0]];
                        if (b >= 0) bufferLast[b] = Math.Max(bufferLast[b], Math.Max(LastUse(o), i));
                        _storage[o] = b;
                        if (b < 0) _aliasOfInput[o] = step.Inputs[0];
                        continue;
                    }
                    if (step.CanRunInPlace)
                        foreach (var x in step.Inputs)
                            if (x.Parameter is null && _storage[x] is int xb && xb >= 0 && bufferLast[xb] == i && _shapes[x].Length == _shapes[o].Length)
                            {
                                b = xb;
                                break;
                            }
                    if (b < 0) b = NewBuffer(len);
                    bufferLast[b] = Math.Max(LastUse(o), i); // a value nobody reads is free right after its step
                    _storage[o] = b;
                }
                for (int b = 0; b < bufferLast.Count; b++)
                    if (bufferLast[b] == i && !free.Contains(b)) free.Add(b);
            }
            foreach (var s in sizes)
            {
                var buffer = GC.AllocateUninitializedArray<float>((int)s + Tensor.GuardSlack);
                Tensor.SetGuard(buffer, (int)s);
                _buffers.Add(buffer);
            }
        }

        /// <summary>SHRINK_GUARD: stops the process when <paramref name="step"/> wrote past an arena buffer.</summary>
        private void CheckArena(Step step)
        {
            for (int b = 0; b < _buffers.Count; b++)
            {
                int size = _buffers[b].Length - Tensor.GuardSlack;
                if (Tensor.GuardBreach(_buffers[b], size) is int at and >= 0)
                    Environment.FailFast($"SHRINK_GUARD: step {step.Name} ({step.Kind}) wrote past the end of arena buffer {b} of {size} floats (element {at}).");
            }
        }

        private readonly Dictionary<Value, Value> _aliasOfInput = [];

        /// <summary>Runs the steps; returns a copy of each graph output.</summary>
        internal Tensor[] Run(IReadOnlyList<Tensor> inputs)
        {
            var graph = _plan._graph;
            // Bind the caller's tensors (and views of them) into the step argument arrays.
            var bound = new Dictionary<Value, Tensor>();
            for (int i = 0; i < inputs.Count; i++) bound[graph.Inputs[i]] = inputs[i];
            foreach (var (alias, src) in _aliasOfInput) bound[alias] = Resolve(src, bound).Reshape(_shapes[alias]);
            var steps = _plan._steps;
            var ctx = new OpContext(training: false);
            for (int s = 0; s < steps.Count; s++)
            {
                var step = steps[s];
                var ins = _ins[s];
                for (int i = 0; i < ins.Length; i++)
                    if (bound.TryGetValue(step.Inputs[i], out var t)) ins[i] = t;
                var outs = _outs[s];
                for (int i = 0; i < outs.Length; i++)
                    if (bound.TryGetValue(step.Outputs[i], out var t)) outs[i] = t;
                var timer = Profiling.OpTimer.Active;
                long t0 = timer is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                step.Run(ins, outs, ctx);
                if (Tensor.Guarded) CheckArena(step);
                timer?.Add(step.Name, step.Kind, "forward", t0);
            }
            var result = new Tensor[graph.Outputs.Count];
            for (int i = 0; i < result.Length; i++)
            {
                var v = graph.Outputs[i];
                result[i] = (v.Parameter?.Data ?? (bound.TryGetValue(v, out var t) ? t : View(v))).Clone();
            }
            return result;
        }

        private Tensor Resolve(Value v, Dictionary<Value, Tensor> bound) =>
            bound.TryGetValue(v, out var t) ? t : _aliasOfInput.TryGetValue(v, out var src) ? Resolve(src, bound).Reshape(_shapes[v]) : View(v);
    }
}

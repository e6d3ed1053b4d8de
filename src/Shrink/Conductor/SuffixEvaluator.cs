using Shrink.Data;
using Shrink.Execution;
using Shrink.Execution.Losses;
using Shrink.Tensors;
using Shrink.Training;

namespace Shrink.Conductor;

/// <summary>
/// Top-1 accuracy, on a fixed set of images, of models that differ from an original only at one node, without running
/// again what they share with it. The original runs once up to the <em>cut</em>: the values that the node's downstream
/// part reads from outside it (the node's input, and the skip connections around it). Those are kept, and each model
/// then runs only its own downstream part from them. The sensitivity curves measure 8 ranks per layer, so a layer's
/// upstream part runs once instead of 8 times: ResNet-20's and MobileNet v2's curves take 2.2× less CPU
/// (<c>Shrink.Bench sensab</c>). The verdicts are those of evaluating the whole model: the same kernels see the same batches.
/// </summary>
internal sealed class SuffixEvaluator : IDisposable
{
    /// <summary>Kept activations beyond this many bytes (an early layer of a large input) are not worth the memory.</summary>
    public const long MaxKeptBytes = 1L << 30;

    private readonly string[] _cut, _outputs;
    private readonly List<(Tensor[] Cut, int[] Labels)> _batches = [];

    /// <summary>The node the measured models may differ at.</summary>
    public string Node { get; }

    /// <summary>The values kept: those the node's downstream part reads from outside it.</summary>
    public IReadOnlyList<string> Cut => _cut;

    private SuffixEvaluator(string node, string[] cut, string[] outputs)
    {
        Node = node;
        _cut = cut;
        _outputs = outputs;
    }

    /// <summary>
    /// Runs <paramref name="original"/> up to the cut of <paramref name="node"/> over <paramref name="data"/> and keeps
    /// the cut. Null when that saves nothing or does not fit: the node reads a graph input, a graph output does not
    /// depend on the node, or the kept activations would pass <see cref="MaxKeptBytes"/>.
    /// </summary>
    public static SuffixEvaluator? TryCreate(Graph.Graph original, string node, Dataset data, Normalization normalization,
        int batchSize = 256, CancellationToken cancel = default)
    {
        var start = original.FindNode(node) ?? throw new ArgumentException($"No node '{node}' in graph '{original.Name}'.", nameof(node));
        var downstream = new HashSet<Graph.Node>();
        var pending = new Stack<Graph.Node>([start]);
        while (pending.TryPop(out var n))
            if (downstream.Add(n))
                foreach (var c in n.Outputs.SelectMany(o => o.Consumers)) pending.Push(c);
        var cut = original.Nodes.Where(downstream.Contains).SelectMany(n => n.Inputs)
            .Where(v => !v.IsParameter && (v.Producer is null || !downstream.Contains(v.Producer))).Distinct().ToArray();
        if (cut.Any(v => v.Producer is null) || original.Outputs.Any(v => v.Producer is null || !downstream.Contains(v.Producer))) return null;

        var evaluator = new SuffixEvaluator(node, cut.Select(v => v.Name).ToArray(), original.Outputs.Select(v => v.Name).ToArray());
        var head = new Executor(original.Subgraph(original.Inputs.Select(v => v.Name).ToArray(), evaluator._cut));
        var loader = new DataLoader(data, DataLoaderOptions.Evaluation(batchSize, normalization));
        long bytes = 0;
        foreach (var batch in loader.Epoch(0))
        {
            cancel.ThrowIfCancellationRequested();
            var kept = head.Run([batch.Images]);
            evaluator._batches.Add((kept, batch.Labels.ToArray()));
            bytes += kept.Sum(t => (long)t.Length * sizeof(float));
            if (bytes > MaxKeptBytes)
            {
                evaluator.Dispose();
                return null;
            }
        }
        return evaluator;
    }

    /// <summary>Accuracy in percent of <paramref name="model"/>: the original with <see cref="Node"/> replaced (its outputs keep their names).</summary>
    public double AccuracyPercent(Graph.Graph model, CancellationToken cancel = default)
    {
        var tail = new Executor(model.Subgraph(_cut, _outputs));
        long correct = 0, count = 0;
        foreach (var (cut, labels) in _batches)
        {
            cancel.ThrowIfCancellationRequested();
            var outputs = tail.Run(cut);
            correct += Metrics.CorrectTop1(outputs[0], labels);
            count += labels.Length;
            foreach (var o in outputs) o.Dispose();
        }
        return new EvalResult(count == 0 ? 0 : (double)correct / count, 0, (int)count).AccuracyPercent;
    }

    public void Dispose()
    {
        foreach (var t in _batches.SelectMany(b => b.Cut)) t.Dispose();
        _batches.Clear();
    }

    /// <summary>
    /// Measures models that each differ from <paramref name="original"/> at one node, keeping the cut of one node at a
    /// time (a new node drops the last one's): the order of the sensitivity curves, a layer's ranks one after the
    /// other. Where there is no cut worth keeping, <paramref name="whole"/> evaluates the whole model.
    /// </summary>
    public sealed class OneLayerAtATime(Graph.Graph original, Dataset data, Normalization normalization, Func<Graph.Graph, double> whole,
        CancellationToken cancel = default) : IDisposable
    {
        private string? _node;
        private SuffixEvaluator? _current;

        public double AccuracyPercent(string node, Graph.Graph model)
        {
            if (_node != node)
            {
                Dispose();
                _current = TryCreate(original, node, data, normalization, cancel: cancel);
                _node = node;
            }
            return _current?.AccuracyPercent(model, cancel) ?? whole(model);
        }

        public void Dispose()
        {
            _current?.Dispose();
            _current = null;
            _node = null;
        }
    }
}

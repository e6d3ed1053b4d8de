using System.Diagnostics;

namespace Shrink.Profiling;

/// <summary>
/// Per-node wall-time accounting for the executor and the tape, off unless <see cref="Active"/> is set (then each
/// node's forward and backward add their elapsed time here). Not thread-safe: one timed run at a time.
/// </summary>
public sealed class OpTimer
{
    /// <summary>The timer the executor and tape report into; null (the default) costs one static read per node.</summary>
    public static OpTimer? Active { get; set; }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Accumulated time of one node (or fused plan step) and phase.</summary>
    public sealed class Entry(string name, string opType, string phase)
    {
        public string Name { get; } = name;
        public string OpType { get; } = opType;
        public string Phase { get; } = phase;
        public double Milliseconds { get; internal set; }
        public int Calls { get; internal set; }
    }

    public IEnumerable<Entry> Entries => _entries.Values;

    public void Add(string name, string opType, string phase, long startTimestamp)
    {
        double ms = Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;
        string key = phase + "\0" + name;
        if (!_entries.TryGetValue(key, out var e)) _entries[key] = e = new Entry(name, opType, phase);
        e.Milliseconds += ms;
        e.Calls++;
    }

    private readonly Dictionary<(string OpType, string Part), double> _parts = [];

    /// <summary>Time of one part of an op's phase (e.g. Conv backward's data and weight gradients): listed under
    /// <see cref="Summary"/>, not added to the total (the enclosing node's entry already counts it).</summary>
    public void AddPart(string opType, string part, long startTimestamp)
    {
        double ms = Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;
        _parts[(opType, part)] = _parts.GetValueOrDefault((opType, part)) + ms;
    }

    public void Clear()
    {
        _entries.Clear();
        _parts.Clear();
    }

    /// <summary>Time per op type and phase, largest first: "Conv forward 812.3 ms (41%)".</summary>
    public string Summary(int top = 40)
    {
        double total = _entries.Values.Sum(e => e.Milliseconds);
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"total {total:F1} ms");
        foreach (var g in _entries.Values.GroupBy(e => (e.OpType, e.Phase)).OrderByDescending(g => g.Sum(e => e.Milliseconds)).Take(top))
        {
            double ms = g.Sum(e => e.Milliseconds);
            sb.AppendLine($"  {g.Key.OpType,-22} {g.Key.Phase,-9} {ms,10:F1} ms {100 * ms / Math.Max(total, 1e-9),5:F1}%");
        }
        foreach (var ((opType, part), ms) in _parts.OrderByDescending(p => p.Value))
            sb.AppendLine($"    of which {opType} {part,-20} {ms,10:F1} ms {100 * ms / Math.Max(total, 1e-9),5:F1}%");
        return sb.ToString();
    }

    /// <summary>Per-node lines, largest first.</summary>
    public string Detail(int top = 40)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var e in _entries.Values.OrderByDescending(e => e.Milliseconds).Take(top))
            sb.AppendLine($"  {e.Name,-36} {e.OpType,-20} {e.Phase,-9} {e.Milliseconds / Math.Max(1, e.Calls),9:F2} ms/call x{e.Calls}");
        return sb.ToString();
    }
}

using Shrink.Ops;

namespace Shrink.Graph;

/// <summary>One operator application: reads <see cref="Inputs"/>, writes <see cref="Outputs"/>.</summary>
public sealed class Node
{
    internal Node(string name, Operator op)
    {
        Name = name;
        Op = op;
    }

    public string Name { get; internal set; }
    public Operator Op { get; internal set; }
    public IReadOnlyList<Value> Inputs => _inputs;
    public IReadOnlyList<Value> Outputs => _outputs;
    internal readonly List<Value> _inputs = [];
    internal readonly List<Value> _outputs = [];

    public string OpType => Op.OpType;

    /// <summary>The input at <paramref name="index"/> as a parameter, or null when it is absent or computed.</summary>
    public Parameter? ParameterInput(int index) => index < _inputs.Count ? _inputs[index].Parameter : null;

    /// <summary>"node 'conv1' (Conv)": how errors name a node.</summary>
    public string Describe() => $"node '{Name}' ({OpType})";

    public override string ToString() =>
        $"{Name}: {OpType}({string.Join(", ", _inputs.Select(v => v.Name))}) -> {string.Join(", ", _outputs.Select(v => v.ToString()))}";
}

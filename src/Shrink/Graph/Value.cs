using Shrink.Tensors;

namespace Shrink.Graph;

/// <summary>
/// An edge of the graph: a tensor produced by one node (or fed from outside, or held as a parameter) and
/// read by any number of nodes. Its <see cref="Shape"/> may have a dynamic batch dimension.
/// </summary>
public sealed class Value
{
    internal Value(string name, Shape shape)
    {
        Name = name;
        Shape = shape;
    }

    public string Name { get; internal set; }

    /// <summary>Inferred shape; the batch dimension is usually <see cref="Shape.Dynamic"/>.</summary>
    public Shape Shape { get; internal set; }

    /// <summary>The node computing this value; null for graph inputs and parameters.</summary>
    public Node? Producer { get; internal set; }

    /// <summary>Set when the value is a stored tensor (an ONNX initializer): weights, biases, running statistics.</summary>
    public Parameter? Parameter { get; internal set; }

    public bool IsParameter => Parameter is not null;

    /// <summary>Nodes reading this value (a node reading it twice appears twice).</summary>
    public IReadOnlyList<Node> Consumers => _consumers;
    internal readonly List<Node> _consumers = [];

    public override string ToString() => $"{Name}{Shape}";
}

/// <summary>
/// A stored tensor of the model with its gradient. Frozen parameters (<see cref="Trainable"/> false, e.g. batch
/// norm running statistics or layers the conductor freezes) get no gradient and no update.
/// </summary>
public sealed class Parameter
{
    public Parameter(string name, Tensor data, bool trainable = true)
    {
        Name = name;
        Data = data;
        Trainable = trainable;
    }

    public string Name { get; internal set; }
    public Tensor Data { get; set; }
    public bool Trainable { get; set; }

    /// <summary>Accumulated gradient, same shape as <see cref="Data"/>; allocated on first backward.</summary>
    public Tensor? Grad { get; set; }

    public Shape Shape => Data.Shape;

    public Tensor EnsureGrad()
    {
        if (Grad is null || Grad.Shape != Data.Shape) Grad = new Tensor(Data.Shape);
        return Grad;
    }

    public void ZeroGrad() => Grad?.Clear();

    public override string ToString() => $"{Name}{Shape}{(Trainable ? "" : " frozen")}";
}

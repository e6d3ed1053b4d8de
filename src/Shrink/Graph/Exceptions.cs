namespace Shrink.Graph;

/// <summary>Base of every error Shrink reports to a user: the message is meant to be printed as is.</summary>
public class ShrinkException : Exception
{
    public ShrinkException(string message) : base(message) { }
    public ShrinkException(string message, Exception inner) : base(message, inner) { }
    public ShrinkException() { }
}

/// <summary>
/// Shapes that do not fit. Operators throw it from shape inference with the shapes involved; the graph
/// re-throws it with the node's name and operator prepended.
/// </summary>
public class ShapeMismatchException : ShrinkException
{
    public ShapeMismatchException(string message) : base(message) { }
    public ShapeMismatchException(string message, Exception inner) : base(message, inner) { }
    public ShapeMismatchException() { }
}

/// <summary>A structurally broken graph (dangling value, cycle, duplicate name...), found by the verifier.</summary>
public class InvalidGraphException : ShrinkException
{
    public InvalidGraphException(string message) : base(message) { }
    public InvalidGraphException() { }
    public InvalidGraphException(string message, Exception inner) : base(message, inner) { }
}

using Shrink.Execution;
using Shrink.Graph;
using Shrink.Ops;
using Shrink.Tensors;
using Shrink.Tests.Ops;

namespace Shrink.Tests.Graphs;

public class GraphTests
{
    /// <summary>input[N,4] → Gemm(W1[3,4]) → Relu → Gemm(W2[2,3]) → output[N,2].</summary>
    private static Shrink.Graph.Graph TwoLayer(out Value hidden)
    {
        var g = new Shrink.Graph.Graph("two");
        var x = g.AddInput("input", new Shape(-1, 4));
        var w1 = g.AddParameter("fc1.weight", GradientCheck.Random(new Shape(3, 4), 1));
        var b1 = g.AddParameter("fc1.bias", GradientCheck.Random(new Shape(3), 2));
        var h = g.AddNode(new Gemm { TransB = true }, [x, w1, b1], "fc1").Outputs[0];
        hidden = g.AddNode(new Relu(), [h], "relu").Outputs[0];
        var w2 = g.AddParameter("fc2.weight", GradientCheck.Random(new Shape(2, 3), 3));
        var y = g.AddNode(new Gemm { TransB = true }, [hidden, w2], "fc2").Outputs[0];
        g.AddOutput(y);
        return g;
    }

    [Fact]
    public void Shapes_are_inferred_with_a_dynamic_batch()
    {
        var g = TwoLayer(out var hidden);
        Assert.Equal(new Shape(-1, 3), hidden.Shape);
        Assert.Equal("[N,2]", g.Outputs[0].Shape.ToString());
        Assert.Equal(3 * 4 + 3 + 2 * 3, g.ParameterCount);
        g.Verify();
    }

    [Fact]
    public void Shape_mismatch_names_node_operator_and_both_shapes()
    {
        var g = new Shrink.Graph.Graph();
        var x = g.AddInput("input", new Shape(-1, 5));
        var w = g.AddParameter("fc.weight", new Tensor(new Shape(3, 4)));
        var e = Assert.Throws<ShapeMismatchException>(() => g.AddNode(new Gemm { TransB = true }, [x, w], "fc"));
        Assert.Contains("node 'fc' (Gemm)", e.Message);
        Assert.Contains("[N,5]", e.Message);
        Assert.Contains("[3,4]", e.Message);
    }

    [Fact]
    public void Runtime_shape_mismatch_names_the_input()
    {
        var g = TwoLayer(out _);
        var e = Assert.Throws<ShapeMismatchException>(() => new Executor(g).Run(new Tensor(new Shape(2, 5))));
        Assert.Contains("'input'", e.Message);
        Assert.Contains("[2,5]", e.Message);
    }

    [Fact]
    public void Topological_order_and_clone_reproduce_outputs()
    {
        var g = TwoLayer(out _);
        var order = g.TopologicalOrder().Select(n => n.Name).ToArray();
        Assert.Equal(["fc1", "relu", "fc2"], order);
        var clone = g.Clone();
        clone.Verify();
        var x = GradientCheck.Random(new Shape(5, 4), 9);
        var a = new Executor(g).Run(x);
        var b = new Executor(clone).Run(x);
        Assert.Equal(0f, a.MaxAbsDiff(b));
        // Deep: changing the clone's weights leaves the original alone.
        clone.Parameters.First().Data.Fill(0);
        Assert.NotEqual(0f, g.Parameters.First().Data.Span[0]);
    }

    [Fact]
    public void Subgraph_head_and_tail_compose_to_the_whole_and_share_the_weights()
    {
        var g = TwoLayer(out var hidden);
        var head = g.Subgraph(["input"], [hidden.Name]);
        var tail = g.Subgraph([hidden.Name], [g.Outputs[0].Name]);
        head.Verify();
        tail.Verify();
        Assert.Equal(["fc1", "relu"], head.Nodes.Select(n => n.Name));
        Assert.Equal(["fc2"], tail.Nodes.Select(n => n.Name));
        Assert.Equal(hidden.Name, tail.Inputs.Single().Name);
        Assert.Same(g.Parameters.Last(), tail.Parameters.Single()); // shared, not copied

        var x = GradientCheck.Random(new Shape(5, 4), 9);
        using var h = new Executor(head).Run(x);
        Assert.Equal(0f, new Executor(g).Run(x).MaxAbsDiff(new Executor(tail).Run(h)));
        var e = Assert.Throws<InvalidGraphException>(() => g.Subgraph([], [g.Outputs[0].Name]));
        Assert.Contains("needs 'input'", e.Message);
    }

    [Fact]
    public void Verify_finds_a_cycle()
    {
        var g = TwoLayer(out var hidden);
        var fc1 = g.FindNode("fc1")!;
        // Rewire fc1 to read relu's output: fc1 → relu → fc1.
        g.RedirectConsumers(g["input"], hidden);
        var e = Assert.Throws<InvalidGraphException>(g.Verify);
        Assert.Contains("fc1", e.Message);
        Assert.Throws<InvalidGraphException>(() => g.TopologicalOrder());
        _ = fc1;
    }

    [Fact]
    public void Verify_finds_a_graph_without_outputs() =>
        Assert.Throws<InvalidGraphException>(() => new Shrink.Graph.Graph("empty").Verify());

    [Fact]
    public void RemoveNode_bypasses_a_pass_through_node_and_keeps_the_output_name()
    {
        var g = new Shrink.Graph.Graph();
        var x = g.AddInput("input", new Shape(-1, 4));
        var w = g.AddParameter("fc.weight", GradientCheck.Random(new Shape(3, 4), 1));
        var fc = g.AddNode(new Gemm { TransB = true }, [x, w], "fc");
        var id1 = g.AddNode(new IdentityForTest(), [fc.Outputs[0]], "id1");
        var relu = g.AddNode(new Relu(), [id1.Outputs[0]], "relu");
        var id2 = g.AddNode(new IdentityForTest(), [relu.Outputs[0]], "logits");
        g.AddOutput(id2.Outputs[0]);
        var input = GradientCheck.Random(new Shape(2, 4), 3);
        var before = new Executor(g).Run(input);

        g.RemoveNode(id1);
        g.RemoveNode(id2);

        g.Verify();
        Assert.Equal(["fc", "relu"], g.Nodes.Select(n => n.Name));
        Assert.Same(fc.Outputs[0], relu.Inputs[0]);
        Assert.Equal("logits", g.Outputs[0].Name);
        Assert.Equal(0f, before.MaxAbsDiff(new Executor(g).Run(input)));
    }

    [Fact]
    public void ReplaceNode_swaps_a_layer_for_a_subgraph_and_keeps_outputs()
    {
        var g = TwoLayer(out _);
        var x = GradientCheck.Random(new Shape(6, 4), 11);
        var expected = new Executor(g).Run(x);
        var fc2 = g.FindNode("fc2")!;
        var w = fc2.Inputs[1].Parameter!.Data;
        // fc2 (y = h·Wᵀ) → two Gemms h·I·Wᵀ: an exact factorisation through an identity factor.
        var eye = new Tensor(new Shape(3, 3));
        for (int i = 0; i < 3; i++) eye[i, i] = 1;
        var added = g.ReplaceNode(fc2, (graph, inputs) =>
        {
            var f1 = graph.AddParameter("fc2.u", eye);
            var f2 = graph.AddParameter("fc2.v", w.Clone());
            var a = graph.AddNode(new Gemm { TransB = true }, [inputs[0], f1], "fc2.a").Outputs[0];
            return graph.AddNode(new Gemm { TransB = true }, [a, f2], "fc2.b").Outputs;
        });
        Assert.Equal(2, added.Count);
        g.Verify();
        Assert.Equal(["fc1", "relu", "fc2.a", "fc2.b"], g.TopologicalOrder().Select(n => n.Name));
        Assert.Equal("fc2", g.Outputs[0].Name);
        Assert.False(g.TryGetValue("fc2.weight", out _)); // orphaned parameter dropped
        var actual = new Executor(g).Run(x);
        Assert.True(expected.MaxAbsDiff(actual) < 1e-6f);
    }

    [Fact]
    public void ReplaceNode_leaves_the_graph_unchanged_when_the_replacement_fails()
    {
        var g = TwoLayer(out _);
        var fc2 = g.FindNode("fc2")!;
        string before = string.Join(";", g.Nodes.Select(n => n.ToString()));
        int values = g.Values.Count();

        // A builder that adds a node and then fails, and one whose result has the wrong shape.
        Assert.Throws<ShapeMismatchException>(() => g.ReplaceNode(fc2, (graph, inputs) =>
        {
            var w = graph.AddParameter("fc2.u", new Tensor(new Shape(3, 3)));
            var a = graph.AddNode(new Gemm { TransB = true }, [inputs[0], w], "fc2.a").Outputs[0];
            var bad = graph.AddParameter("fc2.bad", new Tensor(new Shape(5, 7)));
            return graph.AddNode(new Gemm { TransB = true }, [a, bad], "fc2.b").Outputs;
        }));
        Assert.Throws<ShapeMismatchException>(() => g.ReplaceNode(fc2, (graph, inputs) =>
        {
            var w = graph.AddParameter("fc2.u", new Tensor(new Shape(3, 3)));
            return graph.AddNode(new Gemm { TransB = true }, [inputs[0], w], "fc2.a").Outputs;
        }));

        Assert.Equal(before, string.Join(";", g.Nodes.Select(n => n.ToString())));
        Assert.Equal(values, g.Values.Count());
        Assert.Null(g.FindNode("fc2.a"));
        Assert.Same(fc2.Outputs[0], g.Outputs[0]);
        g.Verify();
    }

    private sealed class IdentityForTest : Operator
    {
        public override string OpType => "Identity";
        public override Shape[] InferShapes(ReadOnlySpan<Shape> inputs) => [inputs[0]];
        public override void Forward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs) => outputs[0].CopyFrom(inputs[0]);
        public override void Backward(OpContext ctx, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs,
            ReadOnlySpan<Tensor> outputGrads, ReadOnlySpan<Tensor?> inputGrads) =>
            Broadcast.ReduceInto(outputGrads[0], inputGrads[0]!);
    }
}

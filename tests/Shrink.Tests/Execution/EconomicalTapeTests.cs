using Shrink.Execution;
using Shrink.Tensors;
using Shrink.Zoo;

namespace Shrink.Tests.Execution;

/// <summary>Tests that read <see cref="Shrink.Profiling.MemoryTracker"/>'s process-wide peak run alone: a test renting
/// buffers at the same time (the Winograd tests rent megabytes) would move the peak they measure.</summary>
[CollectionDefinition("TrackedMemory", DisableParallelization = true)]
public sealed class TrackedMemoryCollection;

/// <summary>Releasing activations early (the trainer's economical tape) changes nothing but memory.</summary>
[Collection("TrackedMemory")]
public class EconomicalTapeTests
{
    [Theory]
    [InlineData("resnet18")]
    [InlineData("vgg11")]
    public void Gradients_are_bit_identical_and_memory_lower(string model)
    {
        var g = ModelZoo.Create(model, new ZooInput(1, 12, 12, 10));
        var x = new Tensor(new Shape(4, 1, 12, 12));
        Init.Uniform(x, -1, 1, new Random(1));
        (float[][] Grads, long Peak) Run(bool economical)
        {
            foreach (var p in g.TrainableParameters) p.EnsureGrad().Clear();
            var state = g.Parameters.Select(p => p.Data.ToArray()).ToArray(); // running stats change in training
            Shrink.Profiling.MemoryTracker.Reset();
            long before = Shrink.Profiling.MemoryTracker.LiveBytes;
            using (var tape = Tape.Forward(g, [x], training: true, new Random(0), economical: economical))
            {
                var dy = new Tensor(tape.Output.Shape);
                Init.Uniform(dy, -1, 1, new Random(2));
                tape.Backward([dy]);
            }
            long peak = Shrink.Profiling.MemoryTracker.PeakBytes - before;
            var parameters = g.Parameters.ToArray();
            for (int i = 0; i < parameters.Length; i++) state[i].CopyTo(parameters[i].Data.Span);
            return (g.TrainableParameters.Select(p => p.Grad!.ToArray()).ToArray(), peak);
        }
        var plain = Run(false);
        var lean = Run(true);
        for (int i = 0; i < plain.Grads.Length; i++) Assert.Equal(plain.Grads[i], lean.Grads[i]);
        Assert.True(lean.Peak < plain.Peak, $"economical peak {lean.Peak} vs {plain.Peak}");
    }
}

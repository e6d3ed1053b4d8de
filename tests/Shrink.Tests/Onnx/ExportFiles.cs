using Shrink.Data;
using Shrink.Execution;
using Shrink.Onnx;
using Shrink.Tensors;

namespace Shrink.Tests.Onnx;

/// <summary>
/// When SHRINK_ONNX_EXPORT_DIR is set, tests write the models Shrink exports there (name.onnx, name.input.npy,
/// name.output.npy with Shrink's own output) for tools/check_onnx.py and tools/opencv_check.py.
/// </summary>
internal static class ExportFiles
{
    public static void Write(string name, Shrink.Graph.Graph g)
    {
        string? dir = Environment.GetEnvironmentVariable("SHRINK_ONNX_EXPORT_DIR");
        if (string.IsNullOrEmpty(dir)) return;
        Directory.CreateDirectory(dir);
        OnnxModel.Save(g, Path.Combine(dir, name + ".onnx"));
        var shape = g.Inputs[0].Shape;
        var x = OnnxTestUtil.Random(shape[0] == Shape.Dynamic ? shape.WithBatch(2) : shape, 5);
        Npy.Write(Path.Combine(dir, name + ".input.npy"), x);
        Npy.Write(Path.Combine(dir, name + ".output.npy"), new Executor(g).Run(x));
    }
}

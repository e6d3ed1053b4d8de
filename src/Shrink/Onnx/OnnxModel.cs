using Google.Protobuf;
using Shrink.IO;
using Shrink.Onnx.Proto;

namespace Shrink.Onnx;

/// <summary>
/// Reading and writing models as ONNX files, Shrink's model format.
/// <code>
/// Graph g = OnnxModel.Load("resnet.onnx");
/// OnnxModel.Save(g, "out.onnx");   // atomic: a temporary file, then a rename
/// </code>
/// Bad files end in one <see cref="OnnxImportException"/> (or <see cref="Graph.ShapeMismatchException"/> when a
/// node's shapes do not fit) whose message names the file or the node.
/// </summary>
public static class OnnxModel
{
    /// <summary>ONNX op types the importer understands (mapped to Shrink operators or folded at import).</summary>
    public static IReadOnlyList<string> SupportedOperators =>
        OpTable.ImportedOps.Concat(ConstantFolder.FoldOnly).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    public static Graph.Graph Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new OnnxImportException($"Cannot read model '{path}': {e.Message}", e);
        }
        return Load(bytes, path);
    }

    public static Graph.Graph Load(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Load(buffer.ToArray(), "stream");
    }

    private static Graph.Graph Load(byte[] bytes, string source)
    {
        if (bytes.Length == 0) throw new OnnxImportException($"'{source}' is empty, not an ONNX model.");
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            bool truncated = e.Message.Contains("ended unexpectedly", StringComparison.Ordinal) || e.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase);
            throw new OnnxImportException(truncated
                ? $"'{source}' is truncated or not an ONNX file (the protobuf data ends in the middle of a field)."
                : $"'{source}' is not an ONNX file ({e.Message.TrimEnd('.')}).", e);
        }
        return OnnxImporter.Import(model, source);
    }

    /// <summary>Writes <paramref name="graph"/> to <paramref name="path"/> atomically (temporary file in the same folder, then rename).</summary>
    public static void Save(Graph.Graph graph, string path) => AtomicFile.Write(path, OnnxExporter.Export(graph).WriteTo);

    public static void Save(Graph.Graph graph, Stream stream) => OnnxExporter.Export(graph).WriteTo(stream);
}

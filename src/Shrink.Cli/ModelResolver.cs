using Shrink.Data;
using Shrink.Graph;
using Shrink.Onnx;
using Shrink.Zoo;

namespace Shrink.Cli;

/// <summary>
/// Turns a --model argument into a graph: an .onnx file, or a zoo name — with its pretrained weights for the data set
/// when they exist (zoo/&lt;name&gt;-&lt;dataset&gt;.onnx beside the tool, in ./zoo or under $SHRINK_ZOO).
/// </summary>
public static class ModelResolver
{
    public static bool IsFile(string model) =>
        model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || model.Contains('/') || File.Exists(model);

    /// <summary>A model to evaluate or compress: a file, or a pretrained zoo model (error if there are no weights).</summary>
    public static Graph.Graph LoadTrained(string model, string? dataset)
    {
        if (IsFile(model)) return LoadFile(model);
        RequireZooName(model);
        string? path = dataset is null ? null : FindPretrained(model, dataset);
        if (path is null)
            throw new ShrinkException(dataset is null
                ? $"'{model}' is a zoo architecture; give --dataset to use its pretrained weights, or pass an .onnx file."
                : $"No pretrained '{model}' for '{dataset}' (looked for {PretrainedFileName(model, dataset)} in {string.Join(", ", ZooDirectories())}). " +
                  $"Train it with: shrink zoo train {model} --dataset {dataset}");
        return LoadFile(path);
    }

    /// <summary>A model to train: a file (fine-tuned from its weights) or a freshly initialised zoo architecture sized for the data.</summary>
    public static Graph.Graph LoadForTraining(string model, Dataset data, int seed)
    {
        if (IsFile(model)) return LoadFile(model);
        RequireZooName(model);
        return ModelZoo.Create(model, new ZooInput(data.Channels, data.Height, data.Width, data.ClassCount), seed);
    }

    /// <summary>A model to profile: a file, a pretrained zoo model when one exists for the data set, else the bare architecture.</summary>
    public static Graph.Graph LoadAny(string model, string? dataset)
    {
        if (IsFile(model)) return LoadFile(model);
        RequireZooName(model);
        if (dataset is not null && FindPretrained(model, dataset) is { } path) return LoadFile(path);
        return ModelZoo.Create(model);
    }

    public static Graph.Graph LoadFile(string path)
    {
        if (!File.Exists(path)) throw new ShrinkException($"Model file '{path}' does not exist.");
        return OnnxModel.Load(path);
    }

    public static string PretrainedFileName(string model, string dataset) =>
        $"{ModelZoo.Get(model).Name}-{DatasetCatalog.CanonicalName(dataset)}.onnx";

    public static string? FindPretrained(string model, string dataset)
    {
        string file = PretrainedFileName(model, dataset);
        return ZooDirectories().Select(d => Path.Combine(d, file)).FirstOrDefault(File.Exists);
    }

    public static IEnumerable<string> ZooDirectories()
    {
        if (Environment.GetEnvironmentVariable("SHRINK_ZOO") is { Length: > 0 } env) yield return env;
        yield return Path.Combine(Environment.CurrentDirectory, "zoo");
        yield return Path.Combine(AppContext.BaseDirectory, "zoo");
    }

    private static void RequireZooName(string model)
    {
        if (!ModelZoo.Contains(model))
            throw new ShrinkException($"'{model}' is neither an .onnx file nor a zoo model; the zoo has: {string.Join(", ", ModelZoo.Architectures.Select(a => a.Name))}.");
    }
}

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Shrink.Execution;
using Shrink.Graph;
using Shrink.Onnx;
using Shrink.Tensors;

namespace Shrink.Cli.Commands;

/// <summary>
/// <c>shrink infer</c>: runs an ONNX model on tensors read from .pb (ONNX TensorProto) or .npy files, given in graph-input
/// order, and writes its outputs as <c>output_0.pb</c>, <c>output_1.pb</c>, … (or .npy) in graph-output order. Inputs
/// are checked (count, shape, element type) before anything runs; the output folder is created and the files written
/// (all or nothing) only after the run succeeded.
/// </summary>
public static class InferCommand
{
    public static Command Create()
    {
        var model = Options.Model("An .onnx model file");
        var inputs = new Option<string[]>("--input", "-i")
        {
            Description = "An input tensor (.pb or .npy), once per graph input, in graph-input order",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var outDir = new Option<string?>("--out-dir") { Description = "Folder for output_0.pb, output_1.pb, ... (created after a successful run)" };
        var outFile = new Option<string?>("--out", "-o") { Description = "For a single-output model: the output file (.pb or .npy)" };
        var format = new Option<string>("--format") { Description = "Output file format with --out-dir", DefaultValueFactory = _ => "pb" };
        format.AcceptOnlyFromAmong("pb", "npy");
        var json = Options.Json();
        var command = new Command("infer", "Run an ONNX model on input tensors (.pb / .npy) and write its outputs") { model, inputs, outDir, outFile, format, json };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(inputs) ?? [], r.GetValue(outDir), r.GetValue(outFile), r.GetValue(format)!, new Output(r.GetValue(json))));
        return command;
    }

    public static int Run(string model, IReadOnlyList<string> inputPaths, string? outDir, string? outFile, string format, Output output)
    {
        if ((outDir is null) == (outFile is null))
            throw new ShrinkException("Give exactly one of --out-dir DIR (output_0.pb, output_1.pb, ...) or --out FILE (single-output models).");
        if (outFile is not null && !TensorFiles.IsTensorFile(outFile))
            throw new ShrinkException($"--out '{outFile}' must name a .pb or .npy file.");
        if (format is not ("pb" or "npy")) throw new ShrinkException($"--format '{format}' must be pb or npy.");
        foreach (var p in inputPaths)
            if (!TensorFiles.IsTensorFile(p)) throw new ShrinkException($"Input '{p}' must be a .pb (ONNX TensorProto) or .npy (NumPy) file.");

        var graph = ModelResolver.LoadFile(model);
        if (outFile is not null && graph.Outputs.Count != 1)
            throw new ShrinkException($"Model '{model}' has {graph.Outputs.Count} outputs; use --out-dir DIR to get output_0 ... output_{graph.Outputs.Count - 1}.");
        if (inputPaths.Count != graph.Inputs.Count)
            throw new ShrinkException($"Model '{model}' takes {graph.Inputs.Count} input{(graph.Inputs.Count == 1 ? "" : "s")} " +
                                      $"({string.Join(", ", graph.Inputs.Select(v => $"'{v.Name}' {v.Shape}"))}), got {inputPaths.Count} --input file{(inputPaths.Count == 1 ? "" : "s")}.");

        var tensors = inputPaths.Select(TensorFiles.Read).ToArray();
        graph = FitInputs(graph, tensors, inputPaths);

        long start = Stopwatch.GetTimestamp();
        var results = new Executor(graph).Run(tensors);
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;

        var files = new List<(string Path, Tensor Tensor, string? Name)>();
        for (int i = 0; i < results.Length; i++)
        {
            string path = outFile ?? Path.Combine(outDir!, $"output_{i}.{format}");
            files.Add((path, results[i], graph.Outputs[i].Name));
        }
        string? folder = outFile is null ? outDir : Path.GetDirectoryName(Path.GetFullPath(outFile));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        TensorFiles.WriteAll(files);

        output.Line($"Ran {graph.Name} on {string.Join(", ", tensors.Select(t => t.Shape.ToString()))} in {ms:F2} ms.");
        var outs = new JsonArray();
        for (int i = 0; i < files.Count; i++)
        {
            var t = files[i].Tensor;
            output.Line($"  output {i} '{files[i].Name}' {t.Shape} -> {files[i].Path}{(t.HasNonFinite() ? " (contains NaN or Inf)" : "")}");
            outs.Add(new JsonObject
            {
                ["name"] = files[i].Name,
                ["file"] = files[i].Path,
                ["shape"] = new JsonArray(t.Shape.Dims.ToArray().Select(d => (JsonNode?)d).ToArray()),
            });
        }
        output.Emit(new JsonObject { ["model"] = model, ["outputs"] = outs, ["ms"] = Math.Round(ms, 3) });
        return 0;
    }

    /// <summary>
    /// Checks every input tensor against its graph input: same rank and the same fixed dimensions, except that the
    /// batch (first) dimension may differ — freely when the graph's is dynamic, and when it is fixed as long as the
    /// graph's shapes still work out at the new batch. Returns the graph to run (a resized clone when needed).
    /// </summary>
    private static Graph.Graph FitInputs(Graph.Graph graph, Tensor[] tensors, IReadOnlyList<string> paths)
    {
        var resized = new List<(int Index, Shape Shape)>();
        for (int i = 0; i < tensors.Length; i++)
        {
            var want = graph.Inputs[i].Shape;
            var got = tensors[i].Shape;
            string Mismatch() =>
                $"Input {i} '{graph.Inputs[i].Name}' of the model expects shape {want} (N = any batch), but '{paths[i]}' holds {got}.";
            if (want.Rank != got.Rank) throw new ShapeMismatchException(Mismatch());
            for (int d = 1; d < want.Rank; d++)
                if (want[d] != Shape.Dynamic && want[d] != got[d]) throw new ShapeMismatchException(Mismatch());
            if (want.Rank > 0 && want[0] != Shape.Dynamic && want[0] != got[0]) resized.Add((i, want.WithBatch(got[0])));
        }
        if (resized.Count == 0) return graph;
        var clone = graph.Clone();
        foreach (var (index, shape) in resized)
        {
            try
            {
                clone.SetInputShape(index, shape);
            }
            catch (ShapeMismatchException e)
            {
                throw new ShapeMismatchException(
                    $"Input {index} '{graph.Inputs[index].Name}' of the model has a fixed batch of {graph.Inputs[index].Shape[0]} and the model does not work at batch {shape[0]} " +
                    $"('{paths[index]}' holds {tensors[index].Shape}): {e.Message}");
            }
        }
        return clone;
    }
}

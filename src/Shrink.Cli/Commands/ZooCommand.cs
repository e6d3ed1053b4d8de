using System.CommandLine;
using Shrink.Zoo;

namespace Shrink.Cli.Commands;

/// <summary><c>shrink zoo list</c> and <c>shrink zoo train &lt;name&gt; --dataset D</c>.</summary>
public static class ZooCommand
{
    public static Command Create()
    {
        var zoo = new Command("zoo", "The model zoo: ready architectures and pretrained weights");
        var json = Options.Json();
        var list = new Command("list", "List the architectures with parameters and MACs at 1x28x28, 10 classes") { json };
        list.SetAction(r => List(new Output(r.GetValue(json))));
        zoo.Subcommands.Add(list);
        zoo.Subcommands.Add(CreateTrain());
        return zoo;
    }

    /// <summary>
    /// <c>shrink zoo train &lt;name&gt; --dataset D</c>: train an architecture with its recipe (flags override) and write
    /// the pretrained file the resolver finds, zoo/&lt;name&gt;-&lt;dataset&gt;.onnx by default.
    /// </summary>
    private static Command CreateTrain()
    {
        var name = new Argument<string>("name") { Description = "A zoo architecture (see 'shrink zoo list')" };
        var dataset = Options.Dataset();
        var flags = new TrainFlags();
        var json = Options.Json();
        var command = new Command("train", "Train a zoo architecture with its recipe; writes zoo/<name>-<dataset>.onnx") { name, dataset, json };
        flags.AddTo(command);
        command.SetAction(r =>
        {
            string n = r.GetValue(name)!, d = r.GetValue(dataset)!;
            if (ModelResolver.IsFile(n) || !ModelZoo.Contains(n))
                throw new Shrink.Graph.ShrinkException($"'{n}' is not a zoo architecture; the zoo has: {string.Join(", ", ModelZoo.Architectures.Select(a => a.Name))}.");
            string outPath = r.GetValue(flags.Out) ?? Path.Combine("zoo", ModelResolver.PretrainedFileName(n, Shrink.Data.DatasetCatalog.CanonicalName(
                Path.GetFileName(Path.TrimEndingDirectorySeparator(d.Trim())) is { Length: > 0 } f ? f : d)));
            return TrainCommand.Run(n, d, flags.ToOptions(r, n, d), outPath, new Output(r.GetValue(json)), TrainCommand.ResumeCommand(r));
        });
        return command;
    }

    private static int List(Output output)
    {
        var rows = ModelZoo.Describe();
        // Pretrained weights: <name>-<dataset>.onnx in any zoo folder (the same file may sit in several).
        var pretrained = rows.ToDictionary(r => r.Name, r => ModelResolver.ZooDirectories().Where(Directory.Exists)
            .SelectMany(d => Directory.GetFiles(d, $"{r.Name}-*.onnx")).Select(f => Path.GetFileName(f)).Distinct().Order().ToArray());
        output.Line($"{"name",-14} {"parameters",12} {"MACs",14}  {"pretrained on",-16} description");
        foreach (var r in rows)
        {
            string on = string.Join(",", pretrained[r.Name].Select(f => f[(r.Name.Length + 1)..^".onnx".Length]));
            output.Line($"{r.Name,-14} {r.Parameters,12:N0} {r.Macs,14:N0}  {(on.Length == 0 ? "-" : on),-16} {r.Description}");
        }
        var models = new System.Text.Json.Nodes.JsonArray();
        foreach (var r in rows)
            models.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["name"] = r.Name, ["params"] = r.Parameters, ["macs"] = r.Macs, ["description"] = r.Description,
                ["pretrained"] = new System.Text.Json.Nodes.JsonArray(pretrained[r.Name].Select(f => (System.Text.Json.Nodes.JsonNode?)f).ToArray()),
            });
        output.Emit(new System.Text.Json.Nodes.JsonObject { ["models"] = models });
        return 0;
    }
}

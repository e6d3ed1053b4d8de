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
        return zoo;
    }

    private static int List(Output output)
    {
        var rows = ModelZoo.Describe();
        output.Line($"{"name",-14} {"parameters",12} {"MACs",14}  description");
        foreach (var r in rows)
            output.Line($"{r.Name,-14} {r.Parameters,12:N0} {r.Macs,14:N0}  {r.Description}");
        var models = new System.Text.Json.Nodes.JsonArray();
        foreach (var r in rows)
            models.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["name"] = r.Name, ["params"] = r.Parameters, ["macs"] = r.Macs, ["description"] = r.Description,
                ["pretrained"] = new System.Text.Json.Nodes.JsonArray(ModelResolver.ZooDirectories().Where(Directory.Exists)
                    .SelectMany(d => Directory.GetFiles(d, $"{r.Name}-*.onnx")).Select(f => (System.Text.Json.Nodes.JsonNode?)Path.GetFileName(f)).ToArray()),
            });
        output.Emit(new System.Text.Json.Nodes.JsonObject { ["models"] = models });
        return 0;
    }
}

using Shrink.Conductor;

namespace Shrink.Tests.Conductor;

/// <summary>
/// Which measured state the squeeze gives a second chance (<see cref="ConductorRun.SecondChance"/>), and the descent it
/// spends unspent allowance with (<see cref="ConductorRun.Descend(IReadOnlyList{LayerChoice}, IReadOnlyDictionary{string, int}, double, Func{LayerChoice, int, double}, int)"/>).
/// </summary>
public sealed class SqueezeTests
{
    private static readonly Dictionary<string, int> Result = new() { ["a"] = 8, ["b"] = 8, ["c"] = 8 };

    private static StateRecord State(string stage, double cost, double drop, double margin = 0.2, int a = 8, int b = 8, int c = 8, bool measured = true) => new()
    {
        Stage = stage, Ranks = new() { ["a"] = a, ["b"] = b, ["c"] = c }, CostRatio = cost, Drop = drop, Margin = margin, Measured = measured,
    };

    [Fact]
    public void The_cheapest_near_miss_cheaper_than_the_result_gets_the_chance()
    {
        var history = new List<StateRecord>
        {
            State("stage2", 0.20, 0.90, a: 6),          // misses by 0.10: within a 0.3 gain
            State("stage2", 0.19, 1.05, b: 6),          // misses by 0.25: the cheapest that qualifies
            State("stage2", 0.18, 1.20, c: 6),          // misses by 0.40: more than the gain
            State("stage2", 0.25, 0.95, a: 9),          // dearer than the result
        };
        Assert.Equal(6, ConductorRun.SecondChance(history, Result, resultCost: 0.21, gain: 0.3, maxDrop: 1)!.Ranks["b"]);
        Assert.Equal(6, ConductorRun.SecondChance(history, Result, resultCost: 0.21, gain: 0.15, maxDrop: 1)!.Ranks["a"]);
        Assert.Null(ConductorRun.SecondChance(history, Result, resultCost: 0.21, gain: 0.05, maxDrop: 1));
        Assert.Null(ConductorRun.SecondChance(history, Result, resultCost: 0.15, gain: 1, maxDrop: 1));
    }

    [Fact]
    public void States_far_from_the_result_screened_or_already_squeezed_get_none()
    {
        var history = new List<StateRecord>
        {
            State("stage1", 0.10, 1.1, a: 4, b: 4, c: 4),       // three layers away
            State("stage2", 0.12, 1.1, c: 5, measured: false),  // screened, never measured
            State("stage2", 0.14, 1.1, a: 7, b: 7),             // two layers away: allowed
        };
        var pick = ConductorRun.SecondChance(history, Result, resultCost: 0.2, gain: 0.5, maxDrop: 1);
        Assert.Equal(0.14, pick!.CostRatio);
        history.Add(pick with { Stage = "squeeze", Drop = 1.3, Accepted = false });
        Assert.Null(ConductorRun.SecondChance(history, Result, resultCost: 0.2, gain: 0.5, maxDrop: 1));
    }

    /// <summary>Three layers on ranks 1..8 with the same curve (free down to rank 5, then 0.5, 1, 2, 3 points); a notch of
    /// layer <c>c</c> is worth three of <c>a</c>, one of <c>b</c> two.</summary>
    private static readonly LayerChoice[] Layers = new[] { "a", "b", "c" }.Select(n => new LayerChoice
    {
        Name = n, Kind = "linear", Optimize = true, Ladder = [1, 2, 3, 4, 5, 6, 7, 8], Curve = [3, 2, 1, 0.5, 0, 0, 0, 0],
    }).ToArray();

    private static double Cost(LayerChoice l, int index) => (l.Name[0] - 'a' + 1) * (index + 1);

    [Fact]
    public void The_descent_takes_the_cheapest_points_first_and_moves_at_most_the_layers_allowed()
    {
        Dictionary<string, int> Top() => new() { ["a"] = 8, ["b"] = 8, ["c"] = 8 };
        Assert.Equal(new Dictionary<string, int> { ["a"] = 5, ["b"] = 5, ["c"] = 5 }, ConductorRun.Descend(Layers, Top(), 0, Cost));
        Assert.Equal(new Dictionary<string, int> { ["a"] = 8, ["b"] = 5, ["c"] = 5 }, ConductorRun.Descend(Layers, Top(), 0, Cost, maxLayers: 2));
        // Half a point of allowance buys c's next notch (3 per point), not b's (2 per point).
        Assert.Equal(new Dictionary<string, int> { ["a"] = 8, ["b"] = 5, ["c"] = 4 }, ConductorRun.Descend(Layers, Top(), 0.5, Cost, maxLayers: 2));
        Assert.Equal(new Dictionary<string, int> { ["a"] = 8, ["b"] = 8, ["c"] = 2 }, ConductorRun.Descend(Layers, Top(), 2, Cost, maxLayers: 1));
    }
}

using Shrink.Data;
using Shrink.Tensors;

namespace Shrink.Tests.Goldens;

/// <summary>
/// A golden case made by a script in tools/ with PyTorch and saved as Goldens/&lt;dir&gt;/&lt;name&gt;.npz (np.savez).
/// Arrays are looked up by name; float arrays become tensors.
/// </summary>
public sealed class Golden
{
    private readonly Dictionary<string, Npy.Array> _arrays;

    private Golden(string name, Dictionary<string, Npy.Array> arrays)
    {
        Name = name;
        _arrays = arrays;
    }

    public string Name { get; }

    public static Golden Load(string relativePath)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Goldens", relativePath + ".npz");
        if (!File.Exists(path)) throw new FileNotFoundException($"Golden file missing: {path} (regenerate with the script in tools/).");
        return new Golden(relativePath, Npy.ReadNpz(path));
    }

    /// <summary>Names of all cases in a golden directory (for [Theory] data).</summary>
    public static IEnumerable<object[]> Cases(string dir) =>
        Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "Goldens", dir), "*.npz")
            .Select(f => new object[] { $"{dir}/{Path.GetFileNameWithoutExtension(f)}" })
            .OrderBy(o => (string)o[0], StringComparer.Ordinal);

    public bool Has(string key) => _arrays.ContainsKey(key);
    public Tensor Tensor(string key) => Get(key).ToTensor();
    public double Scalar(string key) => Get(key).Values[0];
    public int[] Ints(string key) => Get(key).Values.Select(v => (int)v).ToArray();

    public Npy.Array Get(string key) =>
        _arrays.TryGetValue(key, out var a) ? a : throw new KeyNotFoundException($"Golden '{Name}' has no array '{key}' (has {string.Join(", ", _arrays.Keys)}).");

    /// <summary>Asserts |actual - expected| ≤ atol + rtol·|expected| elementwise, naming the first bad element.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double rtol = 1e-4, double atol = 1e-5, string what = "")
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: shape {actual.Shape}, expected {expected.Shape}");
        var e = expected.Span;
        var a = actual.Span;
        for (int i = 0; i < e.Length; i++)
        {
            double diff = Math.Abs(e[i] - a[i]);
            if (!(diff <= atol + rtol * Math.Abs(e[i])))
                Assert.Fail($"{what}: element {i} is {a[i]:G8}, expected {e[i]:G8} (diff {diff:G3})");
        }
    }
}

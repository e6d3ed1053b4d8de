namespace Shrink.Onnx;

/// <summary>
/// The one table of operator mappings, for import (by ONNX op type) and export (by Shrink operator class): every
/// concrete <see cref="OpMapping"/> in this assembly, found once by reflection.
/// </summary>
internal static class OpTable
{
    private static readonly Lazy<(Dictionary<string, OpMapping> ByOnnx, Dictionary<Type, OpMapping> ByShrink)> Table = new(Build);

    public static OpMapping? ForOnnx(string opType) => Table.Value.ByOnnx.GetValueOrDefault(opType);

    public static OpMapping? ForShrink(Type opClass) => Table.Value.ByShrink.GetValueOrDefault(opClass);

    /// <summary>ONNX op types the importer maps to Shrink operators (constant-folded ones are in <see cref="ConstantFolder"/>).</summary>
    public static IEnumerable<string> ImportedOps => Table.Value.ByOnnx.Keys.Order(StringComparer.Ordinal);

    private static (Dictionary<string, OpMapping>, Dictionary<Type, OpMapping>) Build()
    {
        var byOnnx = new Dictionary<string, OpMapping>(StringComparer.Ordinal);
        var byShrink = new Dictionary<Type, OpMapping>();
        var types = typeof(OpMapping).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(OpMapping).IsAssignableFrom(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal);
        foreach (var t in types)
        {
            var m = (OpMapping)Activator.CreateInstance(t, nonPublic: true)!;
            foreach (var onnx in m.OnnxTypes)
                if (!byOnnx.TryAdd(onnx, m))
                    throw new InvalidOperationException($"Two ONNX mappings for {onnx}: {byOnnx[onnx].GetType().Name} and {t.Name}.");
            if (m.ShrinkType is { } s && !byShrink.TryAdd(s, m))
                throw new InvalidOperationException($"Two export mappings for {s.Name}: {byShrink[s].GetType().Name} and {t.Name}.");
        }
        return (byOnnx, byShrink);
    }
}

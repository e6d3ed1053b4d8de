using MathNet.Numerics.LinearAlgebra;
using Shrink.Compression.LowRank;
using Shrink.Data;
using Shrink.Execution;
using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Conductor;

/// <summary>
/// Cheap recovery after factorising (the playbook's first step): the last factor of each factorised layer — the 1x1 conv
/// "pw2" of CP/Tucker-2/SVD convs, the Gemm "svd.u" of dense layers — and its bias are re-fitted by ridge-regularised
/// least squares so that, on a few batches, the layer reproduces the original layer's outputs from the inputs the
/// factorised model actually feeds it. One pass; the normal equations are accumulated batch by batch.
/// </summary>
public static class LeastSquaresRefit
{
    /// <summary>Re-fits, in place, the last factor of every layer in <paramref name="layers"/> of <paramref name="composed"/>.</summary>
    public static void Apply(Graph.Graph composed, Graph.Graph original, IReadOnlyCollection<string> layers, Dataset data,
        Normalization normalization, int samples = 256, int batchSize = 64)
    {
        // Layer by layer in graph order, so that each fit sees the inputs of the already re-fitted layers before it.
        var order = composed.TopologicalOrder().Select((n, i) => (n.Name, i)).ToDictionary(x => x.Name, x => x.i);
        foreach (string layer in layers.OrderBy(l => order.Where(kv => kv.Key.StartsWith(l + ".", StringComparison.Ordinal)).Select(kv => kv.Value).DefaultIfEmpty(int.MaxValue).Min()))
            ApplyOne(composed, original, layer, data, normalization, samples, batchSize);
    }

    private static void ApplyOne(Graph.Graph composed, Graph.Graph original, string layer, Dataset data,
        Normalization normalization, int samples, int batchSize)
    {
        var fits = new List<Fit>();
        var probe = composed.Clone();
        var reference = original.Clone();
        {
            var last = probe.Nodes.LastOrDefault(n => n.Name.StartsWith(layer + ".", StringComparison.Ordinal)
                && (n.Name.EndsWith(".pw2", StringComparison.Ordinal) || n.Name.EndsWith(".svd.u", StringComparison.Ordinal)));
            if (last is null || !reference.TryGetValue(last.Outputs[0].Name, out var y)) return;
            bool conv = last.Op is Conv;
            if (!conv && last.Op is not Gemm { TransB: true, TransA: false }) return;
            var w = last.ParameterInput(1)!;
            int outs = w.Shape[0], feats = w.Shape[1];
            bool bias = last.Inputs.Count > 2 && last.Inputs[2].Parameter is not null;
            fits.Add(new Fit(last.Name, conv, outs, feats, bias, probe.Outputs.Count, reference.Outputs.Count));
            probe.AddOutput(last.Inputs[0]);
            reference.AddOutput(y);
        }
        if (fits.Count == 0) return;
        var a = new Executor(probe);
        var b = new Executor(reference);
        int n = Math.Min(samples, data.Count);
        var loader = new DataLoader(data, Enumerable.Range(0, n).ToArray(), DataLoaderOptions.Evaluation(batchSize, normalization));
        foreach (var batch in loader.Epoch(0))
        {
            var za = a.Run([batch.Images]);
            var yb = b.Run([batch.Images]);
            try
            {
                foreach (var f in fits) f.Accumulate(za[f.ProbeOutput], yb[f.ReferenceOutput]);
            }
            finally
            {
                foreach (var t in za) t.Dispose();
                foreach (var t in yb) t.Dispose();
            }
        }
        foreach (var f in fits) f.Solve(composed.FindNode(f.Node)!);
    }

    private sealed class Fit(string node, bool conv, int outs, int feats, bool bias, int probeOutput, int referenceOutput)
    {
        private readonly int _d = feats + (bias ? 1 : 0);
        private double[,]? _zz;
        private double[,]? _zy;

        public string Node => node;
        public int ProbeOutput => probeOutput;
        public int ReferenceOutput => referenceOutput;

        public void Accumulate(Tensors.Tensor z, Tensors.Tensor y)
        {
            _zz ??= new double[_d, _d];
            _zy ??= new double[_d, outs];
            int batch = z.Shape[0];
            int pixels = conv ? z.Shape[2] * z.Shape[3] : 1;
            if (conv && (y.Shape[2] * y.Shape[3] != pixels)) return; // not a same-resolution 1x1 factor: leave it
            var zs = z.Span;
            var ys = y.Span;
            var row = new double[_d];
            for (int i = 0; i < batch; i++)
                for (int p = 0; p < pixels; p++)
                {
                    for (int k = 0; k < feats; k++) row[k] = zs[(i * feats + k) * pixels + p];
                    if (bias) row[feats] = 1;
                    for (int r = 0; r < _d; r++)
                    {
                        double v = row[r];
                        if (v == 0) continue;
                        for (int c = 0; c < _d; c++) _zz[r, c] += v * row[c];
                        for (int o = 0; o < outs; o++) _zy[r, o] += v * ys[(i * outs + o) * pixels + p];
                    }
                }
        }

        public void Solve(Node target)
        {
            if (_zz is null || _zy is null) return;
            var a = Matrix<double>.Build.DenseOfArray(_zz);
            double ridge = 1e-4 * Math.Max(1e-12, a.Diagonal().Sum() / _d);
            for (int i = 0; i < _d; i++) a[i, i] += ridge;
            var x = a.Solve(Matrix<double>.Build.DenseOfArray(_zy)); // [d, outs]
            if (x.Enumerate().Any(v => !double.IsFinite(v))) return;
            var w = target.ParameterInput(1)!.Data;
            for (int o = 0; o < outs; o++)
                for (int k = 0; k < feats; k++) w[o * feats + k] = (float)x[k, o];
            if (bias && target.ParameterInput(2) is { } bp)
            {
                float scale = target.Op is Gemm g && g.Beta != 0 ? 1 / g.Beta : 1;
                for (int o = 0; o < outs; o++) bp.Data[o] = (float)x[feats, o] * scale;
            }
        }
    }
}

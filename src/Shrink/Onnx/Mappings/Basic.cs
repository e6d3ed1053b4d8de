using Shrink.Graph;
using Shrink.Ops;

namespace Shrink.Onnx.Mappings;

internal sealed class ReluMapping : SimpleMapping<Relu>;

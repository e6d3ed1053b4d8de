using Shrink.Ops;

namespace Shrink.Onnx.Mappings;

// Operators whose ONNX and Shrink forms are the same: no attributes, same inputs in the same order.

internal sealed class ReluMapping : SimpleMapping<Relu>;
internal sealed class SigmoidMapping : SimpleMapping<Sigmoid>;
internal sealed class TanhMapping : SimpleMapping<Tanh>;
internal sealed class IdentityMapping : SimpleMapping<Identity>;
internal sealed class AddMapping : SimpleMapping<Add>;
internal sealed class SubMapping : SimpleMapping<Sub>;
internal sealed class MulMapping : SimpleMapping<Mul>;
internal sealed class DivMapping : SimpleMapping<Div>;
internal sealed class MatMulMapping : SimpleMapping<MatMul>;
internal sealed class PReluMapping : SimpleMapping<PRelu>;
internal sealed class GlobalAveragePoolMapping : SimpleMapping<GlobalAveragePool>;
internal sealed class GlobalMaxPoolMapping : SimpleMapping<GlobalMaxPool>;

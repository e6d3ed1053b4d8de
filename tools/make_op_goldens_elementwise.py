"""Golden data for the element-wise, broadcasting and shape operators (and Relu, Gemm), from PyTorch.

Run: /usr/bin/python3 tools/make_op_goldens_elementwise.py
Writes tests/Shrink.Tests/Goldens/ops/<op>_<case>.npz, read by tests/Shrink.Tests/Ops/ElementwiseGoldenTests.cs.
Each case holds in0, in1, ... (inputs), y (output), dy (a fixed upstream gradient), din0, din1, ... (input
gradients) and the operator's attributes as small arrays (axis, perm, alpha, min, max, shape, trans_a...).
Dropout has no golden: its mask comes from a different RNG (tested by statistics instead).
"""
import numpy as np
import torch
import torch.nn.functional as F

from goldens_common import save, seeded


def rand(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(tuple(shape), dtype=torch.float64) * (hi - lo) + lo)


def away(*shape, lo=0.1, hi=1.0):
    """Magnitudes in [lo, hi] with random signs: away from zero and from kinks at 0."""
    mag = rand(*shape, lo=lo, hi=hi)
    sign = torch.where(torch.rand(tuple(shape)) < 0.5, -1.0, 1.0).double()
    return mag * sign


def case(name, fn, inputs, **attrs):
    """Runs fn in float64 (so the golden is exact to float32 rounding), saves inputs, output, dy and input grads."""
    xs = [t.clone().double().requires_grad_(True) for t in inputs]
    y = fn(*xs)
    dy = rand(*y.shape)
    grads = torch.autograd.grad(y, xs, dy, allow_unused=True)
    # .contiguous(): a permuted result may be Fortran-ordered, which the C# reader refuses.
    arrays = {f"in{i}": x.detach().contiguous() for i, x in enumerate(xs)}
    arrays.update({f"din{i}": (g if g is not None else torch.zeros_like(x)).contiguous() for i, (g, x) in enumerate(zip(grads, xs))})
    arrays["y"] = y.detach().contiguous()
    arrays["dy"] = dy
    for k, v in attrs.items():
        arrays[k] = np.atleast_1d(np.asarray(v))
    save("ops", name, **arrays)


def main():
    seeded(0)
    nchw = (2, 3, 4, 5)

    # ---- activations ----
    case("relu_nchw", torch.relu, [away(*nchw)])
    case("clip_relu6", lambda x: torch.clamp(x, 0, 6), [away(*nchw, lo=0.1, hi=5.8)], min=0.0, max=6.0)
    xc = away(4, 7, lo=0.1, hi=2.0)
    xc = torch.where((xc.abs() - 0.5).abs() < 0.05, xc * 0.8, xc)
    case("clip_sym", lambda x: torch.clamp(x, -0.5, 0.5), [xc], min=-0.5, max=0.5)
    case("clip_min_only", lambda x: torch.clamp(x, min=0.2), [away(3, 9)], min=0.2)
    case("leakyrelu_default", lambda x: F.leaky_relu(x, 0.01), [away(*nchw)], alpha=0.01)
    case("leakyrelu_alpha02", lambda x: F.leaky_relu(x, 0.2), [away(5, 6)], alpha=0.2)
    case("prelu_channel", lambda x, w: F.prelu(x, w), [away(*nchw), rand(3, lo=0.05, hi=0.5)], slope_shape=[3, 1, 1])
    case("prelu_shared", lambda x, w: F.prelu(x, w), [away(4, 6), torch.tensor([0.25], dtype=torch.float64)], slope_shape=[1])
    case("prelu_rank2", lambda x, w: F.prelu(x, w), [away(4, 6), rand(6, lo=0.05, hi=0.5)], slope_shape=[6])
    case("sigmoid_nchw", torch.sigmoid, [rand(*nchw, lo=-4, hi=4)])
    case("sigmoid_wide", torch.sigmoid, [rand(3, 50, lo=-20, hi=20)])
    case("silu_nchw", F.silu, [rand(*nchw, lo=-5, hi=5)])
    case("tanh_nchw", torch.tanh, [rand(*nchw, lo=-3, hi=3)])
    # PyTorch's hardsigmoid (alpha 1/6, beta 1/2) and the ONNX default (0.2, 0.5) written out; away from the kinks.
    xh = away(*nchw, lo=0.1, hi=6.0)
    xh = torch.where(((xh.abs() - 3).abs() < 0.1), xh * 0.9, xh)
    case("hardsigmoid_torch", F.hardsigmoid, [xh], alpha=1 / 6, beta=0.5)
    xo = away(6, 7, lo=0.1, hi=5.0)
    xo = torch.where(((xo.abs() - 2.5).abs() < 0.1), xo * 0.9, xo)
    case("hardsigmoid_onnx", lambda x: torch.clamp(0.2 * x + 0.5, 0, 1), [xo], alpha=0.2, beta=0.5)
    case("hardswish_nchw", F.hardswish, [xh])

    # ---- broadcasting binary ops ----
    shapes = {
        "same": (nchw, nchw),
        "channel": (nchw, (3, 1, 1)),
        "scalar": (nchw, ()),
        "outer": ((1, 5), (4, 1)),
        "rank": ((5,), (2, 3, 5)),
    }
    for op, fn in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("div", torch.div)]:
        for tag, (sa, sb) in shapes.items():
            b = away(*sb, lo=0.5, hi=1.5) if op == "div" else rand(*sb)
            case(f"{op}_{tag}", fn, [rand(*sa), b])
    case("sub_channel_first", torch.sub, [rand(3, 1, 1), rand(*nchw)])
    case("div_scalar_first", torch.div, [rand(), away(3, 4, lo=0.5, hi=1.5)])

    # ---- MatMul and Gemm ----
    case("matmul_2d", torch.matmul, [rand(3, 4), rand(4, 5)])
    case("matmul_batch", torch.matmul, [rand(2, 3, 4), rand(2, 4, 5)])
    case("matmul_bcast", torch.matmul, [rand(2, 1, 3, 4), rand(3, 4, 2)])
    case("matmul_weight", torch.matmul, [rand(2, 3, 4), rand(4, 5)])
    for ta in (0, 1):
        for tb in (0, 1):
            a = rand(4, 3) if ta else rand(3, 4)
            b = rand(5, 4) if tb else rand(4, 5)
            case(f"gemm_t{ta}{tb}", lambda a, b, c, ta=ta, tb=tb: 0.7 * ((a.T if ta else a) @ (b.T if tb else b)) + 1.3 * c,
                 [a, b, rand(3, 5)], trans_a=ta, trans_b=tb, alpha=0.7, beta=1.3)
    case("gemm_linear", lambda x, w, b: F.linear(x, w, b), [rand(6, 8), rand(4, 8), rand(4)],
         trans_a=0, trans_b=1, alpha=1.0, beta=1.0)
    case("gemm_row_c", lambda a, b, c: a @ b + c, [rand(3, 4), rand(4, 5), rand(1, 5)], trans_a=0, trans_b=0, alpha=1.0, beta=1.0)
    case("gemm_no_c", lambda a, b: a @ b, [rand(3, 4), rand(4, 5)], trans_a=0, trans_b=0, alpha=1.0, beta=1.0)

    # ---- shape ops ----
    for axis in (0, 1, 3, -1):
        ins = [rand(*[2 if d == axis % 4 else s for d, s in enumerate(nchw)]) for _ in range(2)] + [rand(*nchw)]
        case(f"concat_axis{axis}".replace("-", "m"), lambda *xs, axis=axis: torch.cat(xs, axis), ins, axis=axis)
    for axis in (0, 1, 2, -1):
        case(f"flatten_axis{axis}".replace("-", "m"),
             lambda x, axis=axis: x.reshape(int(np.prod(x.shape[:axis % 4])) if axis != 0 else 1, -1), [rand(*nchw)], axis=axis)
    case("reshape_infer", lambda x: x.reshape(2, -1), [rand(*nchw)], shape=[0, -1])
    case("reshape_split", lambda x: x.reshape(2, 3, 2, 10), [rand(*nchw)], shape=[0, 3, 2, -1])
    case("reshape_full", lambda x: x.reshape(6, 20), [rand(*nchw)], shape=[6, 20])
    for perm in ((0, 2, 3, 1), (3, 1, 0, 2), (0, 1, 3, 2)):
        case("transpose_" + "".join(map(str, perm)), lambda x, perm=perm: x.permute(*perm), [rand(*nchw)], perm=list(perm))
    case("transpose_default", lambda x: x.permute(2, 1, 0), [rand(3, 4, 5)])
    for axis in (1, -1, 0):
        case(f"softmax_axis{axis}".replace("-", "m"), lambda x, axis=axis: torch.softmax(x, axis), [rand(*nchw, lo=-3, hi=3)], axis=axis)
    case("softmax_large", lambda x: torch.softmax(x, -1), [rand(4, 10, lo=-3, hi=3) + 100.0], axis=-1)


if __name__ == "__main__":
    main()

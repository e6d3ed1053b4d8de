"""Golden data for the spatial operators (Conv, BatchNormalization, MaxPool, AveragePool, GlobalAveragePool,
GlobalMaxPool, Pad) from PyTorch. Run with Debian's PyTorch:  /usr/bin/python3 tools/make_op_goldens_spatial.py

Each case stores the inputs, the attributes in ONNX form (int64 arrays: strides, pads as top,left,bottom,right,
dilations, group, kernel_shape, ceil_mode, count_include_pad; Pad's pads in ONNX order), the output, a fixed
upstream gradient dy and the resulting gradients. Asymmetric pads, which PyTorch's layers do not take, are applied
with F.pad first (−inf for max pooling, 0 otherwise), which is exactly the ONNX semantics.
"""
import numpy as np
import torch
import torch.nn.functional as F

from goldens_common import save, seeded


def rand(*shape):
    return (torch.rand(*shape) * 2 - 1).requires_grad_(True)


def distinct(*shape):
    n = int(np.prod(shape))
    v = (torch.randperm(n).float() - n / 2) * 0.05
    return v.reshape(*shape).requires_grad_(True)


def grads(y, *leaves):
    dy = torch.rand(*y.shape) * 2 - 1
    gs = torch.autograd.grad(y, leaves, dy)
    return dy, gs


def conv(name, n, cin, h, w, cout, k, stride=1, pads=(0, 0, 0, 0), dil=1, group=1, bias=True):
    kh, kw = (k, k) if isinstance(k, int) else k
    x = rand(n, cin, h, w)
    wt = rand(cout, cin // group, kh, kw)
    b = rand(cout) if bias else None
    t, l, bo, r = pads
    y = F.conv2d(F.pad(x, (l, r, t, bo)), wt, b, stride=stride, dilation=dil, groups=group)
    leaves = (x, wt) + ((b,) if bias else ())
    dy, gs = grads(y, *leaves)
    extra = dict(b=b, db=gs[2]) if bias else {}
    save("ops", "conv_" + name, x=x, w=wt, y=y, dy=dy, dx=gs[0], dw=gs[1],
         strides=[stride, stride], pads=list(pads), dilations=[dil, dil], group=[group], **extra)


def bn(name, shape, training, momentum=0.1, eps=1e-5):
    c = shape[1]
    x = (torch.rand(*shape) * 4 - 1).requires_grad_(True)
    scale = (torch.rand(c) + 0.5).requires_grad_(True)
    bias = rand(c)
    mean = torch.rand(c) * 2 - 1
    var = torch.rand(c) + 0.5
    mean_out, var_out = mean.clone(), var.clone()
    y = F.batch_norm(x, mean_out, var_out, scale, bias, training=training, momentum=momentum, eps=eps)
    dy, gs = grads(y, x, scale, bias)
    save("ops", "bn_" + name, x=x, scale=scale, bias=bias, mean=mean, var=var, y=y, dy=dy,
         dx=gs[0], dscale=gs[1], dbias=gs[2], mean_out=mean_out, var_out=var_out,
         training=[int(training)], epsilon=np.array([eps], np.float32), momentum=np.array([1 - momentum], np.float32))


def maxpool(name, shape, k, stride, pads=(0, 0, 0, 0), dil=1, ceil=False):
    x = distinct(*shape)
    t, l, bo, r = pads
    if t == bo and l == r and t == l:
        y = F.max_pool2d(x, k, stride, padding=t, dilation=dil, ceil_mode=ceil)
    else:
        assert not ceil
        y = F.max_pool2d(F.pad(x, (l, r, t, bo), value=float("-inf")), k, stride, dilation=dil)
    dy, gs = grads(y, x)
    save("ops", "maxpool_" + name, x=x, y=y, dy=dy, dx=gs[0], kernel_shape=[k, k], strides=[stride, stride],
         pads=list(pads), dilations=[dil, dil], ceil_mode=[int(ceil)])


def avgpool(name, shape, k, stride, pads=(0, 0, 0, 0), ceil=False, include_pad=False):
    x = rand(*shape)
    t, l, bo, r = pads
    if t == bo and l == r and t == l:
        y = F.avg_pool2d(x, k, stride, padding=t, ceil_mode=ceil, count_include_pad=include_pad)
    else:
        assert include_pad and not ceil
        y = F.avg_pool2d(F.pad(x, (l, r, t, bo)), k, stride)
    dy, gs = grads(y, x)
    save("ops", "avgpool_" + name, x=x, y=y, dy=dy, dx=gs[0], kernel_shape=[k, k], strides=[stride, stride],
         pads=list(pads), ceil_mode=[int(ceil)], count_include_pad=[int(include_pad)])


def main():
    seeded(0)
    conv("basic", 2, 3, 6, 5, 4, 3, pads=(1, 1, 1, 1))
    conv("stride2_asym", 1, 3, 8, 7, 4, 3, stride=2, pads=(0, 1, 2, 1))
    conv("dilation2_groups2", 1, 4, 8, 7, 6, 3, pads=(2, 2, 2, 2), dil=2, group=2)
    conv("depthwise", 2, 5, 7, 7, 5, 3, stride=2, pads=(1, 1, 1, 1), group=5)
    conv("depthwise_mult2", 1, 3, 6, 5, 6, 3, pads=(1, 1, 1, 1), group=3, bias=False)
    conv("pointwise", 2, 6, 4, 5, 3, 1, bias=False)
    conv("kx1", 1, 4, 7, 5, 4, (3, 1), pads=(1, 0, 1, 0), group=4, bias=False)
    conv("1xk", 1, 4, 5, 7, 4, (1, 3), pads=(0, 1, 0, 1), group=4, bias=False)
    conv("batch1_odd", 1, 3, 11, 9, 3, 5, stride=3, pads=(2, 2, 2, 2))

    bn("train", (2, 4, 4, 5), training=True)
    bn("train_batch1", (1, 3, 4, 3), training=True, momentum=0.3, eps=1e-3)
    bn("eval", (2, 4, 3, 5), training=False)

    maxpool("k2s2", (2, 3, 6, 6), 2, 2)
    maxpool("k3s2p1", (2, 3, 7, 7), 3, 2, pads=(1, 1, 1, 1))
    maxpool("ceil", (1, 2, 7, 6), 3, 2, ceil=True)
    maxpool("ceil_pad", (1, 2, 8, 8), 3, 2, pads=(1, 1, 1, 1), ceil=True)
    maxpool("asym", (1, 2, 7, 8), 2, 2, pads=(1, 0, 0, 1))
    maxpool("dil2", (1, 2, 9, 9), 3, 2, pads=(1, 1, 1, 1), dil=2)

    avgpool("k2s2", (2, 3, 6, 6), 2, 2)
    avgpool("k3s2p1_incl", (2, 3, 7, 7), 3, 2, pads=(1, 1, 1, 1), include_pad=True)
    avgpool("k3s2p1_excl", (2, 3, 7, 7), 3, 2, pads=(1, 1, 1, 1), include_pad=False)
    avgpool("ceil_incl", (1, 2, 8, 8), 3, 2, pads=(1, 1, 1, 1), ceil=True, include_pad=True)
    avgpool("ceil_excl", (1, 2, 8, 8), 3, 2, pads=(1, 1, 1, 1), ceil=True, include_pad=False)
    avgpool("asym_incl", (1, 2, 7, 6), 2, 2, pads=(1, 0, 0, 1), include_pad=True)

    x = rand(2, 3, 5, 4)
    y = F.adaptive_avg_pool2d(x, 1)
    dy, gs = grads(y, x)
    save("ops", "gap_basic", x=x, y=y, dy=dy, dx=gs[0])
    x = distinct(2, 3, 5, 4)
    y = F.adaptive_max_pool2d(x, 1)
    dy, gs = grads(y, x)
    save("ops", "gmp_basic", x=x, y=y, dy=dy, dx=gs[0])

    for name, shape, pads, value in [("2d", (2, 3, 4, 5), (0, 0, 1, 2, 0, 0, 2, 0), 0.0),
                                     ("rank3_value", (2, 3, 4), (1, 0, 2, 0, 2, 1), -1.5)]:
        x = rand(*shape)
        r = len(shape)
        torch_pads = []
        for a in reversed(range(r)):
            torch_pads += [pads[a], pads[a + r]]
        y = F.pad(x, torch_pads, value=value)
        dy, gs = grads(y, x)
        save("ops", "pad_" + name, x=x, y=y, dy=dy, dx=gs[0], pads=list(pads), value=np.array([value], np.float32))


if __name__ == "__main__":
    main()

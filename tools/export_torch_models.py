"""Exports small real PyTorch models to ONNX for Shrink's import tests.

Run with Debian's PyTorch:  /usr/bin/python3 tools/export_torch_models.py

For each model writes tests/Shrink.Tests/Goldens/onnx/<name>.onnx (opset 13, dynamic batch "N") and <name>.npz with
  input       a sample input (batch 2)
  output      PyTorch's output for it (eval mode)
  params      PyTorch's parameter count (sum of p.numel() over model.parameters(); BN running stats are buffers)
  macs        conv + linear multiply-accumulates for one sample: conv Hout*Wout*Cout*(Cin/groups)*kh*kw, linear in*out
Widths are reduced so that the files stay small. BatchNorm statistics are randomised so BN is not an identity.
Export uses TrainingMode.PRESERVE (model in eval mode) so that PyTorch keeps BatchNormalization nodes instead of
folding them into the convolutions, which keeps the parameter count comparable.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from goldens_common import ROOT, save, seeded  # noqa: E402


# ---- models ----

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet8(nn.Module):
    """CIFAR-style ResNet (He et al. 2016, 6n+2 with n=1) at width 8."""

    def __init__(self, width=8, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = BasicBlock(width, width, 1)
        self.layer2 = BasicBlock(width, 2 * width, 2)
        self.layer3 = BasicBlock(2 * width, 4 * width, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.pool(x)
        x = x.view(x.size(0), -1)  # PyTorch exports Shape -> Gather -> Unsqueeze -> Concat -> Reshape
        return self.fc(x)


class Inception(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp):
        super().__init__()
        self.b1 = nn.Sequential(nn.Conv2d(cin, c1, 1), nn.BatchNorm2d(c1), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(cin, c3r, 1), nn.ReLU(), nn.Conv2d(c3r, c3, 3, padding=1), nn.ReLU())
        self.b3 = nn.Sequential(nn.Conv2d(cin, c5r, 1), nn.LeakyReLU(0.1), nn.Conv2d(c5r, c5, 5, padding=2), nn.Tanh())
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, cp, 1), nn.Sigmoid())

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.cat([x, self.conv(F.hardswish(self.bn(x)))], 1)


class ConcatNet(nn.Module):
    """GoogLeNet-style inception block, then a DenseNet-style block, plus the odd ops PyTorch users write:
    explicit F.pad, ceil-mode pooling, average pooling, a squeeze-excite gate (broadcast Mul) and x.mean([2, 3])."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 12, 3, stride=1, padding=0)
        self.inc = Inception(12, 4, 4, 6, 2, 4, 2)  # -> 16 channels
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.dense1 = DenseLayer(16, 6)
        self.dense2 = DenseLayer(22, 6)  # -> 28 channels
        self.avg = nn.AvgPool2d(2, 2)
        self.se1 = nn.Linear(28, 7)
        self.se2 = nn.Linear(7, 28)
        self.fc = nn.Linear(28, classes)

    def forward(self, x):
        x = F.relu6(self.stem(F.pad(x, (1, 1, 1, 1))))
        x = self.pool(self.inc(x))
        x = self.avg(self.dense2(self.dense1(x)))
        s = x.mean([2, 3])  # ReduceMean over the spatial axes, keepdims=0
        s = torch.sigmoid(self.se2(F.relu(self.se1(s))))
        x = x * s.unsqueeze(-1).unsqueeze(-1)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return F.softmax(self.fc(x), dim=1)


def randomise_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.2)


def count_macs(model, x):
    macs = [0]

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        macs[0] += out.shape[2] * out.shape[3] * out.shape[1] * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m, inp, out):
        macs[0] += m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(x[:1])
    for h in hooks:
        h.remove()
    return macs[0]


def export(name, model, input_shape):
    seeded(0)
    gen = torch.Generator().manual_seed(1)
    randomise_bn(model, gen)
    model.eval()
    x = torch.randn(*input_shape, generator=gen)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(ROOT, "onnx", name + ".onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    params = sum(p.numel() for p in model.parameters())
    macs = count_macs(model, x)
    save("onnx", name, input=x, output=y, params=np.int64(params), macs=np.int64(macs))
    print(f"{name}: {os.path.getsize(path) / 1024:.0f} KB, {params} params, {macs} MACs, output {tuple(y.shape)}")


def main():
    seeded(0)
    export("resnet8", ResNet8(), (2, 3, 32, 32))
    seeded(0)
    export("mobilenetv2", torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=10), (2, 3, 32, 32))
    seeded(0)
    export("concatnet", ConcatNet(), (2, 3, 24, 24))


if __name__ == "__main__":
    main()

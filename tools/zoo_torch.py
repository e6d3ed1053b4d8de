"""The Shrink zoo architectures in PyTorch, layer for layer the same as src/Shrink/Zoo/*.cs.

    /usr/bin/python3 tools/zoo_torch.py            # prints the table, writes tests/Shrink.Tests/Goldens/zoo/counts.json

Importable: `from zoo_torch import build, count_macs` (tools/bench_torch.py builds ResNet-18 and VGG-11 this way).
`build(name, in_ch, h, w, classes)` returns an nn.Module whose parameter names equal the Shrink graph's parameter
names (torchvision's where torchvision has the model, kuangliu/pytorch-cifar's otherwise). Small inputs (h < 64) get
the CIFAR-style stems described per family below. MACs count Conv2d and Linear only (as Shrink's profiler does):
output elements × (in_channels / groups) × kernel area for a conv, in × out per sample for a linear layer.
"""
import hashlib
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

SMALL = 64  # inputs with height below this get the CIFAR-style stem


def is_small(h):
    return h < SMALL


# ---------------------------------------------------------------- LeNet-5, MLP

class LeNet5(nn.Module):
    """conv 5x5 x6 (padding 2 below 32x32) -> ReLU -> maxpool 2 -> conv 5x5 x16 -> ReLU -> maxpool 2 -> 120 -> 84 -> classes."""

    def __init__(self, in_ch, h, w, classes):
        super().__init__()
        pad = 2 if h < 32 else 0
        self.conv1 = nn.Conv2d(in_ch, 6, 5, padding=pad)
        self.conv2 = nn.Conv2d(6, 16, 5)
        h1, w1 = (h + 2 * pad - 4) // 2, (w + 2 * pad - 4) // 2
        h2, w2 = (h1 - 4) // 2, (w1 - 4) // 2
        self.fc1 = nn.Linear(16 * h2 * w2, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class Mlp(nn.Module):
    def __init__(self, in_ch, h, w, classes):
        super().__init__()
        self.fc1 = nn.Linear(in_ch * h * w, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, classes)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.drop(F.relu(self.fc1(x)))
        x = self.drop(F.relu(self.fc2(x)))
        return self.fc3(x)


# ---------------------------------------------------------------- VGG with batch norm

VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class Vgg(nn.Module):
    """features = [conv3x3+BN+ReLU | maxpool 2]...; a max pool is skipped when the map is already below 2x2 (28x28
    inputs: 28-14-7-3-1, the fifth pool is skipped); classifier = global average pool -> Linear(512, classes)."""

    def __init__(self, cfg, in_ch, h, w, classes):
        super().__init__()
        layers, c = [], in_ch
        for v in cfg:
            if v == "M":
                if h < 2 or w < 2:
                    continue
                layers.append(nn.MaxPool2d(2, 2))
                h, w = h // 2, w // 2
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


# ---------------------------------------------------------------- ResNets (torchvision names)

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inp, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(out + sc)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, planes, stride=1):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(out + sc)


class ResNet(nn.Module):
    """ImageNet ResNet (torchvision) for h >= 64; for smaller inputs the stem is a 3x3 stride-1 conv without max pool
    (kuangliu/pytorch-cifar). `widths`/`blocks` also give He et al.'s CIFAR ResNet-20/56 (16-32-64, option B)."""

    def __init__(self, block, blocks, widths, in_ch, h, classes, cifar_stem):
        super().__init__()
        self.cifar_stem = cifar_stem
        c = widths[0]
        if cifar_stem:
            self.conv1 = nn.Conv2d(in_ch, c, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_ch, c, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        inp = c
        for i, (n, planes) in enumerate(zip(blocks, widths)):
            stride = 1 if i == 0 else 2
            layer = []
            for j in range(n):
                layer.append(block(inp, planes, stride if j == 0 else 1))
                inp = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.n_layers = len(blocks)
        self.fc = nn.Linear(inp, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        if not self.cifar_stem:
            x = F.max_pool2d(x, 3, 2, 1)
        for i in range(self.n_layers):
            x = getattr(self, f"layer{i + 1}")(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


# ---------------------------------------------------------------- MobileNet v1 (kuangliu names)

class MobileNetV1(nn.Module):
    CFG = [64, (128, 2), 128, (256, 2), 256, (512, 2), 512, 512, 512, 512, 512, (1024, 2), 1024]

    class Block(nn.Module):
        def __init__(self, inp, out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False)
            self.bn1 = nn.BatchNorm2d(inp)
            self.conv2 = nn.Conv2d(inp, out, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(out)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(x)))

    def __init__(self, in_ch, h, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 32, 3, 1 if is_small(h) else 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        layers, inp = [], 32
        for v in self.CFG:
            out, stride = (v, 1) if isinstance(v, int) else v
            layers.append(self.Block(inp, out, stride))
            inp = out
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(1024, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------- MobileNet v2 (torchvision names)

def conv_bn_relu6(inp, out, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(inp, out, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp, out, stride, expand):
        super().__init__()
        hidden = inp * expand
        self.use_res = stride == 1 and inp == out
        layers = []
        if expand != 1:
            layers.append(conv_bn_relu6(inp, hidden, 1, 1))
        layers += [conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 (width 1.0); for small inputs the stem and the 24-channel stage have stride 1
    (kuangliu/pytorch-cifar)."""
    # t, c, n, s
    CFG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, in_ch, h, classes):
        super().__init__()
        small = is_small(h)
        features = [conv_bn_relu6(in_ch, 32, 3, 1 if small else 2)]
        inp = 32
        for i, (t, c, n, s) in enumerate(self.CFG):
            if small and i == 1:
                s = 1
            for j in range(n):
                features.append(InvertedResidual(inp, c, s if j == 0 else 1, t))
                inp = c
        features.append(conv_bn_relu6(inp, 1280, 1, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------- ShuffleNet v2 1.0x (torchvision names)

def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.stride = stride
        bf = out // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU(inplace=True))
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else bf, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU(inplace=True),
            nn.Conv2d(bf, bf, 3, stride, 1, groups=bf, bias=False), nn.BatchNorm2d(bf),
            nn.Conv2d(bf, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), 1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), 1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """torchvision's shufflenet_v2_x1_0; small inputs: stride-1 stem conv and no max pool."""

    def __init__(self, in_ch, h, classes, repeats=(4, 8, 4), channels=(24, 116, 232, 464, 1024)):
        super().__init__()
        self.small = is_small(h)
        self.conv1 = nn.Sequential(nn.Conv2d(in_ch, channels[0], 3, 1 if self.small else 2, 1, bias=False),
                                   nn.BatchNorm2d(channels[0]), nn.ReLU(inplace=True))
        inp = channels[0]
        for i, (n, out) in enumerate(zip(repeats, channels[1:4])):
            setattr(self, f"stage{i + 2}", nn.Sequential(*[ShuffleUnit(inp if j == 0 else out, out, 2 if j == 0 else 1)
                                                           for j in range(n)]))
            inp = out
        self.conv5 = nn.Sequential(nn.Conv2d(inp, channels[4], 1, bias=False), nn.BatchNorm2d(channels[4]),
                                   nn.ReLU(inplace=True))
        self.fc = nn.Linear(channels[4], classes)

    def forward(self, x):
        x = self.conv1(x)
        if not self.small:
            x = F.max_pool2d(x, 3, 2, 1)
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x)
        return self.fc(x.mean([2, 3]))


# ---------------------------------------------------------------- DenseNet (torchvision names)

class DenseLayer(nn.Module):
    def __init__(self, inp, growth, bn_size):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(inp)
        self.conv1 = nn.Conv2d(inp, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        y = self.conv1(F.relu(self.norm1(x)))
        y = self.conv2(F.relu(self.norm2(y)))
        return torch.cat((x, y), 1)


class Transition(nn.Module):
    def __init__(self, inp, out):
        super().__init__()
        self.norm = nn.BatchNorm2d(inp)
        self.conv = nn.Conv2d(inp, out, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.norm(x))), 2, 2)


class DenseNet(nn.Module):
    """torchvision's DenseNet (BN-ReLU-conv layers, bottleneck 4·growth, compression 0.5). Small inputs: a 3x3
    stride-1 conv0 straight into the first block (no norm0/pool0), as kuangliu's DenseNet121."""

    def __init__(self, in_ch, h, classes, growth=32, blocks=(6, 12, 24, 16), bn_size=4):
        super().__init__()
        small = is_small(h)
        c = 2 * growth
        f = nn.Sequential()
        if small:
            f.add_module("conv0", nn.Conv2d(in_ch, c, 3, 1, 1, bias=False))
        else:
            f.add_module("conv0", nn.Conv2d(in_ch, c, 7, 2, 3, bias=False))
            f.add_module("norm0", nn.BatchNorm2d(c))
            f.add_module("relu0", nn.ReLU(inplace=True))
            f.add_module("pool0", nn.MaxPool2d(3, 2, 1))
        for i, n in enumerate(blocks):
            block = nn.Sequential()
            for j in range(n):
                block.add_module(f"denselayer{j + 1}", DenseLayer(c, growth, bn_size))
                c += growth
            f.add_module(f"denseblock{i + 1}", block)
            if i != len(blocks) - 1:
                f.add_module(f"transition{i + 1}", Transition(c, c // 2))
                c //= 2
        f.add_module("norm5", nn.BatchNorm2d(c))
        self.features = f
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        x = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------- GoogLeNet (kuangliu names)

class Inception(nn.Module):
    def __init__(self, inp, n1, n3r, n3, n5r, n5, pool):
        super().__init__()

        def cbr(i, o, k):
            return [nn.Conv2d(i, o, k, padding=k // 2), nn.BatchNorm2d(o), nn.ReLU(True)]

        self.b1 = nn.Sequential(*cbr(inp, n1, 1))
        self.b2 = nn.Sequential(*cbr(inp, n3r, 1), *cbr(n3r, n3, 3))
        self.b3 = nn.Sequential(*cbr(inp, n5r, 1), *cbr(n5r, n5, 3), *cbr(n5, n5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), *cbr(inp, pool, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNet(nn.Module):
    """kuangliu's CIFAR GoogLeNet (3x3 192-channel pre-layer, inception 3a..5b, global average pool). Inputs of 64 and
    more first go through a 7x7 stride-2 conv to 64 channels (+BN, ReLU) and a 3x3 stride-2 max pool (pre_layers.0..3),
    so that the inception stages see a CIFAR-like map."""

    SPEC = [("a3", 192, 64, 96, 128, 16, 32, 32), ("b3", 256, 128, 128, 192, 32, 96, 64), "M",
            ("a4", 480, 192, 96, 208, 16, 48, 64), ("b4", 512, 160, 112, 224, 24, 64, 64),
            ("c4", 512, 128, 128, 256, 24, 64, 64), ("d4", 512, 112, 144, 288, 32, 64, 64),
            ("e4", 528, 256, 160, 320, 32, 128, 128), "M",
            ("a5", 832, 256, 160, 320, 32, 128, 128), ("b5", 832, 384, 192, 384, 48, 128, 128)]

    def __init__(self, in_ch, h, classes):
        super().__init__()
        pre = []
        c = in_ch
        if not is_small(h):
            pre += [nn.Conv2d(c, 64, 7, 2, 3), nn.BatchNorm2d(64), nn.ReLU(True), nn.MaxPool2d(3, 2, 1)]
            c = 64
        pre += [nn.Conv2d(c, 192, 3, padding=1), nn.BatchNorm2d(192), nn.ReLU(True)]
        self.pre_layers = nn.Sequential(*pre)
        self.order = []
        for s in self.SPEC:
            if s == "M":
                self.order.append("M")
            else:
                setattr(self, s[0], Inception(*s[1:]))
                self.order.append(s[0])
        self.linear = nn.Linear(1024, classes)

    def forward(self, x):
        x = self.pre_layers(x)
        for s in self.order:
            x = F.max_pool2d(x, 3, 2, 1) if s == "M" else getattr(self, s)(x)
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------- registry

def build(name, in_ch=1, h=28, w=28, classes=10):
    name = name.lower()
    small = is_small(h)
    if name == "lenet5":
        return LeNet5(in_ch, h, w, classes)
    if name == "mlp":
        return Mlp(in_ch, h, w, classes)
    if name in VGG_CFG:
        return Vgg(VGG_CFG[name], in_ch, h, w, classes)
    if name == "resnet18":
        return ResNet(BasicBlock, [2, 2, 2, 2], [64, 128, 256, 512], in_ch, h, classes, small)
    if name == "resnet50":
        return ResNet(Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], in_ch, h, classes, small)
    if name == "resnet20":
        return ResNet(BasicBlock, [3, 3, 3], [16, 32, 64], in_ch, h, classes, True)
    if name == "resnet56":
        return ResNet(BasicBlock, [9, 9, 9], [16, 32, 64], in_ch, h, classes, True)
    if name in ("mobilenet_v1", "mobilenetv1"):
        return MobileNetV1(in_ch, h, classes)
    if name in ("mobilenet_v2", "mobilenetv2"):
        return MobileNetV2(in_ch, h, classes)
    if name == "shufflenet_v2":
        return ShuffleNetV2(in_ch, h, classes)
    if name == "densenet121":
        return DenseNet(in_ch, h, classes)
    if name == "densenet_cifar":
        return DenseNet(in_ch, h, classes, growth=12)
    if name == "googlenet":
        return GoogLeNet(in_ch, h, classes)
    raise ValueError(f"unknown zoo model {name!r}")


NAMES = ["lenet5", "mlp", "vgg11", "vgg16", "vgg19", "resnet18", "resnet20", "resnet50", "resnet56",
         "mobilenet_v1", "mobilenet_v2", "shufflenet_v2", "densenet121", "densenet_cifar", "googlenet"]


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def count_macs(model, in_ch, h, w):
    """Conv2d + Linear multiply-accumulates for one sample."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            total[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += out.numel() // out.shape[0] * m.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, in_ch, h, w))
    for hd in handles:
        hd.remove()
    return total[0], tuple(out.shape)


# Inputs the counts are recorded at: the zoo default and CIFAR for every model, plus checks of the large-input stems.
INPUTS = [(1, 28, 28, 10), (3, 32, 32, 10)]
EXTRA = [("resnet18", (3, 96, 96, 100)), ("resnet50", (3, 64, 64, 10)), ("mobilenet_v2", (3, 96, 96, 10)),
         ("shufflenet_v2", (3, 64, 64, 10)), ("densenet121", (3, 64, 64, 10)), ("googlenet", (3, 64, 64, 10)),
         ("vgg11", (3, 64, 64, 10)), ("mobilenet_v1", (3, 64, 64, 10))]
# torchvision's own models at 224x224 (same parameter names, shapes and MACs, checked by hand with torchvision 0.14).
EXTRA += [(n, (3, 224, 224, 1000)) for n in ("resnet18", "resnet50", "mobilenet_v2", "shufflenet_v2", "densenet121")]


def randomize_batch_norms(model, gen):
    """Random BN affine parameters and running statistics, so that eval-mode goldens exercise every tensor."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.5, 0.5, generator=gen)
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)


def tiny_cases():
    """Small instances of every block, for output goldens (name, module, input shape); the C# test builds the same."""
    return [
        ("lenet5", LeNet5(1, 12, 12, 10), (2, 1, 12, 12)),
        ("resnet_basic", ResNet(BasicBlock, [1, 1, 1], [4, 8, 16], 2, 12, 3, True), (2, 2, 12, 12)),
        ("resnet_bottleneck", ResNet(Bottleneck, [1, 2], [4, 8], 2, 20, 3, False), (2, 2, 20, 20)),
        ("shufflenet", ShuffleNetV2(2, 16, 3, repeats=(1, 2, 1), channels=(8, 16, 32, 64, 24)), (2, 2, 16, 16)),
        ("densenet", DenseNet(2, 12, 3, growth=4, blocks=(2, 2)), (2, 2, 12, 12)),
        ("inception", Inception(6, 4, 3, 5, 2, 3, 3), (2, 6, 5, 5)),
        ("inverted_residual", InvertedResidual(8, 8, 1, 6), (2, 8, 5, 5)),
        ("inverted_residual_s2", InvertedResidual(8, 12, 2, 1), (2, 8, 5, 5)),
    ]


def write_output_goldens():
    import goldens_common
    for name, model, shape in tiny_cases():
        goldens_common.seeded(0)
        gen = torch.Generator().manual_seed(1)
        randomize_batch_norms(model, gen)
        model.eval()
        x = torch.rand(shape, generator=gen) * 2 - 1
        with torch.no_grad():
            y = model(x)
        arrays = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        goldens_common.save("zoo", name, input=x, output=y, **arrays)


def main():
    torch.manual_seed(0)
    rows = []
    cases = [(n, i) for i in INPUTS for n in NAMES] + EXTRA
    for name, (c, h, w, k) in cases:
        m = build(name, c, h, w, k)
        macs, out = count_macs(m, c, h, w)
        assert out == (1, k), (name, out)
        names = sorted(n for n in m.state_dict() if not n.endswith("num_batches_tracked"))
        buffers = sum(b.numel() for n, b in m.named_buffers() if not n.endswith("num_batches_tracked"))
        rows.append({"name": name, "input": [c, h, w], "classes": k, "params": count_params(m), "buffers": buffers,
                     "macs": macs, "tensors": len(names),
                     "layers": sum(isinstance(x, (nn.Conv2d, nn.Linear)) for x in m.modules()),
                     "names_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest()})
        print(f"{name:15s} {c}x{h}x{w} -> {k:3d}  params {rows[-1]['params']:>11,}  MACs {macs:>14,}")
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Shrink.Tests", "Goldens", "zoo")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "counts.json"), "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    write_output_goldens()


if __name__ == "__main__":
    main()

"""Checks `shrink infer` end to end against PyTorch and OpenCV DNN.

    dotnet build Shrink.slnx -c Release
    /usr/bin/python3 tools/check_cli_infer.py [--shrink PATH-TO-Shrink.Cli] [--keep DIR]

1. PyTorch-exported models (a small CNN with batch norm, a residual add and concat; and a two-input, two-output
   model): the input is written as .pb (onnx.numpy_helper) and as .npy; `shrink infer` runs on both (--format pb and
   npy); every output must equal PyTorch's (|d| <= 1e-4 + 1e-4 |want|), in graph-output order.
2. A Shrink-exported model: `shrink train --model lenet5` for ten steps on a tiny synthetic NumPy data set
   writes lenet5.onnx; `shrink infer` on it must equal OpenCV DNN's (cv2.dnn.readNetFromONNX) output.
3. A bad input (wrong channel count) must fail with exit code 2, one "shrink: error:" line, and no output folder.

Needs Debian's python3-torch, python3-onnx, python3-opencv, python3-numpy (run with /usr/bin/python3).
Exits 1 on any failure.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SHRINK = os.path.join(ROOT, "src", "Shrink.Cli", "bin", "Release", "net10.0", "Shrink.Cli")
failures = []


def check(name, ok, detail=""):
    print(f"{'OK  ' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}")
    if not ok:
        failures.append(name)


def shrink(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True)


def close(got, want, tol=1e-4):
    if got.shape != want.shape:
        return False, f"shape {got.shape} vs {want.shape}"
    d = np.abs(got - want)
    ok = bool((d <= tol + tol * np.abs(want)).all())
    return ok, f"max |diff| {d.max():.2g} over {want.size} values"


def write_pb(path, array, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.branch = torch.nn.Conv2d(8, 4, 1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(12, 5)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = torch.relu(h + self.conv2(h))
        h = torch.cat([h, self.branch(h)], dim=1)
        return self.fc(torch.flatten(self.pool(h), 1))


class TwoInTwoOut(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 3)

    def forward(self, a, b):
        s = self.fc(a - b)
        return torch.sigmoid(s), s * 2


def torch_models(exe, tmp):
    torch.manual_seed(0)
    net = SmallNet()
    with torch.no_grad():  # non-trivial batch-norm statistics
        net.bn1.running_mean.uniform_(-0.5, 0.5)
        net.bn1.running_var.uniform_(0.5, 2)
    net.eval()
    x = torch.randn(3, 3, 16, 16)
    path = os.path.join(tmp, "smallnet.onnx")
    torch.onnx.export(net, x, path, input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=13)
    with torch.no_grad():
        want = net(x).numpy()
    write_pb(os.path.join(tmp, "x.pb"), x.numpy(), "x")
    np.save(os.path.join(tmp, "x.npy"), x.numpy())
    for inp, fmt in (("x.pb", "pb"), ("x.npy", "npy")):
        out = os.path.join(tmp, f"out_smallnet_{fmt}")
        r = shrink(exe, "infer", "--model", path, "--input", os.path.join(tmp, inp), "--out-dir", out, "--format", fmt)
        if r.returncode != 0:
            check(f"smallnet {inp} -> {fmt}", False, r.stderr.strip())
            continue
        got = read_pb(os.path.join(out, "output_0.pb")) if fmt == "pb" else np.load(os.path.join(out, "output_0.npy"))
        check(f"smallnet (PyTorch export) {inp} -> output_0.{fmt} vs PyTorch", *close(got, want))

    two = TwoInTwoOut().eval()
    a, b = torch.randn(4, 6), torch.randn(4, 6)
    path = os.path.join(tmp, "two.onnx")
    torch.onnx.export(two, (a, b), path, input_names=["a", "b"], output_names=["p", "s"],
                      dynamic_axes={"a": {0: "N"}, "b": {0: "N"}, "p": {0: "N"}, "s": {0: "N"}}, opset_version=13)
    with torch.no_grad():
        want = [t.numpy() for t in two(a, b)]
    write_pb(os.path.join(tmp, "a.pb"), a.numpy(), "a")
    np.save(os.path.join(tmp, "b.npy"), b.numpy())
    out = os.path.join(tmp, "out_two")
    r = shrink(exe, "infer", "--model", path, "--input", os.path.join(tmp, "a.pb"), "--input", os.path.join(tmp, "b.npy"), "--out-dir", out)
    if r.returncode != 0:
        check("two-input two-output", False, r.stderr.strip())
    else:
        for i in range(2):
            check(f"two-input two-output (PyTorch export) output_{i}.pb vs PyTorch", *close(read_pb(os.path.join(out, f"output_{i}.pb")), want[i]))


def shrink_model_vs_opencv(exe, tmp):
    import cv2

    data = os.path.join(tmp, "tiny")
    os.makedirs(data, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 1000), ("test", 50)):
        np.save(os.path.join(data, f"{split}_images.npy"), rng.integers(0, 256, (n, 1, 28, 28), dtype=np.uint8))
        np.save(os.path.join(data, f"{split}_labels.npy"), np.arange(n, dtype=np.int64) % 10)
    model = os.path.join(tmp, "lenet5.onnx")
    r = shrink(exe, "train", "--model", "lenet5", "--dataset", data, "--epochs", "1", "--max-steps", "10", "--out", model)
    if r.returncode != 0:
        check("shrink train lenet5", False, r.stderr.strip().splitlines()[-1])
        return
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.save(os.path.join(tmp, "lx.npy"), x)
    out = os.path.join(tmp, "out_lenet")
    r = shrink(exe, "infer", "--model", model, "--input", os.path.join(tmp, "lx.npy"), "--out-dir", out, "--format", "npy")
    if r.returncode != 0:
        check("shrink infer lenet5", False, r.stderr.strip())
        return
    got = np.load(os.path.join(out, "output_0.npy"))
    net = cv2.dnn.readNetFromONNX(model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    net.setInput(x)
    want = net.forward().reshape(got.shape)
    check(f"lenet5 (Shrink export) shrink infer vs OpenCV {cv2.__version__} DNN", *close(got, want))

    bad = rng.standard_normal((1, 3, 28, 28)).astype(np.float32)
    np.save(os.path.join(tmp, "bad.npy"), bad)
    out = os.path.join(tmp, "out_bad")
    r = shrink(exe, "infer", "--model", model, "--input", os.path.join(tmp, "bad.npy"), "--out-dir", out)
    lines = r.stderr.strip().splitlines()
    ok = r.returncode == 2 and len(lines) == 1 and lines[0].startswith("shrink: error:") and not os.path.exists(out)
    check("bad input shape: exit 2, one error line, nothing written", ok, lines[0] if lines else f"exit {r.returncode}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shrink", default=os.environ.get("SHRINK_CLI", DEFAULT_SHRINK))
    p.add_argument("--keep", help="work in this folder and keep it")
    args = p.parse_args()
    if not os.path.exists(args.shrink):
        print(f"{args.shrink} not found; build first (dotnet build Shrink.slnx -c Release) or pass --shrink")
        return 2
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        tmp = args.keep
        torch_models(args.shrink, tmp)
        shrink_model_vs_opencv(args.shrink, tmp)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            torch_models(args.shrink, tmp)
            shrink_model_vs_opencv(args.shrink, tmp)
    print(f"{'all checks passed' if not failures else f'{len(failures)} check(s) failed'} "
          f"(torch {torch.__version__}, onnx {onnx.__version__})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

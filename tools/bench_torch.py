#!/usr/bin/python3
"""PyTorch side of Shrink's engine benchmark (bench/Shrink.Bench, Shrink.Profiling.Bench): the same workloads as the C#
side, printed as one JSON object on the last line of stdout. SGEMM via torch.mm (Debian's torch multiplies with
OpenBLAS); convolutions of ResNet-18 (forward, batch 128); training steps of ResNet-18 and VGG-11-BN (1x28x28, SGD with
momentum, cross-entropy); inference at batch 128 and batch 1 (latency: the better of 1 and N threads, median and p90).
Peak training memory: the growth of the process's max RSS over model creation and the first training step (meaningful
for the first model a process trains), which includes PyTorch's allocator caching.
Usage: bench_torch.py [--threads N] [--quick] [--only sgemm|conv|train|infer|train_MODEL|infer_MODEL ...]"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo_torch  # noqa: E402

GEMM_SHAPES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (64, 3136, 576),
               (512, 16, 4608), (1, 1000, 512), (128, 128, 4096)]


def timed(fn, seconds, min_reps=3, max_reps=200):
    fn()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < min(0.2, seconds / 2):
        fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(1e-3 / once)) if once < 1e-3 else 1
    reps = int(max(min_reps, min(max_reps, seconds / (once * inner))))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    times.sort()
    return times


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def resnet18_convs():
    model = zoo_torch.build("resnet18", 1, 28, 28, 10)
    shapes = []

    def hook(m, inp, out):
        s = (m.in_channels, inp[0].shape[2], m.out_channels, m.kernel_size[0], m.stride[0])
        if s not in shapes:
            shapes.append(s)

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, 28, 28))
    for h in hs:
        h.remove()
    return shapes


def train_speed(name, batch, steps, results, memory):
    torch.manual_seed(0)
    base = rss_kb()
    model = zoo_torch.build(name, 1, 28, 28, 10)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, 1, 28, 28) * 2 - 1
    y = torch.arange(batch) % 10

    def step():
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    step()
    if memory:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
        results[f"train_{name}_peak_mb"] = max(0, peak - base) * 1024 / 1e6
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    results[f"train_{name}"] = batch / times[len(times) // 2]


def infer(name, batch, runs, threads_options, results):
    torch.manual_seed(0)
    model = zoo_torch.build(name, 1, 28, 28, 10).eval()
    x = torch.rand(batch, 1, 28, 28)
    best = None
    for t in threads_options:
        torch.set_num_threads(t)
        with torch.no_grad():
            for _ in range(3):
                model(x)
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - t0)
        times.sort()
        med = times[len(times) // 2]
        if best is None or med < best[0]:
            best = (med, times[int(0.9 * (len(times) - 1) + 0.5)], t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    q = a.quick
    only = set(a.only) if a.only else None
    want = lambda k: only is None or k in only  # noqa: E731
    models = ("resnet18", "vgg11")
    train_models = [m for m in models if want("train") or want(f"train_{m}")]
    infer_models = [m for m in models if want("infer") or want(f"infer_{m}")]
    r = {}
    t_start = time.time()
    # Memory first, while the process is fresh: max RSS growth over the first ResNet-18 steps.
    if train_models:
        for name in train_models:
            train_speed(name, 128, 2 if q else 6, r, memory=True)
            print(f"train {name}: {r[f'train_{name}']:.1f} images/s", file=sys.stderr)
    if want("sgemm"):
        for m, n, k in GEMM_SHAPES:
            a_ = torch.rand(m, k) - 0.5
            b_ = torch.rand(k, n) - 0.5
            c_ = torch.empty(m, n)
            t = timed(lambda: torch.mm(a_, b_, out=c_), 0.1 if q else 0.5)
            r[f"sgemm_{m}x{n}x{k}"] = 2.0 * m * n * k / t[len(t) // 2] / 1e9
    if want("conv"):
        with torch.no_grad():
            for cin, h, cout, k, s in resnet18_convs():
                x = torch.rand(128, cin, h, h) * 2 - 1
                w = torch.rand(cout, cin, k, k) * 0.2 - 0.1
                t = timed(lambda: F.conv2d(x, w, None, s, k // 2), 0.2 if q else 1.0)
                r[f"conv_{cin}x{h}x{h}_{cout}_k{k}s{s}"] = 1000 * t[len(t) // 2]
    if infer_models:
        for name in infer_models:
            torch.set_num_threads(a.threads)
            med, _, _ = infer(name, 128, 3 if q else 10, [a.threads], r)
            r[f"infer_{name}_ips"] = 128 / med
            opts = sorted({1, a.threads})
            med, p90, t = infer(name, 1, 10 if q else 60, opts, r)
            r[f"latency_{name}_median_ms"] = 1000 * med
            r[f"latency_{name}_p90_ms"] = 1000 * p90
            r[f"latency_{name}_threads"] = t
        torch.set_num_threads(a.threads)
    out = {"torch_version": torch.__version__, "threads": a.threads, "blas": "OpenBLAS (torch.mm)",
           "memory": "max RSS growth over the first ResNet-18 training steps", "seconds": time.time() - t_start,
           "results": r}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

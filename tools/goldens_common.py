"""Shared helpers for the golden-data scripts. Run them with Debian's PyTorch: /usr/bin/python3 tools/<script>.py

Every golden case is one .npz (np.savez) under tests/Shrink.Tests/Goldens/<dir>/<name>.npz with float32 arrays
(integers as int64). The C# side reads them with tests/Shrink.Tests/Goldens/Golden.cs.
"""
import os
import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Shrink.Tests", "Goldens")


def save(dir_name, case_name, **arrays):
    out = os.path.join(ROOT, dir_name)
    os.makedirs(out, exist_ok=True)
    conv = {}
    for k, v in arrays.items():
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu().numpy()
        v = np.asarray(v)
        if v.dtype.kind == "f":
            v = v.astype(np.float32)
        elif v.dtype.kind in "iub":
            v = v.astype(np.int64)
        conv[k] = v
    np.savez(os.path.join(out, case_name + ".npz"), **conv)


def seeded(seed=0):
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(1)

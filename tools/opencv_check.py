"""Runs Shrink-exported ONNX models in OpenCV DNN (cv2.dnn.readNetFromONNX) and compares with Shrink's outputs.

    SHRINK_ONNX_EXPORT_DIR=/tmp/shrink-onnx dotnet test tests/Shrink.Tests -c Release --filter FullyQualifiedName~Onnx
    /usr/bin/python3 tools/opencv_check.py /tmp/shrink-onnx

For every name.onnx the directory also holds name.input.npy and name.output.npy (Shrink's output for that input).
Tolerance: |opencv - shrink| <= 1e-4 + 1e-3 * |shrink| (OpenCV's own kernels, float32). Exits 1 on any failure.

--clip-attributes: OpenCV 4.6 reads Clip only in its opset-6 form (min/max attributes, one input), while opset 11+
(and so every opset-13 file, PyTorch's too) passes min/max as inputs. This diagnostic rewrites Clip nodes to the old
form in memory (not a valid opset-13 model) to check that the rest of each model runs and matches in OpenCV.
"""
import glob
import os
import sys

import cv2
import numpy as np
import onnx
from onnx import numpy_helper


def clip_to_attributes(path):
    model = onnx.load(path)
    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Clip" and len(node.input) > 1:
            for i, attr in ((1, "min"), (2, "max")):
                if i < len(node.input) and node.input[i]:
                    node.attribute.append(onnx.helper.make_attribute(attr, float(consts[node.input[i]])))
            del node.input[1:]
    return model.SerializeToString()


def run(path, clip_attributes=False):
    base = path[:-len(".onnx")]
    x = np.load(base + ".input.npy").astype(np.float32)
    want = np.load(base + ".output.npy").astype(np.float32)
    if clip_attributes:
        net = cv2.dnn.readNetFromONNX(np.frombuffer(clip_to_attributes(path), np.uint8))
    else:
        net = cv2.dnn.readNetFromONNX(path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    net.setInput(x)
    got = net.forward()
    if got.size != want.size:
        raise ValueError(f"output has {got.shape}, Shrink {want.shape}")
    got = got.reshape(want.shape)
    diff = np.abs(got - want)
    bad = diff > 1e-4 + 1e-3 * np.abs(want)
    if bad.any():
        raise ValueError(f"max |diff| {diff.max():.3g} at {np.unravel_index(diff.argmax(), diff.shape)}")
    return f"max |diff| {diff.max():.2g} over {want.size} values"


def main(args):
    clip_attributes = "--clip-attributes" in args
    args = [a for a in args if a != "--clip-attributes"]
    if len(args) != 1 or not os.path.isdir(args[0]):
        print(__doc__)
        return 2
    paths = sorted(glob.glob(os.path.join(args[0], "*.onnx")))
    failed = 0
    for p in paths:
        try:
            print(f"OK    {os.path.basename(p)}: {run(p, clip_attributes)}")
        except Exception as e:
            failed += 1
            msg = str(e).strip().splitlines()
            print(f"FAIL  {os.path.basename(p)}: {type(e).__name__}: {msg[-1] if msg else ''}")
    print(f"{len(paths) - failed}/{len(paths)} models match in OpenCV {cv2.__version__} DNN"
          + (" (Clip rewritten to attributes)" if clip_attributes else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Checks ONNX files with the reference checker: onnx.checker.check_model(full_check=True) and strict shape inference,
then compares the inferred output shapes with the declared ones.

    /usr/bin/python3 tools/check_onnx.py file.onnx [file2.onnx ...]     (a directory checks every *.onnx in it)

Shrink-exported files for it: SHRINK_ONNX_EXPORT_DIR=/tmp/shrink-onnx dotnet test --filter FullyQualifiedName~Onnx
Prints one line per file and exits 1 when any check fails.
"""
import glob
import os
import sys

import onnx
from onnx import shape_inference


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    for declared, got in zip(model.graph.output, inferred.graph.output):
        if dims(declared) != dims(got):
            raise ValueError(f"output {declared.name}: declared {dims(declared)}, inferred {dims(got)}")
    ops = sorted({n.op_type for n in model.graph.node})
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    return f"ir {model.ir_version}, opset {opset[0] if opset else '?'}, {len(model.graph.node)} nodes ({', '.join(ops)})"


def main(args):
    paths = []
    for a in args:
        paths += sorted(glob.glob(os.path.join(a, "*.onnx"))) if os.path.isdir(a) else [a]
    if not paths:
        print(__doc__)
        return 2
    failed = 0
    for p in paths:
        try:
            print(f"OK    {os.path.basename(p)}: {check(p)}")
        except Exception as e:  # report every file, then fail
            failed += 1
            print(f"FAIL  {os.path.basename(p)}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    print(f"{len(paths) - failed}/{len(paths)} passed onnx.checker (full_check) and strict shape inference, onnx {onnx.__version__}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Face-restoration stand-ins with known outputs, written as real ONNX graphs with onnx.helper.

No enhancer weights exist offline; these prove the plumbing the real networks would go through:

* `identity`: gives its input back, so align -> model -> paste back must reproduce the frame.
* `brightening`: adds `delta` (in the model's [-1, 1] scale) to every pixel, so the pasted region
  is visible exactly where the restored face was allowed to show.
* `codeformer`: CodeFormer's two inputs (image and a (1,) float64 `weight`); its output is a flat
  image of value `weight`, so the picture shows the fidelity weight the renderer fed.
* `not_a_face`: an image input with a non-image output (a classifier-like graph).

Each takes the image size, the input's name and a dynamic or fixed batch axis, as exports differ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _image(name: str, size: int, fixed_batch: int | None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [fixed_batch or "batch", 3, size, size])


def _save(nodes, inputs, outputs, path: Path, initializers=()) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_identity_enhancer(path: Path, size: int = 512, name: str = "input", fixed_batch: int | None = None) -> Path:
    return _save([helper.make_node("Identity", [name], ["output"])], [_image(name, size, fixed_batch)],
                 [_image("output", size, fixed_batch)], path)  # fmt: skip


def write_brightening_enhancer(path: Path, delta: float = 0.5, size: int = 512, fixed_batch: int | None = None) -> Path:
    """Output = clip(input + delta, -1, 1); 0.5 raises every level by about 64."""
    nodes = [
        helper.make_node("Add", ["input", "delta"], ["raised"]),
        helper.make_node("Clip", ["raised", "low", "high"], ["output"]),
    ]
    constants = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in
                 (("delta", delta), ("low", -1.0), ("high", 1.0))]  # fmt: skip
    return _save(nodes, [_image("input", size, fixed_batch)], [_image("output", size, fixed_batch)], path, constants)


def write_codeformer_enhancer(path: Path, size: int = 512, fixed_batch: int | None = None) -> Path:
    """CodeFormer's inputs; output = a flat image of value float(weight) the size of the input."""
    nodes = [
        helper.make_node("Cast", ["weight"], ["weight_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["input", "zero"], ["blank"]),
        helper.make_node("Add", ["blank", "weight_f"], ["output"]),
    ]
    weight = helper.make_tensor_value_info("weight", TensorProto.DOUBLE, [1])
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    return _save(nodes, [_image("input", size, fixed_batch), weight], [_image("output", size, fixed_batch)], path, [zero])


def write_not_a_face_model(path: Path, size: int = 224) -> Path:
    """An image in, three numbers out (a classifier's shape)."""
    node = helper.make_node("ReduceMean", ["input"], ["output"], axes=[2, 3], keepdims=0)
    return _save([node], [_image("input", size, 1)],
                 [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3])], path)  # fmt: skip


def level_of(value: float) -> float:
    """The 0..255 level an enhancer output value in [-1, 1] becomes."""
    return (value + 1.0) / 2.0 * 255.0

"""all-MiniLM-L6-v2 as an ONNX graph, built from the weights on disk (no torch), and its
int8 quantization: what the vectorizer runs on onnxruntime.

Built once, at install time (`python -m codeanalysisd.embed.onnx_graph OUT.onnx`); the
graph is the same computation as ``reference.embed`` (a test holds them together).
"""

from __future__ import annotations

import math
import pathlib
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from codeanalysisd.embed import weights as W

OPSET = 17  # LayerNormalization


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, *inputs: str, **attrs) -> str:
        self.n += 1
        out = f"{kind.lower()}_{self.n}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def dense(self, x: str, w: dict[str, np.ndarray], name: str) -> str:
        weight = self.const(name + ".wT", w[name + ".weight"].T.astype(np.float32))
        bias = self.const(name + ".b", w[name + ".bias"].astype(np.float32))
        return self.op("Add", self.op("MatMul", x, weight), bias)

    def norm(self, x: str, w: dict[str, np.ndarray], name: str) -> str:
        return self.op("LayerNormalization", x, self.const(name + ".w", np.array(w[name + ".weight"])),
                       self.const(name + ".b", np.array(w[name + ".bias"])), axis=-1, epsilon=W.LAYER_NORM_EPS)


def build(w: dict[str, np.ndarray]) -> onnx.ModelProto:
    g = _Graph()
    dim = w["embeddings.word_embeddings.weight"].shape[1]
    head = dim // W.HEADS
    ids, mask = "input_ids", "attention_mask"
    # The first `tokens` rows of the position table, as a 1-D slice (onnxruntime's optimizer
    # rewrites Gather-of-Range into a Slice with scalar bounds, which it then rejects).
    zero, one, two = (g.const(f"i{n}", np.array([n], np.int64)) for n in (0, 1, 2))
    tokens = g.op("Slice", g.op("Shape", ids), one, two)
    positions = g.op("Slice", g.const("position", np.array(w["embeddings.position_embeddings.weight"])), zero,
                     tokens, zero)
    x = g.op("Gather", g.const("word", np.array(w["embeddings.word_embeddings.weight"])), ids)
    x = g.op("Add", x, positions)
    x = g.op("Add", x, g.const("token_type", np.array(w["embeddings.token_type_embeddings.weight"][0])))
    x = g.norm(x, w, "embeddings.LayerNorm")
    maskf = g.op("Cast", mask, to=TensorProto.FLOAT)
    bias = g.op("Mul", g.op("Sub", g.const("onef", np.array(1.0, np.float32)), maskf),
                g.const("neg", np.array(-1e4, np.float32)))
    bias = g.op("Unsqueeze", bias, g.const("axes12", np.array([1, 2], np.int64)))
    split = g.const("split_shape", np.array([0, 0, W.HEADS, head], np.int64))
    merge = g.const("merge_shape", np.array([0, 0, dim], np.int64))
    scale = g.const("scale", np.array(1.0 / math.sqrt(head), np.float32))
    half, root2 = g.const("half", np.array(0.5, np.float32)), g.const("root2", np.array(math.sqrt(2.0), np.float32))
    for i in range(W.LAYERS):
        p = f"encoder.layer.{i}."
        q = g.op("Transpose", g.op("Reshape", g.dense(x, w, p + "attention.self.query"), split), perm=[0, 2, 1, 3])
        k = g.op("Transpose", g.op("Reshape", g.dense(x, w, p + "attention.self.key"), split), perm=[0, 2, 3, 1])
        v = g.op("Transpose", g.op("Reshape", g.dense(x, w, p + "attention.self.value"), split), perm=[0, 2, 1, 3])
        scores = g.op("Softmax", g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), bias), axis=-1)
        context = g.op("Reshape", g.op("Transpose", g.op("MatMul", scores, v), perm=[0, 2, 1, 3]), merge)
        x = g.norm(g.op("Add", g.dense(context, w, p + "attention.output.dense"), x), w,
                   p + "attention.output.LayerNorm")
        hidden = g.dense(x, w, p + "intermediate.dense")
        hidden = g.op("Mul", g.op("Mul", hidden, half),
                      g.op("Add", g.const(f"one_{i}", np.array(1.0, np.float32)),
                           g.op("Erf", g.op("Div", hidden, root2))))
        x = g.norm(g.op("Add", g.dense(hidden, w, p + "output.dense"), x), w, p + "output.LayerNorm")
    m = g.op("Unsqueeze", maskf, g.const("axis2", np.array([2], np.int64)))
    summed = g.op("ReduceSum", g.op("Mul", x, m), one, keepdims=0)
    count = g.op("Max", g.op("ReduceSum", m, one, keepdims=0), g.const("tiny", np.array(1e-9, np.float32)))
    pooled = g.op("Div", summed, count)
    g.nodes.append(helper.make_node("LpNormalization", [pooled], ["embedding"], axis=1, p=2))
    graph = helper.make_graph(
        g.nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="codeanalysisd")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_quantized(out: pathlib.Path) -> pathlib.Path:
    """Build the fp32 graph and write its int8 (per-channel, dynamic) quantization to ``out``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = pathlib.Path(tmp) / "fp32.onnx"
        onnx.save(build(W.load()), str(fp32))
        quantize_dynamic(str(fp32), str(out), per_channel=True, weight_type=QuantType.QInt8)
    return out


if __name__ == "__main__":
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # the quantizer's advice on pre-processing is not for us
    target = pathlib.Path(sys.argv[1])
    build_quantized(target)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")

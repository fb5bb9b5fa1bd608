"""Texts to vectors: the int8 ONNX graph on onnxruntime, or the exact numpy pass as fallback.

With a batch size above one, texts are sorted by length first, so each batch pads to
little more than its own longest text.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

from codeanalysisd.embed import weights

# Where `make install` puts the graph: inside the environment the suite runs from.
DEFAULT_GRAPH = pathlib.Path(sys.prefix) / "share" / "codeanalysisd" / "all-MiniLM-L6-v2-int8.onnx"
# One text per run: dynamic int8 quantization scales activations per batch, so a text's
# vector would depend on its batch neighbours (cosine 0.987-0.996 between batchings); one
# at a time it is reproducible, and on 2 cores as fast (142 vs 142-155 chunks/s at 8).
BATCH = 1


class Embedder:
    dim = weights.DIM

    def __init__(self, graph: pathlib.Path | None = DEFAULT_GRAPH, threads: int = 2, spinning: bool = True) -> None:
        """``spinning``: onnxruntime's threads busy-wait for the next run after each one. That
        is right for a stream of chunks (about 1.4x the rate), and wrong for a query: with 2
        cores they take the CPU from whatever comes next, the scan of the vectors (5 ms
        becomes 13 ms at 100k)."""
        self.tokenizer = weights.tokenizer()
        self.session = None
        self.weights: dict[str, np.ndarray] | None = None
        self.graph: pathlib.Path | None
        if graph is not None and graph.is_file():
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # shape-merge notices of the quantized graph are noise
            options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
            self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            self.model_id = f"{weights.MODEL_ID}@onnx-int8"
            self.graph = graph
        else:
            self.weights = weights.load()
            self.model_id = f"{weights.MODEL_ID}@numpy"
            self.graph = None

    def for_queries(self) -> Embedder:
        """An embedder for one query at a time: a second session of the same graph whose
        threads sleep when done. The numpy pass has no threads that spin; it serves both."""
        if self.graph is None:
            return self
        return Embedder(self.graph, spinning=False)

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.session is not None:
            return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        from codeanalysisd.embed import reference

        assert self.weights is not None
        return reference.embed(self.weights, ids, mask)

    def embed(self, texts: list[str], batch: int = BATCH) -> np.ndarray:
        """(len(texts), 384) float32, L2-normalized, in the order given."""
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        encoded = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        for start in range(0, len(order), batch):
            chosen = order[start:start + batch]
            width = max(len(encoded[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), width), np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(chosen):
                n = len(encoded[i].ids)
                ids[row, :n] = encoded[i].ids
                mask[row, :n] = 1
            out[chosen] = self._run(ids, mask)
        return out

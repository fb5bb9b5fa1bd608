"""Benchmark: the embedding model alone, on real code chunks, with its exact reference.

Chunks are the functions of a slice of the standard library, cut at 25 lines (what the
model reads in 256 tokens). Measures chunks/s of the int8 ONNX graph on onnxruntime (two
threads, batch sizes 1 and 8), of the exact numpy pass (the fallback and the reference),
and how close the int8 vectors are to the exact ones.

Run: .venv/bin/python bench/embed_model.py [--chunks 400]
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import statistics
import sysconfig
import tempfile
import time

import numpy as np

from codeanalysisd.embed import onnx_graph
from codeanalysisd.embed.embedder import Embedder


def chunks(limit: int) -> list[str]:
    base = pathlib.Path(sysconfig.get_paths()["stdlib"])
    out = []
    for path in sorted([*base.glob("email/*.py"), *base.glob("json/*.py"), *base.glob("asyncio/*.py")]):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                out.append("\n".join(lines[node.lineno - 1:min(node.end_lineno or node.lineno, node.lineno + 24)]))
    return out[:limit]


def rate(embedder: Embedder, texts: list[str], batch: int, runs: int = 3) -> tuple[float, np.ndarray]:
    times, vectors = [], None
    for _ in range(runs):
        started = time.perf_counter()
        vectors = embedder.embed(texts, batch=batch)
        times.append(time.perf_counter() - started)
    return len(texts) / statistics.median(times), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=400)
    args = parser.parse_args()
    texts = chunks(args.chunks)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        graph = onnx_graph.build_quantized(pathlib.Path(tmp) / "int8.onnx")
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        int8 = Embedder(graph)
        load_s = time.perf_counter() - started
        r1, v1 = rate(int8, texts, 1)
        r8, _ = rate(int8, texts, 8)
    sample = texts[:40]
    exact = Embedder(None)
    started = time.perf_counter()
    ref = exact.embed(sample)
    ref_rate = len(sample) / (time.perf_counter() - started)
    cos = (v1[:len(sample)] * ref).sum(1)
    print(f"{len(texts)} chunks (functions of email/, json/, asyncio/, at most 25 lines)")
    print(f"graph built and quantized (what make install does): {build_s:.1f} s; session load {load_s:.2f} s")
    print(f"int8 ONNX, 2 threads: batch 1 {r1:.1f} chunks/s, batch 8 {r8:.1f} chunks/s (median of 3)")
    print(f"reference, exact numpy pass: {ref_rate:.1f} chunks/s; int8 vs exact cosine: min {cos.min():.4f}, "
          f"mean {cos.mean():.4f}")


if __name__ == "__main__":
    main()

"""The ranking choices of semantic and hybrid search, measured on the DEV queries only.

    PYTHONPATH=. .venv/bin/python bench/retrieval_dev.py

In-process, on the same corpus as bench/retrieval.py: the corpus is indexed into a real
store (the same code the owner runs: chunking, full text, vectors), embedded with the same
int8 graph the suite runs on (built here, in build/retrieval/), and each DEV query is
answered by the same functions the owner calls (`vectors.resolve`, `semantic.fuse`) over a
grid of the choices they take: how much a later body window and a private name are marked
down (index/ranking.py), and how much the full-text ranking counts in hybrid search
(owner/semantic.py). The held-out TEST queries are never read here.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np
from retrieval import SETS, figures, package_tree
from retrieval_queries import STDLIB_MODULES
from stdlib_box import REPO, default_stdlib

from codeanalysisd import query_language
from codeanalysisd.db import vectors
from codeanalysisd.db.store import Store
from codeanalysisd.embed import vocabulary
from codeanalysisd.embed.embedder import Embedder
from codeanalysisd.embed.matrix import VectorMatrix
from codeanalysisd.index import ranking
from codeanalysisd.owner.semantic import NAME_WEIGHT, TEXT_WEIGHT, _text_as_chunks, fuse
from codeanalysisd.paths import roots_overlap
from codeanalysisd.repair.disk import from_bytes

GRAPH = REPO / "build" / "retrieval" / "all-MiniLM-L6-v2-int8.onnx"
DEV = SETS["dev"]
VOCAB = vocabulary.words()
STEPS = (0.0, 0.02, 0.04, 0.06, 0.08)
TEXT_WEIGHTS = (0.0, 0.02, 0.05, 0.1)
NAME_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.25)
# The identifier the model cannot read (tests/system/test_system_semantic.py): a rule must keep it first.
IDENTIFIER = ("gettempdir default temporary directory", ("tempfile.py", "gettempdir"))
_WORD = re.compile(r"[A-Za-z0-9_]+")


def _whole_name(symbol: str, query: str) -> bool:
    """The definition's whole name is a word of the query (``gettempdir``, ``split``)."""
    name = symbol.rsplit(".", 1)[-1].strip("_").lower()
    return bool(name) and name in {w.strip("_").lower() for w in _WORD.findall(query)}


def _names_query(symbol: str, query: str) -> bool:
    """The query says a word of the definition's name (or the name holds a word of it, as
    ``nlargest`` holds "largest"): words of three letters or more. The rule before this one."""
    words = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", query) if len(w) >= 3}
    name = symbol.rsplit(".", 1)[-1].lower().strip("_")
    parts = [p for p in ranking.name_parts(symbol) if len(p) >= 3]
    return any(p in words for p in parts) or any(len(w) >= 4 and w in name for w in words)


def _every_part(symbol: str, query: str) -> bool:
    """Every word of the definition's name (three letters or more) is a word of the query."""
    words = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", query)}
    parts = [p for p in ranking.name_parts(symbol) if len(p) >= 3]
    return _whole_name(symbol, query) or (bool(parts) and all(p in words for p in parts))


def _unknown_words(symbol: str, query: str) -> bool:
    """The rule of _names_query, over the query's words the model's vocabulary does
    not hold whole (``gettempdir``), not its English words (``split``, ``file``)."""
    odd = " ".join(w for w in _WORD.findall(query) if w.lower() not in VOCAB)
    return bool(odd) and _names_query(symbol, odd)


def _unknown_whole_name(symbol: str, query: str) -> bool:
    """The definition's whole name is a word of the query the model's vocabulary does not
    hold (``gettempdir``, not ``split``): the rule taken."""
    return ranking.says_unread_name(symbol, query, VOCAB)


NAMES_RULES = {"a word of its name": _names_query, "its whole name": _whole_name,
               "every word of its name": _every_part, "a word of its name, not in the vocabulary": _unknown_words,
               "its whole name, not in the vocabulary": _unknown_whole_name}


def corpus_files() -> list[tuple[str, bytes]]:
    stdlib = pathlib.Path(default_stdlib())
    roots = [(stdlib / m, m) for m in STDLIB_MODULES] + [(package_tree() / "requests", "requests")]
    out = []
    for path, rel in roots:
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for f in files:
            out.append((rel if path.is_file() else f"{rel}/{f.relative_to(path)}", f.read_bytes()))
    return out


def build(tmp: str) -> tuple[Store, VectorMatrix, Embedder]:
    """The corpus indexed and embedded; kept in build/retrieval/dev-index for the next run
    while this checkout's chunking stays the same."""
    if not GRAPH.is_file():
        subprocess.run([sys.executable, "-m", "codeanalysisd.embed.onnx_graph", str(GRAPH)], check=True)
    kept = REPO / "build" / "retrieval" / f"dev-index-{_chunking_digest()}"
    fresh = not kept.is_dir()
    kept.mkdir(parents=True, exist_ok=True)
    store, _ = Store.open(str(kept / "i.db"), str(kept / "h.db"))
    if fresh:
        store.writes.projects.add(os.path.join(tmp, "corpus"), roots_overlap)
        store.writes.files.index("corpus", [from_bytes(rel, data, len(data), 1, 1 << 22)
                                            for rel, data in corpus_files()])
    embedder = Embedder(GRAPH)
    model, _ = store.writes.vectors.register_model(embedder.model_id, embedder.dim)
    after = 0
    while True:
        texts, after = store.reads.vectors.pending(model.id, after, 2000)
        if texts:
            embedded = embedder.embed([t for _, t in texts])
            store.writes.vectors.store(model.id, [(k, embedded[i].tobytes()) for i, (k, _) in enumerate(texts)])
        if after == 0:
            break
    matrix = VectorMatrix(embedder.dim, capacity=store.reads.vectors.count(model.id) + 1)
    page = store.reads.vectors.page(model.id, 0, 10**7)
    matrix.add([i for i, _, _ in page], [k for _, k, _ in page],
               np.frombuffer(b"".join(v for _, _, v in page), np.float32).reshape(len(page), -1))
    print(f"corpus: {len(matrix)} vectors", flush=True)
    return store, matrix, Embedder(GRAPH, spinning=False)


def _chunking_digest() -> str:
    import hashlib

    return hashlib.sha256((REPO / "codeanalysisd" / "index" / "chunking.py").read_bytes()).hexdigest()[:12]


def rank(found, target) -> int | None:
    return next((i for i, m in enumerate(found, 1) if (m.path, m.symbol) == target), None)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store, matrix, query_embedder = build(tmp)
        db = store.reads.vectors.db
        asked = [*DEV, IDENTIFIER[0]]
        nearest = {q: matrix.nearest(query_embedder.embed([q])[0], 400) for q in asked}
        text = {q: _text_as_chunks(store.reads, query_language.parse(q), "corpus", 30) for q in asked}
        print("| window | private | semantic top-1 | top-5 | MRR |\n|---|---|---|---|---|")
        results = {}
        for w, p in itertools.product(STEPS, STEPS):
            weights = ranking.Weights(window=w, private=p)
            ranks = [rank(vectors.resolve(db, nearest[q], "corpus", 10, weights), t) for q, t in DEV.items()]
            f = results[(w, p)] = figures(ranks)
            print(f"| {w} | {p} | {f['top1']:.0%} | {f['top5']:.0%} | {f['mrr']:.3f} |", flush=True)
        chosen = ranking.WEIGHTS
        semantic = {q: vectors.resolve(db, nearest[q], "corpus", 30, chosen) for q in asked}
        texts = {"any word (BM25)": text}
        for label, says in NAMES_RULES.items():
            texts[f"hits in a definition: {label}"] = {q: [m for m in text[q] if says(m.symbol, q)] for q in asked}
        print(f"\nhybrid, with the ranking's weights {chosen}: vectors (weight 1), the vector candidates whose "
              "name the query says (by each rule), full-text hits (any, or in a definition the rule admits)")
        print("| names: rule | weight | full text | its weight | top-1 | top-5 | MRR | gettempdir first |\n"
              "|---|---|---|---|---|---|---|---|")
        first = next(iter(NAMES_RULES.values()))
        for rule, says in NAMES_RULES.items():
            named = {q: [m for m in semantic[q] if says(m.symbol, q)] for q in asked}
            for label in ("any word (BM25)", f"hits in a definition: {rule}"):
                for wn, wt in itertools.product(NAME_WEIGHTS, TEXT_WEIGHTS):
                    if label == "any word (BM25)" and (wn not in (0.0, NAME_WEIGHT)
                                                       or (wn == 0.0 and says is not first)):
                        continue
                    ranks = [rank(fuse(semantic[q], texts[label][q], named[q], limit=10, weights=(1.0, wt, wn)), t)
                             for q, t in DEV.items()]
                    f = figures(ranks)
                    q, t = IDENTIFIER
                    at_top = rank(fuse(semantic[q], texts[label][q], named[q], limit=10, weights=(1.0, wt, wn)), t) == 1
                    print(f"| {rule} | {wn} | {label} | {wt} | {f['top1']:.0%} | {f['top5']:.0%} | {f['mrr']:.3f} | "
                          f"{'yes' if at_top else 'no'} |", flush=True)
        print(f"\nchosen: its whole name, not in the vocabulary: names {NAME_WEIGHT}, full text {TEXT_WEIGHT}")
        store.close()


if __name__ == "__main__":
    main()

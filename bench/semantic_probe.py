"""Runs inside the sandbox with the suite's own Python; prints JSON. Steps of bench/semantic.py:

  write-project ROOT FILES FIRST  synthetic project: FILES files of 100 distinct small functions,
                               numbered from file FIRST (so no two projects share a text)
  inject MODEL                 random unit vectors for every chunk lacking one (owner stopped)
  latency N PROJECT            SemanticSearch through the bus, N queries: milliseconds each
  reference N                  the same searches by hand: numpy brute force and sqlite-vec's
                               vec0 scan over the stored vectors, and the model on one query
  embed-reference ROOT         the model alone on the chunks of ROOT's files, chunks/s
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import sys
import time

import apsw
import numpy as np

DB = "/var/lib/codeanalysisd/index.sqlite3"
PER_FILE = 100
WORDS = ("parse", "render", "retry", "cache", "merge", "split", "encode", "decode", "sort", "filter", "open", "close",
         "send", "receive", "hash", "compress", "validate", "format", "schedule", "wrap")


def queries(n: int) -> list[str]:
    rng = np.random.default_rng(7)
    return [" ".join(rng.choice(WORDS, 4)) + f" the {i} items of a list" for i in range(n)]


def write_project(root: str, files: int, first: int) -> dict:
    base = pathlib.Path(root)
    base.mkdir(parents=True, exist_ok=True)
    for f in range(first, first + files):
        body = "".join(f"def {WORDS[i % len(WORDS)]}_{f}_{i}(value):\n    return value * {i} + {f}\n\n\n"
                       for i in range(PER_FILE))
        (base / f"mod_{f:05d}.py").write_text(body)
    return {"files": files, "chunks": files * PER_FILE}


def _db(readonly: bool = False) -> apsw.Connection:
    import sqlite_vec

    db = apsw.Connection(DB, flags=apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE)
    db.enable_load_extension(True)
    db.load_extension(sqlite_vec.loadable_path())
    return db


def inject(model: str) -> dict:
    db = _db()
    model_id, dim = db.execute("SELECT id, dim FROM models WHERE name = ?", (model,)).fetchone()
    keys = [bytes(k) for (k,) in db.execute(
        "SELECT DISTINCT key FROM chunks c WHERE NOT EXISTS "
        "(SELECT 1 FROM embeddings e WHERE e.model_id = ? AND e.key = c.key)", (model_id,))]
    rng = np.random.default_rng(len(keys))
    vectors = rng.standard_normal((len(keys), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.monotonic()
    with db:
        for key, vector in zip(keys, vectors, strict=True):
            (i,) = db.execute("INSERT INTO embeddings (model_id, key) VALUES (?, ?) RETURNING id",
                              (model_id, key)).fetchone()
            db.execute(f"INSERT INTO vectors_{model_id} (rowid, embedding) VALUES (?, ?)", (i, vector.tobytes()))
    return {"injected": len(keys), "seconds": time.monotonic() - started}


async def _latency(n: int, project: str) -> list[float]:
    from dbus_fast import BusType, Message, MessageType
    from dbus_fast.aio import MessageBus

    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    out = []
    for text in queries(n):
        started = time.perf_counter()
        reply = await bus.call(Message(destination="org.codeanalysis1", path="/org/codeanalysis1",
                                       interface="org.codeanalysis1.Manager", member="SemanticSearch",
                                       signature="ssu", body=[text, project, 10]))
        out.append((time.perf_counter() - started) * 1000)
        if reply.message_type == MessageType.ERROR or len(reply.body[0]) != 10:
            raise SystemExit(f"SemanticSearch failed: {reply.error_name} {reply.body}")
    bus.disconnect()
    return out


def reference(n: int) -> dict:
    from codeanalysisd.embed.embedder import Embedder

    db = _db(readonly=True)
    (model_id,) = db.execute("SELECT id FROM models ORDER BY used DESC LIMIT 1").fetchone()
    rows = db.execute(f"SELECT embedding FROM vectors_{model_id}").fetchall()
    matrix = np.frombuffer(b"".join(r[0] for r in rows), np.float32).reshape(len(rows), -1)
    embedder = Embedder(spinning=False)  # as the vectorizer embeds queries
    texts = queries(n)
    embed_ms, numpy_ms, vec0_ms = [], [], []
    for text in texts:
        started = time.perf_counter()
        q = embedder.embed([text])[0]
        embed_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        scores = matrix @ q
        top = np.argpartition(-scores, 9)[:10]
        top[np.argsort(-scores[top])]
        numpy_ms.append((time.perf_counter() - started) * 1000)
    for text in texts[:20]:
        q = embedder.embed([text])[0]
        started = time.perf_counter()
        db.execute(f"SELECT rowid, distance FROM vectors_{model_id} WHERE embedding MATCH ? AND k = 10",
                   (q.tobytes(),)).fetchall()
        vec0_ms.append((time.perf_counter() - started) * 1000)
    return {"vectors": len(rows), "embed_query_ms": embed_ms, "numpy_ms": numpy_ms, "vec0_ms": vec0_ms}


def embed_reference(root: str) -> dict:
    from codeanalysisd.embed.embedder import Embedder
    from codeanalysisd.index import chunking
    from codeanalysisd.index.extract import extract

    texts = []
    for dirpath, _dirs, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            source = pathlib.Path(dirpath, name).read_bytes()
            facts = extract(source)
            if facts.text is None:
                continue
            lines = chunking.source_lines(facts.text)
            defs = [chunking.Definition(d.qualname, d.kind, d.line, d.end_line, len(d.decorators), d.parent,
                                        d.docstring is not None)
                    for d in facts.definitions]
            texts += [c.text(lines) for c in chunking.chunks(lines, defs, facts.module_docstring is not None)]
    unique = list(dict.fromkeys(texts))
    embedder = Embedder()
    started = time.monotonic()
    embedder.embed(unique)
    seconds = time.monotonic() - started
    return {"chunks": len(unique), "seconds": seconds, "chunks_per_s": len(unique) / seconds}


if __name__ == "__main__":
    step, args = sys.argv[1], sys.argv[2:]
    if step == "write-project":
        result = write_project(args[0], int(args[1]), int(args[2]))
    elif step == "inject":
        result = inject(args[0])
    elif step == "latency":
        result = {"ms": asyncio.run(_latency(int(args[0]), args[1] if len(args) > 1 else ""))}
    elif step == "reference":
        result = reference(int(args[0]))
    elif step == "embed-reference":
        result = embed_reference(args[0])
    else:
        raise SystemExit(__doc__)
    json.dump(result, sys.stdout)

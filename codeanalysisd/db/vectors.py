"""Embedding models, vectors, and the chunks that wait for one: the one place for their rows.

Vectors are keyed by (model, chunk key), so a chunk text shared by many files, or kept
across a rename, has one vector. A model's vectors live in a sqlite-vec ``vec0`` table of
their own, ``vectors_<model id>``, with the embeddings row's id as rowid; a trigger per
model keeps the two in step, whatever deletes an embeddings row.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import apsw
import sqlite_vec

from codeanalysisd.db import stored_text
from codeanalysisd.db.rows import returned_id, single_int
from codeanalysisd.index import chunking, ranking

KEY_BYTES = chunking.KEY_BYTES


class BadVector(ValueError):
    """A vector that does not fit its model (wrong size, not finite) or a bad key."""


def load_extension(db: apsw.Connection) -> None:
    """vec0 must be known to every connection that touches a model's table (a trigger, a read)."""
    db.enable_load_extension(True)
    try:
        db.load_extension(sqlite_vec.loadable_path())
    finally:
        db.enable_load_extension(False)


@dataclass(frozen=True)
class Model:
    id: int
    name: str
    dim: int
    complete: float | None


# A models row as Model reads it: id, name, dim, complete (the columns' types; complete NULL: not yet).
_ModelRow = tuple[int, str, int, float | None]


def _table(model_id: int) -> str:
    return f"vectors_{int(model_id)}"


def register_model(db: apsw.Connection, name: str, dim: int) -> tuple[Model, bool]:
    """The model's row (created with its vector table the first time), now the current one;
    True if it is new."""
    now = time.time()
    row = db.execute("SELECT id FROM models WHERE name = ? AND dim = ?", (name, dim)).fetchone()
    if row:
        db.execute("UPDATE models SET used = ? WHERE id = ?", (now, row[0]))
        return model(db, row[0]), False
    model_id = returned_id(db.execute("INSERT INTO models (name, dim, created, used) VALUES (?, ?, ?, ?) RETURNING id",
                                      (name, dim, now, now)))
    table = _table(model_id)
    db.execute(f"CREATE VIRTUAL TABLE {table} USING vec0(embedding float[{int(dim)}])")
    db.execute(f"CREATE TRIGGER embeddings_delete_{int(model_id)} AFTER DELETE ON embeddings "
               f"WHEN old.model_id = {int(model_id)} BEGIN DELETE FROM {table} WHERE rowid = old.id; END")
    return model(db, model_id), True


def model(db: apsw.Connection, model_id: int) -> Model:
    row = cast(_ModelRow | None, db.execute("SELECT id, name, dim, complete FROM models WHERE id = ?",
                                            (model_id,)).fetchone())
    if row is None:
        raise LookupError(f"no model {model_id}")
    return Model(*row)


def current(db: apsw.Connection) -> Model | None:
    row = cast(_ModelRow | None, db.execute(
        "SELECT id, name, dim, complete FROM models ORDER BY used DESC, id DESC LIMIT 1").fetchone())
    return Model(*row) if row else None


def models(db: apsw.Connection) -> list[tuple[Model, int]]:
    """Every model with its number of vectors, oldest first."""
    return [(Model(*row[:4]), row[4]) for row in db.execute(
        "SELECT m.id, m.name, m.dim, m.complete, (SELECT count(*) FROM embeddings e WHERE e.model_id = m.id) "
        "FROM models m ORDER BY m.id")]


_MISSING = "NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = ? AND e.key = c.key)"


def pending_count(db: apsw.Connection, model_id: int | None) -> int:
    """Distinct chunk texts with no vector of the model (all of them if there is no model yet)."""
    if model_id is None:
        return single_int(db.execute("SELECT count(DISTINCT key) FROM chunks"))
    return single_int(db.execute(f"SELECT count(DISTINCT c.key) FROM chunks c WHERE {_MISSING}", (model_id,)))


def pending(db: apsw.Connection, model_id: int, after: int, limit: int) -> tuple[list[tuple[bytes, str]], int]:
    """Up to ``limit`` chunks after chunk id ``after`` that have no vector of the model, as
    (key, text), and the chunk id to continue after (0: the end was reached, start over)."""
    # The types are the columns' (key BLOB, the rest INTEGER).
    rows = cast(list[tuple[int, bytes, int, int, int, int]], db.execute(
        f"SELECT c.id, c.key, c.file_id, c.start_line, c.end_line, c.head_line FROM chunks c "
        f"WHERE c.id > ? AND {_MISSING} ORDER BY c.id LIMIT ?", (after, model_id, limit)).fetchall())
    lines_of = stored_text.lines_of(db)
    seen: set[bytes] = set()
    out = []
    for _id, key, file_id, start, end, head in rows:
        key = bytes(key)
        if key in seen:
            continue
        seen.add(key)
        text = lines_of(file_id)
        if text is not None and end <= len(text):
            out.append((key, chunking.chunk_text(text, start, end, head)))
    return out, (rows[-1][0] if len(rows) == limit else 0)


def store(db: apsw.Connection, model_id: int, items: Sequence[tuple[bytes, bytes]]) -> list[tuple[int, bytes]]:
    """Keep (key, float32 little-endian vector) pairs; a key the model has already is left as
    it is. Returns (embedding id, key) of the vectors stored now."""
    found = model(db, model_id)
    size = found.dim * 4
    for key, vector in items:
        if len(key) != KEY_BYTES:
            raise BadVector(f"a chunk key is {KEY_BYTES} bytes of a sha256, got {len(key)} bytes")
        if len(vector) != size:
            raise BadVector(f"model {found.name} has {found.dim} dimensions ({size} bytes), got {len(vector)} bytes")
        if not all(map(math.isfinite, struct.unpack(f"<{found.dim}f", vector))):
            raise BadVector("a vector holds a NaN or an infinity")
    table = _table(model_id)
    stored = []
    for key, vector in items:
        row = db.execute("INSERT INTO embeddings (model_id, key) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
                         (model_id, key)).fetchone()
        if row:
            db.execute(f"INSERT INTO {table} (rowid, embedding) VALUES (?, ?)", (row[0], vector))
            stored.append((row[0], bytes(key)))
    return stored


def vectors(db: apsw.Connection, model_id: int, after: int, limit: int) -> list[tuple[int, bytes, bytes]]:
    """A page of the model's vectors: (embedding id, key, float32 bytes), by id.

    The vec0 table is read by a rowid range on its own and the keys by the same range:
    joining the two makes SQLite look each vector up one by one, ~90 times slower."""
    # The types are the columns' (the vec0 rowid, its float32 embedding as a BLOB).
    rows = cast(list[tuple[int, bytes]], db.execute(
        f"SELECT rowid, embedding FROM {_table(model_id)} WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (after, limit)).fetchall())
    if not rows:
        return []
    keys = dict(db.execute("SELECT id, key FROM embeddings WHERE model_id = ? AND id > ? AND id <= ?",
                           (model_id, after, rows[-1][0])))
    return [(i, bytes(keys[i]), bytes(v)) for i, v in rows if i in keys]


def stored_count(db: apsw.Connection, model_id: int) -> int:
    return single_int(db.execute("SELECT count(*) FROM embeddings WHERE model_id = ?", (model_id,)))


def finish(db: apsw.Connection, model_id: int) -> list[Model]:
    """If every chunk has a vector of the model: mark it complete and drop every other
    model's vectors (kept until now so search went on meanwhile). Returns the models dropped."""
    if pending_count(db, model_id):
        return []
    db.execute("UPDATE models SET complete = ? WHERE id = ? AND complete IS NULL", (time.time(), model_id))
    dropped = [Model(*row) for row in cast(list[_ModelRow], db.execute(
        "SELECT id, name, dim, complete FROM models WHERE id != ?", (model_id,)).fetchall())]
    for old in dropped:
        db.execute(f"DROP TRIGGER IF EXISTS embeddings_delete_{old.id}")
        db.execute("DELETE FROM embeddings WHERE model_id = ?", (old.id,))
        db.execute("DELETE FROM models WHERE id = ?", (old.id,))
        db.execute(f"DROP TABLE IF EXISTS {_table(old.id)}")
    return dropped


def prune_orphans(db: apsw.Connection) -> int:
    """Vectors of texts no chunk has any more (edited or deleted code)."""
    db.execute("DELETE FROM embeddings WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.key = embeddings.key)")
    return db.changes()


@dataclass(frozen=True)
class Match:
    project: str
    path: str
    symbol: str
    line: int
    end_line: int
    score: float
    snippet: str


def candidates(db: apsw.Connection, scored: Iterable[tuple[bytes, float]], project: str | None
               ) -> list[ranking.Candidate]:
    """Every live chunk (in ``project``, if given) behind the keys, with its key's score: a
    key no file holds any more (deleted or edited code) yields nothing."""
    score_of: dict[bytes, float] = {}
    for key, score in scored:
        score_of.setdefault(bytes(key), score)
    keys = list(score_of)
    # The types are the columns' (key BLOB; project_id, path, symbol TEXT; the rest INTEGER).
    found: list[tuple[bytes, str, str, str, int, int, int, int]] = []
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        marks = ",".join("?" * len(part))
        found += cast(list[tuple[bytes, str, str, str, int, int, int, int]], db.execute(
            f"SELECT c.key, f.project_id, f.path, c.symbol, c.start_line, c.end_line, c.head_line, c.file_id "
            f"FROM chunks c "
            f"JOIN files f ON f.id = c.file_id WHERE c.key IN ({marks}) AND f.state = 'live'"
            + (" AND f.project_id = ?" if project else ""), (*part, *([project] if project else []))).fetchall())
    return [ranking.Candidate(pid, path, symbol, start, end, head != 0, score_of[bytes(key)], file_id)
            for key, pid, path, symbol, start, end, head, file_id in found]


def resolve(db: apsw.Connection, scored: Iterable[tuple[bytes, float]], project: str | None, limit: int,
            weights: ranking.Weights = ranking.WEIGHTS) -> list[Match]:
    """The definitions behind the best keys, each once, best first (index/ranking.py)."""
    chosen = ranking.definitions(candidates(db, scored, project), limit, weights)
    lines_of = stored_text.lines_of(db)
    out = []
    for c, score in chosen:
        text = lines_of(c.file_id) or []
        snippet = next((text[i].strip() for i in range(c.line - 1, min(c.end_line, len(text))) if text[i].strip()),
                       "")
        out.append(Match(c.project, c.path, c.symbol, c.line, c.end_line, score, snippet[:200]))
    return out


def project_keys(db: apsw.Connection, project: str) -> list[bytes]:
    return [bytes(k) for (k,) in db.execute(
        "SELECT DISTINCT c.key FROM chunks c JOIN files f ON f.id = c.file_id WHERE f.project_id = ?", (project,))]


def chunk_count(db: apsw.Connection) -> int:
    return single_int(db.execute("SELECT count(*) FROM chunks"))


def chunk_at(db: apsw.Connection, project: str, path: str, line: int) -> tuple[str, int, int] | None:
    """(symbol, first line, last line) of the chunk holding a line of a file, if one does."""
    return cast(tuple[str, int, int] | None, db.execute(
        "SELECT c.symbol, c.start_line, c.end_line FROM chunks c JOIN files f ON f.id = c.file_id "
        "WHERE f.project_id = ? AND f.path = ? AND c.start_line <= ? AND c.end_line >= ? "
        "ORDER BY c.start_line DESC LIMIT 1", (project, path, line, line)).fetchone())

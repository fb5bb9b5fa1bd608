"""Reading the index: full-text search, definitions, references, sources, problems."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import apsw

_WORD = re.compile(r"\w+")
SNIPPET_MAX = 200
# A full-text query's bounds. FTS5's cost grows with the square of a repeated word's copies
# (300 copies of "self" over 2,000 windows: about a second on the event loop), so words are
# deduplicated; distinct words cost linearly, and these caps keep even that small.
MAX_QUERY_WORDS = 32  # distinct words, after removing repeats (case-insensitive)
MAX_QUERY_CHARS = 1024


@dataclass(frozen=True)
class Hit:
    project: str
    path: str
    line: int
    symbol: str
    snippet: str
    score: float


@dataclass(frozen=True)
class Symbol:
    project: str
    path: str
    qualname: str
    kind: str
    line: int
    column: int
    end_line: int
    signature: str
    docstring: str


@dataclass(frozen=True)
class Usage:
    project: str
    path: str
    name: str
    kind: str
    line: int
    column: int
    scope: str


class BadQuery(ValueError):
    pass


class QueryTooLarge(BadQuery):
    """More words, or more characters, than a full-text query may have (the message says the limit)."""


def query_words(query: str) -> list[str]:
    """The distinct words of a full-text query in the order first seen, repeats (in any case)
    dropped; BadQuery when there is none, QueryTooLarge beyond MAX_QUERY_CHARS or MAX_QUERY_WORDS."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryTooLarge(f"the query is {len(query)} characters long; at most {MAX_QUERY_CHARS} are allowed")
    seen: dict[str, str] = {}
    for word in _WORD.findall(query):
        seen.setdefault(word.lower(), word)
    if not seen:
        raise BadQuery(f"nothing to search for in {query!r}: give at least one word")
    if len(seen) > MAX_QUERY_WORDS:
        raise QueryTooLarge(f"the query has {len(seen)} different words; at most {MAX_QUERY_WORDS} are allowed")
    return list(seen.values())


def _fts_query(query: str, any_word: bool = False) -> tuple[str, list[str]]:
    """Plain words to an FTS5 query: every word must occur, or with ``any_word`` one of them
    (quoted, so no FTS syntax leaks in). Each word is asked for once, however often it is written."""
    words = query_words(query)
    quoted = ('"' + w.replace('"', '""') + '"' for w in words)
    return (" OR " if any_word else " ").join(quoted), [w.lower() for w in words]


def _project_filter(project: str | None) -> tuple[str, tuple[str, ...]]:
    return (" AND f.project_id = ?", (project,)) if project else ("", ())


def enclosing_symbol(db: apsw.Connection, file_id: int, line: int) -> str:
    row = cast(tuple[str] | None, db.execute(
        "SELECT qualname FROM definitions WHERE file_id = ? AND line <= ? AND end_line >= ? "
        "ORDER BY line DESC LIMIT 1", (file_id, line, line)).fetchone())
    return row[0] if row else ""


def search(db: apsw.Connection, query: str, project: str | None, limit: int, any_word: bool = False) -> list[Hit]:
    match, words = _fts_query(query, any_word)
    where, args = _project_filter(project)
    # The types are the columns' (the window's text is what indexing put there; bm25 is REAL).
    rows = cast(list[tuple[str, str, int, int, str, float]], db.execute(
        "SELECT f.project_id, f.path, f.id, c.start_line, fts.text, bm25(fts) AS score "
        "FROM fts JOIN text_chunks c ON c.id = fts.rowid JOIN files f ON f.id = c.file_id "
        f"WHERE fts MATCH ? AND f.state = 'live'{where} ORDER BY score LIMIT ?",
        (match, *args, limit)).fetchall())
    hits = []
    for project_id, path, file_id, start, text, score in rows:
        # the window matched; point at its first line holding one of the words
        offset, snippet = 0, ""
        for i, line in enumerate(text.split("\n")):
            tokens = {t.lower() for t in _WORD.findall(line)}
            if any(w in tokens for w in words):
                offset, snippet = i, line.strip()
                break
        line_no = start + offset
        hits.append(Hit(project_id, path, line_no, enclosing_symbol(db, file_id, line_no), snippet[:SNIPPET_MAX],
                        -score))
    return hits


def find_symbol(db: apsw.Connection, name: str, project: str | None, kind: str, limit: int) -> list[Symbol]:
    where, args = _project_filter(project)
    cond_args: tuple[str, ...]
    if any(ch in name for ch in "*?["):
        column = "d.qualname" if "." in name else "d.name"
        cond, cond_args = f"{column} GLOB ?", (name,)
    elif "." in name:
        cond, cond_args = "(d.qualname = ? OR d.qualname LIKE ? ESCAPE '\\')", (name, "%." + like_escape(name))
    else:
        cond, cond_args = "d.name = ?", (name,)
    if kind:
        where += " AND d.kind = ?"
        args = (*args, kind)
    # The types are the columns' (the docstring coalesced to text).
    rows = cast(list[tuple[str, str, str, str, int, int, int, str, str]], db.execute(
        "SELECT f.project_id, f.path, d.qualname, d.kind, d.line, d.col, d.end_line, d.signature, "
        "coalesce(d.docstring, '') FROM definitions d JOIN files f ON f.id = d.file_id "
        f"WHERE {cond} AND f.state = 'live'{where} ORDER BY f.project_id, f.path, d.line LIMIT ?",
        (*cond_args, *args, limit)).fetchall())
    return [Symbol(*row[:8], row[8].split("\n", 1)[0]) for row in rows]


def find_references(db: apsw.Connection, name: str, project: str | None, limit: int) -> list[Usage]:
    where, args = _project_filter(project)
    last = name.rsplit(".", 1)[-1]
    cond_args: tuple[str, ...]
    if "." in name:
        cond = "r.last = ? AND (r.name = ? OR r.name LIKE ? ESCAPE '\\')"
        cond_args = (last, name, "%." + like_escape(name))
    else:
        cond, cond_args = "r.last = ?", (last,)
    # The types are the columns'.
    rows = cast(list[tuple[str, str, str, str, int, int, str]], db.execute(
        "SELECT f.project_id, f.path, r.name, r.kind, r.line, r.col, r.scope FROM refs r "
        f"JOIN files f ON f.id = r.file_id WHERE {cond} AND f.state = 'live'{where} "
        "ORDER BY f.project_id, f.path, r.line, r.col LIMIT ?", (*cond_args, *args, limit)).fetchall())
    return [Usage(*row) for row in rows]


def like_escape(text: str) -> str:
    """Text matched literally by LIKE ... ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def file_source(db: apsw.Connection, project: str, path: str) -> tuple[bytes | None, str, str]:
    """(bytes or None, state, problems) of a file's current content; raises LookupError if unknown."""
    # The types are the columns' (no blob row: no data).
    row = cast(tuple[bytes | None, str, str] | None, db.execute(
        "SELECT b.data, f.state, f.problems FROM files f LEFT JOIN blobs b ON b.sha256 = f.sha256 "
        "WHERE f.project_id = ? AND f.path = ?", (project, path)).fetchone())
    if row is None:
        raise LookupError(path)
    return row[0], row[1], row[2]


def problems(db: apsw.Connection, project: str | None) -> list[tuple[str, str, str]]:
    where, args = _project_filter(project)
    # The types are the columns' (syntax NULL: not verified yet).
    rows = cast(list[tuple[str, str, str, str | None]], db.execute(
        "SELECT f.project_id, f.path, f.problems, f.syntax FROM files f WHERE f.state = 'live' AND "
        f"(f.problems != '' OR (f.syntax IS NOT NULL AND f.syntax != 'exact')){where} "
        "ORDER BY f.project_id, f.path", args).fetchall())
    found = [(pid, path, "\n".join(p for p in (problems, syntax if syntax != "exact" else "") if p))
             for pid, path, problems, syntax in rows]
    found += cast(list[tuple[str, str, str]], db.execute(
        f"SELECT f.project_id, f.path, f.reason FROM skipped f WHERE 1{where}", args).fetchall())
    return sorted(found)

"""Reading the index: full-text search, definitions, references, sources, problems."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar, cast

import apsw

from codeanalysisd import query_language
from codeanalysisd.db import fts_terms, int_columns, name_rows, stored_text
from codeanalysisd.db.common_words import CommonWords
from codeanalysisd.db.fts_terms import TermCache
from codeanalysisd.db.rows import one_read
from codeanalysisd.db.stored_text import WINDOW, WINDOW_COLUMNS, WINDOW_JOINS, stored_window, text_of
from codeanalysisd.query_language import MAX_QUERY_CHARS, MAX_QUERY_WORDS, BadQuery, Query, QueryTooLarge, query_words

# A full-text query's bounds (query_language: MAX_QUERY_WORDS, MAX_QUERY_CHARS). FTS5's cost
# grows with the square of a repeated word's copies (300 copies of "self" over 2,000 windows:
# about a second on the event loop), so words are deduplicated; distinct words cost linearly,
# and the caps keep even that small.
__all__ = ["MAX_QUERY_CHARS", "MAX_QUERY_WORDS", "BadQuery", "QueryTooLarge", "query_words"]

SNIPPET_MAX = 200
# Windows a query's filters (case, phrases, regexes, definitions) look at, at most, for one
# answer: each costs a few microseconds of Python beside FTS5's own ranking.
MAX_CANDIDATES = 20_000
# A filtered query first ranks only this many windows per row asked for (the best of them,
# which FTS5 keeps without sorting the rest), and ranks the rest only when those did not fill
# the answer: sorting every window that holds a common word costs more than filtering the few
# an answer usually needs.
FIRST_CANDIDATES_PER_ROW = 4
# sym: values this long or longer are looked up in the trigram index of definitions' names;
# a shorter one holds no trigram, so every name is read.
TRIGRAM = 3
# The longest runs of word characters of a regex's literal text looked up in the index's terms.
RUNS_TRIED = 3
# Words found in fewer windows than this: a regex reads all of them in about the time looking
# its runs up in the terms takes (1 to 3 ms over the standard library's), so it does.
MIN_WINDOWS_TO_NARROW = 500


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


def _fts_query(query: str | Query, any_word: bool = False) -> tuple[str, list[str]]:
    """A query's words (its phrases' too) to an FTS5 query: every word must occur, or with
    ``any_word`` one of them (quoted, so no FTS syntax leaks in). Each word is asked for once,
    however often it is written."""
    words = query_words(query) if isinstance(query, str) else query.fts_words()
    quoted = ('"' + w.replace('"', '""') + '"' for w in words)
    return (" OR " if any_word else " ").join(quoted), [w.lower() for w in words]


def _project_filter(project: str | None) -> tuple[str, tuple[str, ...]]:
    return (" AND f.project_id = ?", (project,)) if project else ("", ())


def enclosing_symbol(db: apsw.Connection, file_id: int, line: int) -> str:
    row = cast(tuple[str] | None, db.execute(
        "SELECT qualname FROM definitions WHERE file_id = ? AND line <= ? AND end_line >= ? "
        "ORDER BY line DESC LIMIT 1", (file_id, line, line)).fetchone())
    return row[0] if row else ""


def _path_filter(query: Query) -> tuple[str, tuple[str, ...]]:
    sql, args = "", cast(tuple[str, ...], ())
    if query.paths:
        sql += " AND (" + " OR ".join("path_glob(?, f.path)" for _ in query.paths) + ")"
        args += query.paths
    for glob in query.not_paths:
        sql += " AND NOT path_glob(?, f.path)"
        args += (glob,)
    return sql, args


def _definition_filter(query: Query) -> tuple[str, tuple[str, ...]]:
    """SQL over ``definitions d``: the kinds and names the query admits (query.definition_admits)."""
    sql, args = "", cast(tuple[str, ...], ())
    if query.kinds:
        sql += " AND d.kind IN (" + ", ".join("?" for _ in query.kinds) + ")"
        args += query.kinds
    if query.syms:
        name = "d.name" if query.case else "lower(d.name)"
        sql += " AND (" + " OR ".join(f"instr({name}, ?) > 0" for _ in query.syms) + ")"
        args += tuple(s if query.case else s.lower() for s in query.syms)
    return sql, args


def _name_candidates(query: Query) -> tuple[str, tuple[str, ...]]:
    """SQL over ``definitions d`` that narrows sym: to the definitions whose names hold every
    trigram of one of the values (definition_names), beside _definition_filter's exact check;
    nothing when a value is too short to have a trigram."""
    values = [s if query.case else s.lower() for s in query.syms]
    if not values or any(len(v) < TRIGRAM for v in values):
        return "", ()
    alternatives = []
    for value in values:
        trigrams = dict.fromkeys(value[i:i + TRIGRAM] for i in range(len(value) - TRIGRAM + 1))
        alternatives.append("(" + " AND ".join('"' + t.replace('"', '""') + '"' for t in trigrams) + ")")
    return " AND d.id IN (SELECT rowid FROM definition_names WHERE definition_names MATCH ?)", (
        " OR ".join(alternatives),)


def path_glob(*args: apsw.SQLiteValue) -> int:
    """SQL's path_glob(glob, path), registered on every connection (store._connect)."""
    glob, path = args
    return int(isinstance(glob, str) and isinstance(path, str) and query_language.glob_match(glob, path))


def search(db: apsw.Connection, query: str | Query, project: str | None, limit: int, any_word: bool = False,
           terms: TermCache | None = None, common: CommonWords | None = None) -> list[Hit]:
    """Full-text hits, best first (BM25) by window of lines: without line-level terms one per
    window, at its first line with a word; with them (phrases, regexes, definitions sym: and
    kind: admit) each line of the window they admit (_lines_in_window), in order. With
    ``any_word`` one word of the query is enough.
    ``query`` is the query language's (query_language.parse reads a str); ``terms``, the
    index's terms, lets a regex leave out the windows without its literal text unread;
    ``common``, the memos of common words, answers a query of one word without ranking every
    window that holds it."""
    if isinstance(query, str):
        query = query_language.parse(query)
    if not query.fts_words():
        return _definitions(db, query, project, limit)
    match, words = _fts_query(query, any_word)
    where, args = _project_filter(project)
    paths, path_args = _path_filter(query)
    defs, def_args = _definition_filter(query)
    if query.definitions_only:
        defs = (" AND EXISTS (SELECT 1 FROM definitions d WHERE d.file_id = f.id AND d.line >= c.start_line "
                f"AND d.line < c.start_line + {WINDOW}{defs})")
    filtered = query.case or query.phrases or query.regexes or query.definitions_only
    narrow, narrow_args = _term_filter(db, query, words, any_word, terms)
    # Ranked without the windows' text: sorting thousands of candidates with their text costs
    # ten times as much as sorting their ids, and a filter reads only as many as it needs.
    # Ties in score go by window id, so that the batches (_ranked) are one order.
    one_word = common if len(words) == 1 and not (filtered or narrow or paths or defs) else None
    remembered = _best_windows(db, match, limit, one_word, project) if one_word is not None and project else None
    if remembered is not None:
        ranked: Iterator[tuple[int, str, str, int, int, float]] = remembered
    elif filtered or narrow or where or paths or defs:
        sql = ("SELECT c.id AS chunk, f.project_id, f.path, f.id, c.start_line, bm25(fts) AS score "
               "FROM fts JOIN text_chunks c ON c.id = fts.rowid JOIN files f ON f.id = c.file_id "
               f"WHERE fts MATCH ? AND f.state = 'live'{narrow}{where}{paths}{defs} ORDER BY score, c.id")
        ranked = _ranked(db, sql, (match, *narrow_args, *args, *path_args, *def_args), limit, bool(filtered),
                         _text_filter(query))
    else:
        ranked = _best_windows(db, match, limit, one_word) or iter(())
    hits: list[Hit] = []
    for chunk, project_id, path, file_id, start, score in ranked:
        text = stored_window(db, chunk)
        if not query.window_may_hold(text):
            continue
        for offset, line in _lines_in_window(db, query, words, any_word, file_id, start, text):
            hits.append(Hit(project_id, path, start + offset, enclosing_symbol(db, file_id, start + offset),
                            line.strip()[:SNIPPET_MAX], -score))
        if len(hits) >= limit:
            break
    return hits[:limit]


def _ranked(db: apsw.Connection, sql: str, args: tuple[str | bytes, ...], limit: int, filtered: bool,
            text_filter: tuple[str, tuple[str, ...]]) -> Iterator[tuple[int, str, str, int, int, float]]:
    """The rows of ``sql`` (ordered, without LIMIT): ``limit`` of them unless ``filtered``;
    if so, a first batch, and only once the caller has taken all of it the rest of the first
    MAX_CANDIDATES, those without the texts the query requires (_text_filter) left out by
    SQLite as they come, which reads a window's text in a fraction of what a step of the
    caller's loop costs."""
    # The types are the columns' (bm25 is REAL).
    if not filtered:
        yield from cast(Iterator[tuple[int, str, str, int, int, float]],
                        db.execute(f"{sql} LIMIT ?", (*args, limit)))
        return
    first, taken = min(limit * FIRST_CANDIDATES_PER_ROW, MAX_CANDIDATES), 0
    for row in cast(Iterator[tuple[int, str, str, int, int, float]], db.execute(f"{sql} LIMIT ?", (*args, first))):
        taken += 1
        yield row
    if taken < first or first == MAX_CANDIDATES:
        return
    rest, rest_args = f"{sql} LIMIT ? OFFSET ?", (*args, MAX_CANDIDATES - first, first)
    condition, condition_args = text_filter
    if condition:
        # Each window's text is read as the caller takes the next row, in rank order: the
        # ranked rows are a subquery with a LIMIT, which SQLite does not merge into the
        # filtering one, and the text comes from a subquery of its own, not a join to reorder.
        rest = (f"SELECT r.* FROM ({rest}) r WHERE (SELECT {condition} FROM "
                f"(SELECT window_text({WINDOW_COLUMNS}) AS text FROM text_chunks c {WINDOW_JOINS} "
                "WHERE c.id = r.chunk) t)")
        rest_args += condition_args
    yield from cast(Iterator[tuple[int, str, str, int, int, float]], db.execute(rest, rest_args))


def _best_windows(db: apsw.Connection, match: str, limit: int, common: CommonWords | None = None,
                  project: str | None = None) -> Iterator[tuple[int, str, str, int, int, float]] | None:
    """The rows of an unfiltered query over every project, as ``_ranked`` gives them: the best
    windows ranked by FTS5 alone, and only those joined to their files. Joined before ranking,
    each window that holds a word costs two look-ups more (its row, its file's): for the
    commonest words of the standard library, in 11,000 to 23,000 windows each, a tenth to a
    fifth of the query's time (bench/best_windows.py). Every window is a live file's (a
    file's windows go when it is marked deleted, indexing.mark_deleted); one that is not is
    skipped, and more are ranked.

    ``common``: for a query of one phrase, the memo of its best windows (common_words), where
    it can tell them; then ranking and joining are of one read transaction, as the one
    statement is otherwise. With ``project``, the memo of that project's windows, or None
    where it cannot tell them (the caller ranks them joined)."""
    with one_read(db) if common is not None else contextlib.nullcontext():
        found = _best_live(db, match, limit, common, project)
    return None if found is None else iter(found)


def _best_live(db: apsw.Connection, match: str, limit: int, common: CommonWords | None, project: str | None
               ) -> list[tuple[int, str, str, int, int, float]] | None:
    asked = limit
    while True:
        remembered = common.best(db, match, asked, project) if common is not None else None
        if remembered is not None:
            rows = [_joined(db, window, score) for window, score in remembered]
        elif project is not None:
            return None
        else:
            # The types are the columns' (bm25 is REAL). SQLite does not merge a subquery with
            # a LIMIT into a join: the ranking is FTS5's alone. Each window ranked is a row,
            # live or not, so that fewer rows than asked say every window was.
            rows = cast(list[tuple[int, str, str, int, int, float, int | None]], db.execute(
                "SELECT r.rowid, f.project_id, f.path, f.id, c.start_line, r.score, f.state = 'live' FROM "
                "(SELECT rowid, bm25(fts) AS score FROM fts WHERE fts MATCH ? ORDER BY score, rowid LIMIT ?) r "
                "LEFT JOIN text_chunks c ON c.id = r.rowid LEFT JOIN files f ON f.id = c.file_id "
                "ORDER BY r.score, r.rowid", (match, asked)).fetchall())
        live = [row[:6] for row in rows if row[6]]
        if len(live) >= limit or len(rows) < asked:
            return live[:limit]
        asked *= 4


def _joined(db: apsw.Connection, window: int, score: float) -> tuple[int, str, str, int, int, float, int | None]:
    """A ranked window's row as _best_live's statement gives it: with its file, if it has one."""
    # The types are the columns'.
    row = cast(tuple[str, str, int, int, int] | None, db.execute(
        "SELECT f.project_id, f.path, f.id, c.start_line, f.state = 'live' FROM text_chunks c "
        "JOIN files f ON f.id = c.file_id WHERE c.id = ?", (window,)).fetchone())
    if row is None:
        return window, "", "", 0, 0, score, None
    project, path, file_id, start, live = row
    return window, project, path, file_id, start, score, live


def _term_filter(db: apsw.Connection, query: Query, words: list[str], any_word: bool, terms: TermCache | None
                 ) -> tuple[str, tuple[str | bytes, ...]]:
    """SQL over ``text_chunks c``: the window holds a term containing a run of word characters
    of a regex's literal text (fts_terms), the run whose terms are in the fewest windows, if
    those are fewer than the windows the words find; "" if none is, or without a snapshot of
    the terms as they are now. The condition holds for every window if the index changed
    since the snapshot, as SQLite finds it when the statement runs: such a query reads every
    window, as without one."""
    texts = [t for r in query.regexes if (t := query_language.required_text(r))]
    snapshot = terms.fresh(db) if terms is not None and texts else None
    if snapshot is None:
        return "", ()
    counts = [snapshot.windows(w) for w in words]
    known = [c for c in counts if c is not None]
    if not known:
        return "", ()
    found_by_words = sum(known) if any_word else min(known)
    if found_by_words < MIN_WINDOWS_TO_NARROW:
        return "", ()
    # The terms of the run in the fewest windows, if fewer than the words are in.
    fewest: list[tuple[str, int]] | None = None
    bound = found_by_words
    for run in (run for text in texts for run in fts_terms.runs(text)[:RUNS_TRIED]):
        found = snapshot.containing(run)
        if found is not None and (windows := sum(n for _, n in found)) < bound:
            fewest, bound = found, windows
    if fewest is None:
        return "", ()
    changed = f"({fts_terms.STRUCTURE_SQL}) IS NOT ?"
    if not fewest:
        return f" AND {changed}", (snapshot.structure,)
    # "+": a condition on the window's id that SQLite must not turn into one full-text query
    # per id (each would rank the words again), only a look-up in the ids the terms found.
    return (f" AND (+c.id IN (SELECT rowid FROM fts WHERE fts MATCH ?) OR {changed})",
            (" OR ".join(f'"{term}"' for term, _ in fewest), snapshot.structure))


def _text_filter(query: Query) -> tuple[str, tuple[str, ...]]:
    """SQL over ``t``, a window's ``text``: the window holds every text the query requires (Query.required_texts),
    as Query.window_may_hold would find it; "" if none. SQLite's lower() folds ASCII letters
    only: where case is folded, a window with other characters is let through (to Python)."""
    conditions: list[str] = []
    args: list[str] = []
    for text, exact in query.required_texts():
        if exact:
            conditions.append("instr(t.text, ?) > 0")
            args.append(text)
        elif text.isascii():
            conditions.append("(instr(lower(t.text), ?) > 0 OR length(t.text) != octet_length(t.text))")
            args.append(text.lower())
    return " AND ".join(conditions), tuple(args)


def _lines_in_window(db: apsw.Connection, query: Query, words: list[str], any_word: bool, file_id: int,
                     start: int, text: str) -> list[tuple[int, str]]:
    """The lines (offset in the window, text) a window's hits point at: with line-level terms
    (phrases, regexes, sym:/kind:) every line they admit that holds one of the words, or the
    first they admit if none does; without them the first line with a word. None at all if
    the window does not hold the query after all (case, phrases, regexes, definitions).
    ``words``: the query's words lower-cased (_fts_query); with case:yes they are read as written."""
    if query.case:
        words = query.fts_words()  # as written
        present = [w for w in words if query_language.whole_words((w,), True).search(text)]
        if not present or (not any_word and len(present) < len(words)):
            return []
    holds_word = query_language.whole_words(tuple(words), query.case).search
    lines = text.split("\n")
    admitted: set[int] | None = None
    if query.definitions_only:
        defs, args = _definition_filter(query)
        admitted = {line for (line,) in cast(list[tuple[int]], db.execute(
            f"SELECT d.line FROM definitions d WHERE d.file_id = ? AND d.line >= ? AND d.line < ?{defs}",
            (file_id, start, start + len(lines), *args)).fetchall())}
    line_level = admitted is not None or bool(query.phrases or query.regexes)
    first: tuple[int, str] | None = None  # the first line the line-level terms admit
    found: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        if admitted is not None and start + i not in admitted:
            continue
        if not query.line_admits(line):
            continue
        if first is None:
            first = (i, line)
        if holds_word(line):
            found.append((i, line))
            if not line_level:
                break
    if found:
        return found
    if line_level:
        return [first] if first is not None else []
    return [(0, "")]


def _definitions(db: apsw.Connection, query: Query, project: str | None, limit: int) -> list[Hit]:
    """A query of sym:/kind: without words: the definition lines themselves, shortest name
    first (the name asked for before longer ones holding it), then by place."""
    where, args = _project_filter(project)
    paths, path_args = _path_filter(query)
    defs, def_args = _definition_filter(query)
    names, name_args = _name_candidates(query)
    rows = db.execute(
        "SELECT f.project_id, f.path, f.id, d.line, d.qualname FROM definitions d JOIN files f ON f.id = d.file_id "
        f"WHERE f.state = 'live'{where}{paths}{names}{defs} ORDER BY length(d.name), f.project_id, f.path, d.line "
        "LIMIT ?", (*args, *path_args, *name_args, *def_args, MAX_CANDIDATES if query.regexes else limit))
    hits: list[Hit] = []
    for project_id, path, file_id, line, qualname in cast(Iterator[tuple[str, str, int, int, str]], rows):
        # The types are WINDOW_COLUMNS'.
        window = cast(tuple[bytes, str | None, int, int] | None, db.execute(
            f"SELECT {WINDOW_COLUMNS} FROM text_chunks c {WINDOW_JOINS} "
            "WHERE c.file_id = ? AND c.start_line <= ? ORDER BY c.start_line DESC LIMIT 1", (file_id, line)).fetchone())
        lines = text_of(*window).split("\n") if window else []
        text = lines[line - window[3]] if window and 0 <= line - window[3] < len(lines) else ""
        if not query.line_admits(text):
            continue
        hits.append(Hit(project_id, path, line, qualname, text.strip()[:SNIPPET_MAX], 0.0))
        if len(hits) >= limit:
            break
    return hits


def definition_of(db: apsw.Connection, project: str, path: str, qualname: str, line: int) -> tuple[str, str] | None:
    """(kind, name) of the live definition ``qualname`` spanning ``line`` of a file, if any."""
    return cast(tuple[str, str] | None, db.execute(
        "SELECT d.kind, d.name FROM definitions d JOIN files f ON f.id = d.file_id WHERE f.project_id = ? "
        "AND f.path = ? AND f.state = 'live' AND d.qualname = ? AND d.line <= ? AND d.end_line >= ? "
        "ORDER BY d.line DESC LIMIT 1", (project, path, qualname, line, line)).fetchone())


# The types are the columns' (the docstring coalesced to text).
_SymbolRow = tuple[str, str, str, str, int, int, int, str, str]
_UsageRow = tuple[str, str, str | None, str, int, int, int, str]


def _symbol_condition(name: str) -> tuple[str, tuple[str, ...], bool]:
    """FindSymbol's condition on ``definitions d``, its arguments, and whether walking files
    may pay: the index of names narrows it to a range (equality, or a glob that starts with
    its literal text) whose rows all match. A qualified name matches few of the definitions
    of its last name, so a walk would seek through every file to fill its answer."""
    if any(ch in name for ch in "*?["):
        if "." in name:
            return "d.qualname GLOB ?", (name,), False
        return "d.name GLOB ?", (name,), name[0] not in "*?["
    if "." in name:
        # A qualified name ends with its definition's own name (extract._qualname): the index
        # of names finds the candidates, where the suffix match alone reads every qualname.
        # (substr, not LIKE: LIKE ignores case, and 'A.b' is not 'x.a.b')
        _, last = name_rows.split_dotted(name)
        return ("d.name = ? AND (d.qualname = ? OR substr(d.qualname, -length(?)) = ?)",
                (last, name, "." + name, "." + name), False)
    return "d.name = ?", (name,), True


def find_symbol(db: apsw.Connection, name: str, project: str | None, kind: str, limit: int) -> list[Symbol]:
    """Definitions by name, qualified name or glob, in (project, path, line) order (ties by
    when they were stored: both ways of answering give one order, so pages asked of either
    follow on)."""
    cond, cond_args, ranged = _symbol_condition(name)
    kind_sql, kind_args = (" AND d.kind = ?", (kind,)) if kind else ("", ())
    where, args = _project_filter(project)
    columns = ("SELECT f.project_id, f.path, d.qualname, d.kind, d.line, d.col, d.end_line, d.signature, "
               "coalesce(d.docstring, '') ")
    order = " ORDER BY f.project_id, f.path, d.line, d.id LIMIT ?"

    def walk(bounded: str, bound_args: tuple[str, ...]) -> list[_SymbolRow]:
        return cast(list[_SymbolRow], db.execute(
            columns + "FROM files f INDEXED BY sqlite_autoindex_files_1 "
            "CROSS JOIN definitions d INDEXED BY definitions_by_file_name "
            f"ON d.file_id = f.id AND {cond}{kind_sql} WHERE f.state = 'live'{where}{bounded}" + order,
            (*cond_args, *kind_args, *args, *bound_args, limit)).fetchall())

    rows = None
    if ranged:
        rows = _walked(db, _count_up_to(db, f"definitions d WHERE {cond}", cond_args), project, limit, walk)
    if rows is None:
        rows = cast(list[_SymbolRow], db.execute(
            columns + f"FROM definitions d JOIN files f ON f.id = d.file_id WHERE {cond}{kind_sql} "
            f"AND f.state = 'live'{where}" + order, (*cond_args, *kind_args, *args, limit)).fetchall())
    return [Symbol(*row[:8], row[8].split("\n", 1)[0]) for row in rows]


def find_references(db: apsw.Connection, name: str, project: str | None, limit: int) -> list[Usage]:
    """References by name or dotted name, in (project, path, line, column) order (ties in the
    order of the file's references)."""
    where, args = _project_filter(project)
    qualifier, last = name_rows.split_dotted(name)
    order = " ORDER BY f.project_id, f.path"

    def named(found: str | None) -> bool:
        # the name itself, or a longer one ending in it: its qualifier is ours, or ends in ".ours"
        return qualifier is None or (found is not None and (found == qualifier or found.endswith("." + qualifier)))

    def usages(files: Iterable[tuple[str, str, int]]) -> list[Usage]:
        """The first ``limit`` references in ``files`` (in answer order, each with the name):
        each file's row of the name is read as its turn comes, so a walk stops at the limit."""
        found: list[tuple[str, str, int, tuple[int, str | None, int, int, int, int]]] = []
        for project_id, path, file_id in files:
            # The type is the column's.
            (blob,) = cast(tuple[bytes], db.execute("SELECT occurrences FROM refs WHERE file_id = ? AND last = ?",
                                                    (file_id, last)).fetchone())
            if qualifier is not None and not any(named(text) for text in int_columns.unpack(blob, False)[1]):
                continue  # none of the row's qualifiers is the name's: its columns are not read
            ours = sorted((o for o in name_rows.occurrences(blob) if named(o[1])), key=lambda o: (o[3], o[4], o[0]))
            found += ((project_id, path, file_id, o) for o in ours[:limit - len(found)])
            if len(found) >= limit:
                break
        scopes: dict[tuple[int, int], str] = {}
        for _, _, file_id, (*_, scope) in found:
            if (file_id, scope) not in scopes:
                # The type is the column's.
                (scopes[file_id, scope],) = cast(tuple[str], db.execute(
                    "SELECT qualname FROM scopes WHERE file_id = ? AND id = ?", (file_id, scope)).fetchone())
        return [Usage(project_id, path, name_rows.dotted(qualified, last), name_rows.KINDS[kind], line, col,
                      scopes[file_id, scope])
                for project_id, path, file_id, (_, qualified, kind, line, col, scope) in found]

    def files_of(sql: str, sql_args: tuple[str, ...]) -> list[Usage]:
        cursor = db.execute(sql + order, sql_args)
        try:
            return usages(cast(Iterator[tuple[str, str, int]], cursor))
        finally:
            cursor.close()  # a walk stops early: its statement ends here, not when collected

    def walk(bounded: str, bound_args: tuple[str, ...]) -> list[Usage]:
        # One probe of the small ref_files a file, in the files' order (name_rows.py).
        return files_of("SELECT f.project_id, f.path, f.id FROM files f INDEXED BY sqlite_autoindex_files_1 "
                        f"CROSS JOIN ref_files n ON n.last = ? AND n.file_id = f.id WHERE f.state = 'live'{where}"
                        f"{bounded}", (last, *args, *bound_args))

    (count,) = cast(tuple[int], db.execute("SELECT min(total(n), ?) FROM ref_files WHERE last = ?",
                                           (WALK_MOST, last)).fetchone())
    rows = _walked(db, int(count), project, limit, walk)
    if rows is None:
        rows = files_of("SELECT f.project_id, f.path, f.id FROM ref_files n CROSS JOIN files f ON f.id = n.file_id "
                        f"WHERE n.last = ? AND f.state = 'live'{where}", (last, *args))
    return rows


# FindSymbol and FindReferences answer in (project, path, position) order. Ordering every
# definition or reference of a common name (``__init__``: 19,000 definitions over the 10x
# corpus of bench/scale.py; ``join``: 15,000 references) costs over a microsecond each before
# the first row; walking the files in answer order and seeking the name in each costs about
# 0.8 us a file and stops at the limit. The walk is tried for a name with at least WALK_FROM
# rows, over at most as many files as the name has rows (counted up to WALK_MOST): where it
# does not fill the answer there (the name's files lie late in the order), the sort runs
# after it, so the worst case costs under twice the sort alone.
WALK_FROM = 200
WALK_MOST = 20_000
R = TypeVar("R")


def _count_up_to(db: apsw.Connection, from_where: str, args: tuple[str, ...]) -> int:
    """The rows of ``from_where`` (an index's range), counted up to WALK_MOST."""
    (count,) = cast(tuple[int], db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {from_where} LIMIT ?)",
                                           (*args, WALK_MOST)).fetchone())
    return count


def _walked(db: apsw.Connection, count: int, project: str | None, limit: int,
            walk: Callable[[str, tuple[str, ...]], list[R]]) -> list[R] | None:
    """``walk``'s rows (it takes a condition on ``files f`` and its arguments, bounding the
    walk), or None if the walk does not pay or did not fill the answer."""
    if count < WALK_FROM:
        return None
    # The (project, path) of the file the walk stops at: the index of files by (project, path)
    # holds both, so counting them off reads no row.
    where, args = _project_filter(project)
    bound = cast(tuple[str, str] | None, db.execute(
        f"SELECT f.project_id, f.path FROM files f INDEXED BY sqlite_autoindex_files_1 WHERE 1{where} "
        "ORDER BY f.project_id, f.path LIMIT 1 OFFSET ?", (*args, count)).fetchone())
    # The walk's query puts files first (CROSS JOIN): their index delivers the answer's order,
    # so nothing but each file's own rows is sorted and the walk stops at the limit.
    rows = walk(" AND (f.project_id, f.path) < (?, ?)", bound) if bound else walk("", ())
    if len(rows) < limit and bound is not None:
        return None
    return rows


def file_source(db: apsw.Connection, project: str, path: str) -> tuple[bytes | None, str, str]:
    """(bytes or None, state, problems) of a file's current content; raises LookupError if unknown."""
    # The types are the columns'.
    row = cast(tuple[bytes, str, str] | None, db.execute(
        "SELECT sha256, state, problems FROM files WHERE project_id = ? AND path = ?", (project, path)).fetchone())
    if row is None:
        raise LookupError(path)
    return stored_text.content(db, row[0]), row[1], row[2]


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

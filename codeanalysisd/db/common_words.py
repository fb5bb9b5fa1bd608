"""The best windows of a common word, kept between queries (queries._best_windows).

FTS5 ranks a one-word query by BM25 over every window that holds the word. For the
commonest words (``self``: in most windows of a corpus) that is all of a search's time, and
it grows with the corpus (some 200 ms at ten times the standard library), though an answer
shows twenty windows. For a single phrase BM25 orders windows by two numbers of each: how
often the phrase is in it (tf) and its length in tokens (D), against the average length
(avgdl). The phrase's IDF, the same for every window, scales the scores but does not order
them.

So a word found in MIN_WINDOWS windows or more keeps a memo: its KEPT best windows with
their tf and D, a bitmap of the windows that held it (for its window count), and the point
of ``window_changes`` it is of. The writer appends to that log every window it adds,
rewrites or deletes, in the same transaction (indexing._write_windows, the trigger
text_chunks_delete). Asked again, the answer is computed from the memo: the windows changed
since are looked up afresh (FTS5, by rowid), every score is computed as FTS5 computes it
with the counts as they are now (its averages record), and the rows kept are those that no
window outside the memo can outrank. Every such window scored at most what the KEPT-th
did when the memo was made, and a change of avgdl since can raise a score only by a bounded
factor (``_ceiling``). The memo is then brought up to the state read (``_rolled``), so the
next query looks up only what was written after it. Where the memo does not cover the rows
asked, FTS5 ranks as before; where the log no longer reaches back to it, or more than
MAX_CHANGED windows changed, a new memo is made off the query's path meanwhile.

The answer is FTS5's own: the same rows in the same order, each with its score to the bit
(tests/unit/test_common_words.py). A memo whose scores, computed again from its counts, are
not FTS5's to the bit is not kept.
"""

from __future__ import annotations

import array
import collections
import heapq
import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import apsw

from codeanalysisd.db.rows import one_read

K1, B = 1.2, 0.75  # FTS5's bm25() constants
KEPT = 1024  # windows a memo keeps: pages of up to about this many rows are answered from it
MIN_WINDOWS = 2000  # a word in fewer windows is ranked by FTS5 each time (a few ms at most)
MAX_CHANGED = 128  # windows changed since a memo that a query looks up afresh (each some 35 µs)
MAX_MEMOS = 128  # memos kept, the least recently asked let go first (each some 60 kB at 10x)
# Words found rare, remembered apart (a few bytes each): asking many rare words lets go of no memo.
MAX_RARE = 4096
LOG_KEPT = 4096  # entries of window_changes kept: a memo older than these is made again
STATS = "window_stats"  # the FTS5 function giving a window's tf and D (registered by store._connect)
# A score within this fraction of the highest any window outside a memo can reach is not
# trusted to order before it: the ceiling is computed, not FTS5's own double.
MARGIN = 1e-9
log = logging.getLogger("codeanalysisd.store")


def window_stats(api: apsw.FTS5ExtensionApi, *args: apsw.SQLiteValue) -> int:
    """STATS(fts): the query's instances in the row (tf), times 2^32, plus its tokens (D)."""
    return api.inst_count << 32 | api.column_size(-1)


def log_changes(db: apsw.Connection, windows: list[int]) -> None:
    """The writer's entries for windows added or rewritten (deletions log themselves:
    text_chunks_delete), and the log cut back to its last LOG_KEPT entries."""
    if windows:
        db.executemany("INSERT INTO window_changes (window) VALUES (?)", [(w,) for w in windows])
    db.execute("DELETE FROM window_changes WHERE seq <= (SELECT max(seq) FROM window_changes) - ?", (LOG_KEPT,))


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's variable-length integer at ``at``: (value, where the next begins)."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def averages(db: apsw.Connection) -> tuple[int, int]:
    """(windows, tokens in all of them) as FTS5 keeps them (its averages record, fts_data row 1)."""
    row = db.execute("SELECT block FROM fts_data WHERE id = 1").fetchone()
    if row is None or not isinstance(row[0], bytes) or not row[0]:
        return 0, 0
    rows, at = _varint(row[0], 0)
    tokens, _ = _varint(row[0], at) if at < len(row[0]) else (0, at)
    return rows, tokens


def scored(windows: Iterable[tuple[int, int, int]], idf: float, avgdl: float) -> Iterator[tuple[float, int]]:
    """(score, window) of each (window, tf, D): FTS5's bm25() of one phrase, operation for
    operation (fts5_aux.c), so the same double. One expression over them all: a call per
    window was half of a query's time."""
    return ((-1.0 * (0.0 + idf * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + B * size / avgdl)))), window)
            for window, tf, size in windows)


def score(tf: int, size: int, idf: float, avgdl: float) -> float:
    """One window's score (``scored``)."""
    return next(scored(((0, tf, size),), idf, avgdl))[0]


def idf_of(rows: int, windows: int) -> float:
    idf = math.log((rows - windows + 0.5) / (windows + 0.5))
    return idf if idf > 0.0 else 1e-6


def _length(size: int, avgdl: float) -> float:
    """k1 L, BM25's length term of a window of ``size`` tokens (``scored`` computes it in line)."""
    return K1 * (1 - B + B * size / avgdl)


def _share(tf: int, size: int, avgdl: float) -> float:
    """tf / (tf + k1 L): what orders windows, beside the IDF."""
    return tf / (tf + _length(size, avgdl))


def _ceiling(floor: float, made_at: float, avgdl: float) -> float:
    """The highest share a window outside a memo can have now. It had at most ``floor``
    with the average length ``made_at``; its length term L = (1 - b) + b D / avgdl is now at
    least min(1, made_at / avgdl) times what it was, whatever D is."""
    if floor <= 0.0:
        return 0.0
    r = min(1.0, made_at / avgdl)
    return 1.0 / (1.0 + r * (1.0 / floor - 1.0))


@dataclass(frozen=True)
class Memo:
    seq: int  # the last entry of window_changes it is of (0: none)
    project: str | None  # the project whose windows it ranks; None: every project's
    held: bytes  # bit w: window w held the phrase (in any project: the IDF counts them all)
    windows: int  # how many did
    avgdl: float
    kept: array.array[int]  # (window, tf, D) of each window kept, one after the other (made: the KEPT best)
    floor: float  # the KEPT-th's share (_share), raised as windows are let go (_rolled); 0.0: every one kept

    @property
    def best(self) -> list[tuple[int, int, int]]:
        """(window, tf, D) of the windows kept (best first, as made)."""
        kept = self.kept
        return list(zip(kept[0::3], kept[1::3], kept[2::3], strict=True))

    def had(self, window: int) -> bool:
        byte = window >> 3
        return byte < len(self.held) and bool(self.held[byte] >> (window & 7) & 1)


@dataclass(frozen=True)
class Rare:
    seq: int  # found in fewer than MIN_WINDOWS windows at this entry of the log


def _log_span(db: apsw.Connection) -> tuple[int, int]:
    """(the first, the last) entry of window_changes; (0, 0) if it has none."""
    first, last = cast(tuple[int | None, int | None], db.execute(
        "SELECT min(seq), max(seq) FROM window_changes").fetchone())
    return first or 0, last or 0


def _cut_back(memo: Memo, span: tuple[int, int]) -> bool:
    """Whether entries written after the memo are gone from the log (``span``, _log_span)."""
    first, last = span
    return last > memo.seq and first > memo.seq + 1


def make(db: apsw.Connection, phrase: str, project: str | None = None) -> Memo | Rare:
    """The memo of ``phrase`` (an FTS5 query of one phrase) over ``project``'s windows (None:
    every project's) as the index is now, in one read transaction; Rare if the phrase is in
    fewer than MIN_WINDOWS windows, or if FTS5's scores are not those computed from the
    counts read (said in the journal: FTS5 ranks it each time)."""
    with one_read(db):
        _, seq = _log_span(db)
        found = [w for (w,) in cast(list[tuple[int]], db.execute(
            "SELECT rowid FROM fts WHERE fts MATCH ?", (phrase,)).fetchall())]
        if len(found) < MIN_WINDOWS:
            return Rare(seq)
        held = bytearray((max(found) >> 3) + 1)
        for w in found:
            held[w >> 3] |= 1 << (w & 7)
        rows, tokens = averages(db)
        avgdl = tokens / rows
        idf = idf_of(rows, len(found))
        # One more than kept: whether any window is left out.
        ranked = cast(list[tuple[int, float]], db.execute(
            "SELECT rowid, bm25(fts) AS s FROM fts WHERE fts MATCH ? ORDER BY s, rowid LIMIT ?",
            (phrase, KEPT + 1)).fetchall()) if project is None else cast(list[tuple[int, float]], db.execute(
            "SELECT c.id, bm25(fts) AS s FROM fts JOIN text_chunks c ON c.id = fts.rowid "
            "JOIN files f ON f.id = c.file_id WHERE fts MATCH ? AND f.project_id = ? ORDER BY s, c.id LIMIT ?",
            (phrase, project, KEPT + 1)).fetchall())
        left_out = len(ranked) > KEPT
        best: list[tuple[int, int, int]] = []
        for window, fts_score in ranked[:KEPT]:
            size = _size(db, window)
            if size is None:
                log.warning("no size in FTS5's table of sizes for window %d: %s is ranked by FTS5 each time",
                            window, phrase)
                return Rare(seq)
            # tf from the score: s = idf (k1 + 1) tf / (tf + k1 L), so tf = s k1 L / (idf (k1 + 1) - s).
            s, length = -fts_score, _length(size, avgdl)
            tf = round(s * length / (idf * (K1 + 1.0) - s)) if idf * (K1 + 1.0) > s else 0
            if tf < 1 or score(tf, size, idf, avgdl) != fts_score:
                log.warning("FTS5 scores window %d %r for %s, not %r as computed from its counts: it is "
                            "ranked by FTS5 each time", window, fts_score, phrase, score(max(tf, 1), size, idf, avgdl))
                return Rare(seq)
            best.append((window, tf, size))
    floor = _share(best[-1][1], best[-1][2], avgdl) if left_out else 0.0
    return Memo(seq, project, bytes(held), len(found), avgdl, array.array("q", (n for entry in best for n in entry)),
                floor)


def _size(db: apsw.Connection, window: int) -> int | None:
    """A window's tokens, from FTS5's table of sizes (one column: one varint)."""
    row = db.execute("SELECT sz FROM fts_docsize WHERE id = ?", (window,)).fetchone()
    return _varint(row[0], 0)[0] if row and isinstance(row[0], bytes) and row[0] else None


def answer(db: apsw.Connection, phrase: str, memo: Memo, asked: int) -> list[tuple[int, float]] | None:
    """The best ``asked`` windows holding ``phrase`` with their scores, as FTS5 would rank
    them now, from ``memo``; None where the memo cannot tell them for sure. Run inside the
    caller's read transaction, so the log, the counts and the windows are of one state."""
    return _answer(db, phrase, memo, asked, _log_span(db))[0]


def _answer(db: apsw.Connection, phrase: str, memo: Memo, asked: int, span: tuple[int, int]
            ) -> tuple[list[tuple[int, float]] | None, Memo | None]:
    """``answer``'s rows, and the memo brought up to the state read (the windows written
    since looked up), if there is one. ``span``: the log's, as _log_span reads it."""
    last = span[1]
    if last < memo.seq or _cut_back(memo, span):
        return None, None  # an older state than the memo's, or changes the log no longer holds
    # A window written again and again is an entry each time: past this many entries the
    # windows are not all read, and too many to look up are likely.
    entries = cast(list[tuple[int]], db.execute(
        "SELECT window FROM window_changes WHERE seq > ? LIMIT ?", (memo.seq, MAX_CHANGED * 4 + 1)).fetchall())
    changed = {w for (w,) in entries}
    if len(entries) > MAX_CHANGED * 4 or len(changed) > MAX_CHANGED:
        return None, None
    now: list[tuple[int, int, int]] = []  # the changed windows holding it, in any project
    for window in sorted(changed):
        row = db.execute(f"SELECT {STATS}(fts) FROM fts WHERE fts MATCH ? AND rowid = ?", (phrase, window)).fetchone()
        if row is not None:
            packed = cast(int, row[0])
            now.append((window, packed >> 32, packed & 0xFFFFFFFF))
    windows = memo.windows - sum(memo.had(w) for w in changed) + len(now)
    held = [window for window, _, _ in now]
    if memo.project is not None:
        now = [entry for entry in now if db.execute(
            "SELECT 1 FROM text_chunks c JOIN files f ON f.id = c.file_id WHERE c.id = ? AND f.project_id = ?",
            (entry[0], memo.project)).fetchone()]
    rows, tokens = averages(db)
    if rows <= 0 or tokens <= 0:
        return None, None
    avgdl = tokens / rows
    idf = idf_of(rows, windows)
    candidates = [entry for entry in memo.best if entry[0] not in changed] + now
    rolled = _rolled(memo, last, changed, held, windows, candidates) if changed else memo
    found = [(w, s) for s, w in heapq.nsmallest(asked, scored(candidates, idf, avgdl))]
    ceiling = _ceiling(memo.floor, memo.avgdl, avgdl)
    if ceiling == 0.0:
        return found, rolled
    # Sure: the rows above what any window outside the memo can reach; the last is the least.
    if len(found) < asked or -found[-1][1] / (idf * (K1 + 1.0)) <= ceiling * (1.0 + MARGIN):
        return None, rolled
    return found, rolled


def _rolled(memo: Memo, seq: int, changed: set[int], held: list[int], windows: int,
            candidates: list[tuple[int, int, int]]) -> Memo:
    """``memo`` as of log entry ``seq``: the windows written since it (``changed``) that hold
    the phrase now (``held``, in any project; ``candidates``' new ones, in its project) taken
    in. What it says of the windows outside it still holds: each that is not a candidate
    either has not changed since the memo was made, or no longer holds the phrase. Past
    twice KEPT windows, the lowest (by their share at the memo's average length) are let go,
    and the floor rises to the highest of theirs."""
    bits = bytearray(memo.held)
    top = max(changed)
    if top >> 3 >= len(bits):
        bits.extend(bytes((top >> 3) + 1 - len(bits)))
    for window in changed:
        bits[window >> 3] &= ~(1 << (window & 7)) & 0xFF
    for window in held:
        bits[window >> 3] |= 1 << (window & 7)
    floor = memo.floor
    if len(candidates) > 2 * KEPT:
        by_share = sorted(candidates, key=lambda entry: _share(entry[1], entry[2], memo.avgdl), reverse=True)
        candidates = by_share[:KEPT]
        floor = max(floor, max(_share(tf, size, memo.avgdl) for _, tf, size in by_share[KEPT:]))
    return Memo(seq, memo.project, bytes(bits), windows, memo.avgdl,
                array.array("q", (n for entry in candidates for n in entry)), floor)


def _outdated(memo: Memo, span: tuple[int, int]) -> bool:
    """Whether a memo is worth making again: the log (``span``) no longer reaches back to it,
    or a query looks up half as many windows as it may."""
    return span[1] - memo.seq > MAX_CHANGED // 2 or _cut_back(memo, span)


class CommonWords:
    """The memos of one database's readers: shared by every read connection of a Store."""

    def __init__(self) -> None:
        self._memos: collections.OrderedDict[tuple[str, str | None], Memo] = collections.OrderedDict()
        self._rare: collections.OrderedDict[tuple[str, str | None], Rare] = collections.OrderedDict()
        # One memo made at a time: each holds a read thread for about twice its query.
        self._building = False
        self._lock = threading.Lock()
        # Runs a build elsewhere (Store: on a read thread, with that thread's connection);
        # None: the reader that finds no memo makes it at once.
        self.schedule: Callable[[Callable[[apsw.Connection], None]], None] | None = None

    def memo(self, phrase: str, project: str | None = None) -> Memo | Rare | None:
        key = (phrase, project)
        return self._memos.get(key) or self._rare.get(key)

    def keep(self, memo: Memo | Rare, phrase: str, project: str | None = None) -> None:
        key = (phrase, project)
        with self._lock:
            if isinstance(memo, Memo):
                self._rare.pop(key, None)
                self._memos[key] = memo
                self._memos.move_to_end(key)
                while len(self._memos) > MAX_MEMOS:
                    self._memos.popitem(last=False)
            else:
                self._memos.pop(key, None)
                self._rare[key] = memo
                self._rare.move_to_end(key)
                while len(self._rare) > MAX_RARE:
                    self._rare.popitem(last=False)

    def best(self, db: apsw.Connection, phrase: str, asked: int, project: str | None = None
             ) -> list[tuple[int, float]] | None:
        """``answer``'s rows if a memo of ``phrase`` in ``project`` (None: every project) can
        give them, inside the caller's read transaction; None if FTS5 must rank (a memo is
        then made, if none is being)."""
        key = (phrase, project)
        with self._lock:
            memo: Memo | Rare | None = self._memos.get(key)
            if memo is not None:
                self._memos.move_to_end(key)
            else:
                memo = self._rare.get(key)
        span = _log_span(db)  # read once: every check below is of this state
        if isinstance(memo, Rare):
            if span[1] - memo.seq < LOG_KEPT:
                return None
            memo = None  # so many windows changed since that it may be common now
        found, rolled = _answer(db, phrase, memo, asked, span) if memo is not None else (None, None)
        if rolled is not None and rolled is not memo:
            with self._lock:
                kept = self._memos.get(key)
                if isinstance(kept, Memo) and kept.seq < rolled.seq:
                    self._memos[key] = rolled
        elif memo is None or _outdated(memo, span):
            self._remake(db, key)
        return found

    def _remake(self, db: apsw.Connection, key: tuple[str, str | None]) -> None:
        """A new memo for ``key``, unless one is being made (for any word: the next ask of
        this one asks again)."""
        with self._lock:
            if self._building:
                return
            self._building = True
        if self.schedule is None:
            self._build(key, db)
        else:
            self.schedule(lambda reader: self._build(key, reader))

    def _build(self, key: tuple[str, str | None], db: apsw.Connection) -> None:
        try:
            self.keep(make(db, *key), *key)
        finally:
            with self._lock:
                self._building = False

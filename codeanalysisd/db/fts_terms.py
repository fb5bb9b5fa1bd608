"""The full-text index's terms, held in memory, to find the windows that may hold a part of a word.

A /regex/ beside a common word (``self /no_such_text/``) would otherwise read the text of
every window the word is in (20,000 in the standard library) to find that none holds the
regex's literal text. Every such text holds the regex's longest run of word characters
inside one token of the index, so only the windows with a term containing that run can
match: a few, found by a substring search over the terms (about 1.5 MB for the standard
library's 110,000), then one full-text query for them.

The terms are a snapshot of the index as it was at one state of its FTS5 structure record
(``fts_data`` row 10, which every write changes: FTS5 counts its writes there). A query
narrows only where the terms are in fewer windows than its words, and uses the snapshot only
while the structure it reads is still that one, checked inside the
query's own statement, so a write between the check and the query makes it read every
window as before rather than miss a new one. A stale snapshot is rebuilt off the query's
path (Store gives the cache its read threads), one build at a time.
"""

from __future__ import annotations

import array
import bisect
import functools
import re
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass

import apsw

from codeanalysisd.db.rows import one_read

# More terms than this holding a run: the run is too common for a narrowing query to pay
# (FTS5 merges one list of windows per term). Over the standard library, beside its most
# common word, narrowing by up to 256 terms was faster for every one of 20 random runs (at
# most 0.36 of the time), by 257 to 512 slower for some (up to 1.55 times).
MAX_TERMS = 256
STRUCTURE_SQL = "SELECT block FROM fts_data WHERE id = 10"
# Word characters as the index's tokenizer (unicode61, tokenchars '_') reads ASCII text.
_RUN = re.compile(r"[A-Za-z0-9_]+")


@functools.cache
def _ascii_letter(char: str) -> str:
    """The ASCII letter a case-insensitive regex matches ``char`` with (``k`` for the Kelvin
    sign, ``s`` for the long s), or ``char`` itself if none: the index folds such characters
    its own way, so the terms holding them are compared through this."""
    for letter in string.ascii_lowercase:
        if re.fullmatch(letter, char, re.IGNORECASE):
            return letter
    return char


def _ascii_key(term: str) -> str:
    return "".join(c if c.isascii() else _ascii_letter(c) for c in term)


def structure(db: apsw.Connection) -> bytes:
    row = db.execute(STRUCTURE_SQL).fetchone()
    return bytes(row[0]) if row and isinstance(row[0], bytes) else b""


@dataclass(frozen=True)
class Terms:
    """The terms of the index at ``structure``, each with the number of windows holding it."""

    structure: bytes
    ascii_terms: str  # "\n" before and after each term, in the index's order (sorted)
    starts: array.array[int]  # where each of them starts in ascii_terms
    ascii_windows: array.array[int]  # how many windows hold each of them
    others: tuple[tuple[str, str, int], ...]  # (term as compared, term, windows) of terms with other characters

    def containing(self, run: str) -> list[tuple[str, int]] | None:
        """The terms that contain ``run`` (word characters, any case), each with its number of
        windows; None if more than MAX_TERMS do."""
        run = run.lower()
        found = [(term, windows) for key, term, windows in self.others if run in key]
        at = self.ascii_terms.find(run)
        while at >= 0:
            if len(found) >= MAX_TERMS:
                return None
            n = bisect.bisect_right(self.starts, at) - 1
            end = self.ascii_terms.find("\n", at)
            found.append((self.ascii_terms[self.starts[n]:end], self.ascii_windows[n]))
            at = self.ascii_terms.find(run, end)
        return found if len(found) <= MAX_TERMS else None

    def windows(self, word: str) -> int | None:
        """How many windows hold ``word`` (as the index folds ASCII: any case); None if it is
        not ASCII, whose folding only the index knows."""
        if not word.isascii():
            return None
        word = word.lower()
        # FTS5 keeps its terms sorted by their bytes, which for ASCII is Python's order.
        n = bisect.bisect_left(range(len(self.starts)), word, key=self._term)
        return self.ascii_windows[n] if n < len(self.starts) and self._term(n) == word else 0

    def _term(self, n: int) -> str:
        return self.ascii_terms[self.starts[n]:self.ascii_terms.index("\n", self.starts[n])]


def read_terms(db: apsw.Connection) -> Terms:
    """Every term of the index, with the structure they are of, in one read transaction."""
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_terms USING fts5vocab(main, 'fts', 'row')")
    with one_read(db):
        state = structure(db)
        ascii_terms: list[str] = []
        starts, windows = array.array("I"), array.array("I")
        others: list[tuple[str, str, int]] = []
        at = 1
        for term, count in db.execute("SELECT term, doc FROM temp.fts_terms"):
            if term.isascii():
                ascii_terms.append(term)
                starts.append(at)
                windows.append(count)
                at += len(term) + 1
            else:
                others.append((_ascii_key(term), term, count))
    return Terms(state, "\n" + "\n".join(ascii_terms) + "\n", starts, windows, tuple(others))


class TermCache:
    """The latest snapshot of the terms, shared by every reader of one database."""

    def __init__(self) -> None:
        self._terms: Terms | None = None
        self._lock = threading.Lock()
        self._building = False
        # Runs a build elsewhere (Store: on a read thread, with that thread's connection);
        # None: a stale snapshot is rebuilt at once, by the reader that found it.
        self.schedule: Callable[[Callable[[apsw.Connection], None]], None] | None = None

    def fresh(self, db: apsw.Connection) -> Terms | None:
        """The snapshot, if it is of the index ``db`` reads now; if not, None (one is being built)."""
        terms = self._terms
        if terms is not None and terms.structure == structure(db):
            return terms
        with self._lock:
            if self._building:
                return None
            self._building = True
        if self.schedule is None:
            self.build(db)
            return self._terms
        self.schedule(self.build)
        return None

    def build(self, db: apsw.Connection) -> None:
        try:
            self._terms = read_terms(db)
        finally:
            with self._lock:
                self._building = False


def runs(text: str) -> list[str]:
    """The runs of word characters of a text every hit holds, longest first: each lies within
    one token of the index wherever the text occurs."""
    return sorted(_RUN.findall(text), key=len, reverse=True)

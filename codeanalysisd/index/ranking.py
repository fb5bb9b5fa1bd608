"""From chunks that match a query to the definitions a person means: the one place for it.

A definition has several chunks (index/chunking.py): its header (signature and docstring),
its first window, the later windows of a long body. A search answers with definitions,
each once, placed by its best chunk. Two kinds of chunk are less likely to be what was
meant, and are marked down by a fixed amount of cosine similarity:

- a later window of a body (``window``): it matched on code in the middle of something,
  which the definition's own header and first window do not say it is about;
- a private name (``_helper``, not ``__dunder__``): where a public definition and its
  private helper say the same thing, the public one is the entry point a person looks for.
  A public definition with a private twin of the same name in the same scope (``copytree``,
  ``_copytree``) scores at least what the twin does, and comes first.

The amounts were chosen by measurement on the DEV queries of bench/retrieval_queries.py
(bench/retrieval_dev.py prints the grid), never on the held-out TEST queries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    window: float = 0.04  # taken from a later body window's similarity
    private: float = 0.04  # taken from a private definition's similarity


WEIGHTS = Weights()


@dataclass(frozen=True)
class Candidate:
    """A chunk that matched: where it is, whose it is, and its similarity to the query."""

    project: str
    path: str
    symbol: str  # qualified name; "" for a module's own chunk
    line: int
    end_line: int
    window: bool  # a later window of a body (not the header, not the first window)
    score: float
    file_id: int = 0  # the index's row of the file, where the chunk came from one


def is_private(symbol: str) -> bool:
    """A name a module or class keeps to itself: a leading underscore, not a dunder."""
    name = symbol.rsplit(".", 1)[-1]
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def adjusted(c: Candidate, weights: Weights = WEIGHTS) -> float:
    return c.score - (weights.window if c.window else 0.0) - (weights.private if is_private(c.symbol) else 0.0)


def definitions(candidates: Iterable[Candidate], limit: int, weights: Weights = WEIGHTS
                ) -> list[tuple[Candidate, float]]:
    """One row per definition (project, path, qualified name), its best chunk with that
    chunk's adjusted score, best first; ties by place, so the order is the same every time."""
    best: dict[tuple[str, str, str], tuple[Candidate, float]] = {}
    for c in candidates:
        key = (c.project, c.path, c.symbol)
        score = adjusted(c, weights)
        held = best.get(key)
        if held is None or score > held[1] or (score == held[1] and c.line < held[0].line):
            best[key] = (c, score)
    # A public definition scores at least what its private twin in the same scope does
    # (``copytree`` and ``_copytree``), and wins the tie: the helper says the same, in more words.
    for (project, path, symbol), (_held, score) in list(best.items()):
        if is_private(symbol):
            scope, _, name = symbol.rpartition(".")
            public = f"{scope}.{name.lstrip('_')}" if scope else name.lstrip("_")
            twin = best.get((project, path, public))
            if twin is not None and twin[1] < score:
                best[(project, path, public)] = (twin[0], score)
    ranked = sorted(best.values(), key=lambda e: (-e[1], is_private(e[0].symbol), e[0].project, e[0].path,
                                                  e[0].line))
    return ranked[:limit]


_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_QUERY_WORD = re.compile(r"[A-Za-z0-9_]+")


def name_parts(symbol: str) -> list[str]:
    """The words of a definition's own name, lower case: ``_copy_tree``, ``copyTree`` and
    ``CopyTree`` are copy, tree."""
    return [p.lower() for p in _PART.findall(symbol.rsplit(".", 1)[-1])]


def says_unread_name(symbol: str, query: str, known: frozenset[str]) -> bool:
    """The query says the definition's whole name as one of its words, and the model does
    not know that word whole (``known``, its vocabulary): ``gettempdir`` in "gettempdir
    default temporary directory", which the model reads only in pieces. A name that is an
    English word ("split", "file") is not: a sentence says such words about other things
    (bench/retrieval_dev.py measured any word of a name counting as saying it)."""
    name = symbol.rsplit(".", 1)[-1].strip("_").lower()
    return bool(name) and any(w.strip("_").lower() == name and w.lower() not in known
                              for w in _QUERY_WORD.findall(query))

"""Semantic and hybrid search, as the owner answers them.

The vectorizer holds the model and every vector of it in memory (a matrix derived from the
database and rebuilt from it), so the owner stays small: it asks the vectorizer for the
nearest chunk keys, and answers with the live chunks behind them. A project that is a small
part of the index sends its keys along, and only those are compared; otherwise the keys
are ranked over every project, and when too few of the best are in the project asked about
(or in a file that still holds them), a longer ranking is asked for. Either way the answer
is exact. The answer is one row per definition, placed by its best chunk
(index/ranking.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dbus_fast import DBusError
from dbus_fast.aio import MessageBus

from codeanalysisd.bus import api, errors
from codeanalysisd.bus.calls import call
from codeanalysisd.db import queries
from codeanalysisd.db.store import Reads, Store
from codeanalysisd.db.vectors import Match
from codeanalysisd.embed import vocabulary
from codeanalysisd.index import ranking
from codeanalysisd.names import VECTORIZER_INTERFACE, VECTORIZER_NAME, VECTORIZER_PATH, WORKER_UNITS
from codeanalysisd.owner import failures
from codeanalysisd.query_language import Query

MAX_QUERY = 2000  # characters; the model reads 256 tokens anyway
FIRST_ASK = 50  # keys asked for first (at least 4 per result wanted)
SMALL_SHARE = 0.25  # a project with at most this share of all chunks sends its keys along
RRF_K = 60  # reciprocal rank fusion's constant: ranks 1 and 2 weigh about the same, rank 60 half
# Hybrid search fuses three rankings of definitions: the vectors' (weight 1); the same
# definitions, those whose whole name the query says as a word the model does not know whole
# (``gettempdir``: ranking.says_unread_name); and the full-text hits (any word, BM25) in such
# a definition, which reach one the vectors did not rank. Measured on the 90 DEV queries of
# bench/retrieval_queries.py (bench/retrieval_dev.py), not the held-out ones: counting any word
# of a name the query says ("split", "file") lowered top-1 and MRR at every weight (0.1:
# 52 % to 47 %, 0.650 to 0.629); this rule at 0.02 each leaves DEV as the vectors rank it
# (52 % / 82 % / 0.650) and puts ``gettempdir`` first for "gettempdir default temporary
# directory", which the vectors rank second.
NAME_WEIGHT = 0.02
TEXT_WEIGHT = 0.02
FILTERED_ASK = 4000  # nearest chunks HybridSearch ranks, at most, to find those its filters admit


def query_text(query: str) -> str:
    text = query.strip()
    if not text:
        raise failures.Refused("query is empty: describe in words what the code does")
    if len(text) > MAX_QUERY or "\0" in text:
        raise failures.Refused(f"query must be at most {MAX_QUERY} characters of text")
    return text


class Semantic:
    def __init__(self, store: Store, bus: MessageBus, repairing: Callable[[], str | None],
                 version: Callable[[], int]) -> None:
        self.store = store
        self.bus = bus
        self._repairing = repairing
        self._version = version  # changes whenever the index does
        self._keys: dict[str, tuple[int, list[bytes] | None]] = {}

    async def _small_project_keys(self, project: str) -> list[bytes] | None:
        """The project's chunk keys if it is a small part of the index, else None."""
        version = self._version()
        cached = self._keys.get(project)
        if cached is None or cached[0] != version:
            keys, total = await self.store.read(
                lambda r: (r.vectors.project_keys(project), r.vectors.chunk_count()))
            cached = self._keys[project] = (version, keys if len(keys) <= SMALL_SHARE * total else None)
        return cached[1]

    async def _nearest(self, text: str, count: int, among: list[bytes] | None = None) -> list[tuple[bytes, float]]:
        try:
            (ranked,) = await call(self.bus, VECTORIZER_NAME, VECTORIZER_PATH, VECTORIZER_INTERFACE, "Nearest",
                                   api.VECTORIZER["Nearest"].args, [text, count, among or []])
        except DBusError as exc:
            if errors.of(exc) is not None:
                raise failures.NotRunning(exc.text) from None  # the vectorizer's own reason (still loading)
            if self._repairing():
                raise failures.Occupied("semantic search is paused while a repair runs (it stops the vectorizer); "
                                  "try again when the repair is done") from None
            raise failures.NotRunning(
                f"semantic search needs the vectorizer, which is not answering ({exc.text}); "
                f"systemctl status {WORKER_UNITS['vectorizer']} says why") from None
        return [(bytes(key), float(score)) for key, score in ranked]

    async def search(self, query: str, project: str | None, limit: int) -> list[Match]:
        """The definitions nearest to the query, each once (index/ranking.py)."""
        text = query_text(query)
        ask = max(FIRST_ASK, limit * 4)
        among = await self._small_project_keys(project) if project else None
        if among is not None and not among:
            return []
        while True:
            ranked = await self._nearest(text, ask, among)
            found = await self.store.read(functools.partial(_matches, ranked=ranked, project=project, limit=limit))
            # exact once the last row shown outscores every chunk not asked for (a definition's
            # score is at most its best chunk's similarity)
            if len(ranked) < ask or (len(found) >= limit and found[-1].score >= ranked[-1][1]):
                return found
            ask *= 8

    async def hybrid(self, query: Query, project: str | None, limit: int) -> list[Match]:
        """Vectors, the unread names the query says, and full text, fused by reciprocal rank per
        definition (NAME_WEIGHT, TEXT_WEIGHT). The query language's filters (path:, kind:,
        sym:) restrict every ranking; the vectors are asked its free text."""
        wide = max(limit * 3, 30)
        semantic = await self._admitted(query, project, wide)
        text = await self.store.read(lambda r: _text_as_chunks(r, query, project, wide))
        words = query.free_text()
        # the first read of the vocabulary (tokenizer.json, about 50 ms) is not done on the loop
        known = vocabulary.words() if vocabulary.words.cache_info().currsize else await asyncio.to_thread(
            vocabulary.words)
        named = [m for m in semantic if ranking.says_unread_name(m.symbol, words, known)]
        return fuse(semantic, [m for m in text if ranking.says_unread_name(m.symbol, words, known)], named,
                    limit=limit, weights=(1.0, TEXT_WEIGHT, NAME_WEIGHT))

    async def _admitted(self, query: Query, project: str | None, wide: int) -> list[Match]:
        """The ``wide`` nearest chunks the query's filters admit, asking for a longer ranking
        while too few of it pass (at most FILTERED_ASK chunks)."""
        text = query.free_text()
        if not query.filters_chunks:
            return await self.search(text, project, wide)
        ask = wide
        while True:
            found = await self.search(text, project, ask)
            kept = await self.store.read(functools.partial(_admitted, query=query, matches=found))
            if len(kept) >= wide or len(found) < ask or ask >= FILTERED_ASK:
                return kept[:wide]
            ask = min(ask * 4, FILTERED_ASK)


def _admitted(reads: Reads, query: Query, matches: list[Match]) -> list[Match]:
    return reads.files.admitted(query, matches)


def _matches(reads: Reads, ranked: list[tuple[bytes, float]], project: str | None, limit: int) -> list[Match]:
    return reads.vectors.matches(ranked, project, limit)


def _text_as_chunks(reads: Reads, query: Query, project: str | None, wide: int) -> list[Match]:
    """Full-text hits (any of the words), each standing for the chunk around its line, so the
    two rankings name the same things and agreement between them counts."""
    try:
        hits = reads.files.search(query, project, wide, any_word=True)
    except queries.QueryTooLarge:
        raise  # refused, as full-text search refuses it: not answered by half
    except queries.BadQuery:
        return []  # no word to look for (only punctuation): the vectors alone answer
    as_chunks = []
    for h in hits:
        chunk = reads.vectors.chunk_at(h.project, h.path, h.line)
        symbol, start, end = chunk if chunk else (h.symbol, h.line, h.line)
        as_chunks.append(Match(h.project, h.path, symbol, start, end, h.score, h.snippet))
    return as_chunks


@dataclass
class _Fused:
    match: Match
    score: float = 0.0


def fuse(*rankings: Sequence[Match], limit: int, weights: Sequence[float] = ()) -> list[Match]:
    """Reciprocal rank fusion: a definition (project, path, qualified name) scores the sum of
    weight / (RRF_K + its rank) over the rankings it is in (each weight 1 unless given); the
    first ranking's row for it is shown."""
    fused: dict[tuple[str, str, str], _Fused] = {}
    for i, ranked in enumerate(rankings):
        weight = weights[i] if i < len(weights) else 1.0
        seen: set[tuple[str, str, str]] = set()
        for rank, m in enumerate(ranked, 1):
            key = (m.project, m.path, m.symbol)
            if key in seen:
                continue  # a definition counts once per ranking, at its best rank
            seen.add(key)
            entry = fused.setdefault(key, _Fused(m))
            entry.score += weight / (RRF_K + rank)
    best = sorted(fused.values(), key=lambda e: (-e.score, e.match.project, e.match.path, e.match.line))[:limit]
    return [Match(e.match.project, e.match.path, e.match.symbol, e.match.line, e.match.end_line, e.score,
                  e.match.snippet) for e in best]

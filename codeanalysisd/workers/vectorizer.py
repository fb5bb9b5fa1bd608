"""codeanalysisd-vectorizer: embeds pending code chunks and hands vectors to the DB owner.

It pulls chunks that lack a vector of its model in batches, embeds them, and sends each
batch back as one request (one transaction at the owner). The owner keeps one vector per
(model, chunk text), so a restart at any point neither loses nor duplicates work: what was
not stored is still pending, what was stored is not pending any more.

It also answers the owner's semantic queries (org.codeanalysis1.Vectorizer.Nearest): the
model is loaded here, and so is every vector of it, in a matrix filled from the database
at start and appended to as batches are stored. The owner stays small.

(No ``from __future__ import annotations``: dbus-fast reads the D-Bus signatures from the
annotations at class creation.)
"""

import asyncio
import logging
import time

import numpy as np
from dbus_fast import DBusError
from dbus_fast.aio import MessageBus
from dbus_fast.constants import NameFlag, RequestNameReply
from dbus_fast.service import ServiceInterface, method

from codeanalysisd import service
from codeanalysisd.bus import api, errors
from codeanalysisd.bus.owner_client import OwnerClient
from codeanalysisd.embed.embedder import DEFAULT_GRAPH, Embedder
from codeanalysisd.embed.matrix import VectorMatrix
from codeanalysisd.names import VECTORIZER_INTERFACE, VECTORIZER_NAME, VECTORIZER_PATH
from codeanalysisd.records import Counters
from codeanalysisd.workers.loop import RoundReport, run_worker

log = logging.getLogger("codeanalysisd.vectorizer")

BATCH = 32  # chunks per pull and per write-back: ~0.2 s of embedding, one transaction
LOAD_PAGE = 5000  # stored vectors per request when the matrix is filled (~8 MB)
MAX_NEAREST = 400_000  # ~22 MB of (key, score): a bus message is at most 32 MiB
QUERY_CACHE = 64


class Vectorizer:
    def __init__(self, ctx: service.Context) -> None:
        self.ctx = ctx
        self.precision = ctx.config.precision
        self.embedder: Embedder | None = None
        self.query_embedder: Embedder | None = None
        self.matrix: VectorMatrix | None = None
        self.model_id: int | None = None
        self.loaded = False
        self.cursor = 0  # chunk id the next pull continues after
        self.pending = 0  # the owner's count at the start of a pass, less what was stored since
        self.done = 0  # vectors stored by this process
        self.errors = 0
        self.rate = 0.0
        self.complete = False
        self.more = False  # work is left: the next round starts at once
        self.queries: dict[str, np.ndarray] = {}  # the last query vectors, oldest first
        self._last_error: tuple[str, float] = ("", 0.0)

    async def start(self, bus: MessageBus) -> None:
        graph = DEFAULT_GRAPH if self.precision == "int8" else None
        if graph is not None and not graph.is_file():
            log.warning("the int8 graph %s is missing (make install builds it); using the exact float32 model, "
                        "about 14 times slower", graph)
        started = time.monotonic()
        self.embedder = await asyncio.to_thread(Embedder, graph)
        self.query_embedder = await asyncio.to_thread(self.embedder.for_queries)
        log.info("model %s loaded in %.2f s", self.embedder.model_id, time.monotonic() - started,
                 extra={"model": self.embedder.model_id})
        bus.export(VECTORIZER_PATH, NearestService(self))
        reply = await bus.request_name(VECTORIZER_NAME, NameFlag.DO_NOT_QUEUE)
        if reply != RequestNameReply.PRIMARY_OWNER:
            raise RuntimeError(f"cannot own {VECTORIZER_NAME} ({reply.name}); is another vectorizer running?")

    # ------------------------------------------------------------------ rounds
    async def round(self, owner: OwnerClient) -> RoundReport:
        assert self.embedder is not None
        try:
            if self.model_id is None:
                self.model_id, stored = await owner.register_model(self.embedder.model_id, self.embedder.dim)
                # room for every stored vector and some: growing means a copy, and twice the memory meanwhile
                self.matrix = VectorMatrix(self.embedder.dim, capacity=stored + stored // 8 + 1024)
                self.loaded = False
            if not self.loaded:
                await self._load(owner)
            return await self._batch(owner)
        except DBusError as exc:
            known = errors.of(exc)
            if isinstance(known, errors.Busy):
                return self._progress(f"paused: {exc.text}")  # a repair, or the watcher indexing
            if isinstance(known, errors.NotFound):
                self.model_id, self.loaded = None, False  # the index was rebuilt: announce the model again
                return self._progress("the owner forgot the model; announcing it again")
            if known is not None:
                self.errors += 1
                now = time.monotonic()
                # the same refusal (a full disk) is said once a minute, not every round
                if exc.text != self._last_error[0] or now - self._last_error[1] >= 60:
                    log.error("the owner refused a batch of vectors: %s", exc.text)
                    self._last_error = (exc.text, now)
                return self._progress(f"error: {exc.text}")
            raise  # the owner is away: the loop says so and retries

    async def _load(self, owner: OwnerClient) -> None:
        assert self.matrix is not None and self.model_id is not None
        started = time.monotonic()
        after = 0
        while page := await owner.model_vectors(self.model_id, after, LOAD_PAGE):
            self.matrix.add([i for i, _, _ in page], [k for _, k, _ in page],
                            np.frombuffer(b"".join(v for _, _, v in page), np.float32).reshape(len(page), -1))
            after = page[-1][0]
        self.loaded = True
        self.pending = await owner.chunks_pending()
        log.info("%d stored vector(s) of %s loaded in %.2f s (%.0f MB); %d chunk(s) to embed", len(self.matrix),
                 self.embedder.model_id if self.embedder else "", time.monotonic() - started,
                 self.matrix.nbytes / 1e6, self.pending)

    async def _batch(self, owner: OwnerClient) -> RoundReport:
        assert self.embedder is not None and self.matrix is not None and self.model_id is not None
        chunks, next_cursor = await owner.pending_chunks(self.model_id, self.cursor, BATCH)
        if not chunks and next_cursor == 0:
            self.cursor = 0
            if self.pending or not self.complete:
                self.complete, _count = await owner.finish_model(self.model_id)
                self.pending = 0 if self.complete else await owner.chunks_pending()
            return self._progress(f"idle: every chunk has a vector ({len(self.matrix)} in memory, model "
                                  f"{self.embedder.model_id})" if self.complete else "idle")
        if self.complete:  # new work after a quiet spell: how much, for the status line
            self.complete = False
            self.pending = await owner.chunks_pending()
        self.cursor = next_cursor
        if chunks:
            started = time.monotonic()
            vectors = await asyncio.to_thread(self.embedder.embed, [text for _, text in chunks])
            stored = await owner.store_vectors(self.model_id, [(key, vectors[i].tobytes())
                                                               for i, (key, _) in enumerate(chunks)])
            by_key = {key: i for i, (key, _) in enumerate(chunks)}
            self.matrix.add([i for i, _ in stored], [k for _, k in stored],
                            vectors[[by_key[k] for _, k in stored]] if stored else vectors[:0])
            self.done += len(stored)
            self.pending = max(self.pending - len(stored), 0)
            seconds = time.monotonic() - started
            if seconds > 0:
                # smoothed over about ten batches: steady for a status line, quick to follow a change
                now = len(chunks) / seconds
                self.rate = now if self.rate == 0 else 0.9 * self.rate + 0.1 * now
        return self._progress(f"embedding: {self.pending} chunk(s) pending, {self.done} done, "
                              f"{self.rate:.1f} chunks/s ({self.embedder.model_id})", more=True)

    def _progress(self, status: str, more: bool = False) -> RoundReport:
        self.more = more
        return RoundReport(status, Counters(self.pending, self.done, self.errors))

    def interval(self) -> float:
        return 0.0 if self.more else self.ctx.config.report_interval

    # ------------------------------------------------------------------ queries
    async def nearest(self, text: str, count: int, among: list[bytes] | None = None) -> list[tuple[bytes, float]]:
        if self.query_embedder is None or self.matrix is None or not self.loaded:
            raise errors.Unavailable("the vectorizer is still loading its model and vectors; try again in a moment")
        embedder, matrix = self.query_embedder, self.matrix
        query = self.queries.pop(text, None)
        if query is None:
            query = (await asyncio.to_thread(embedder.embed, [text]))[0]
        # the owner asks again, for a longer ranking, when few results are in the project asked
        # about: the query's vector is kept for that (and for a repeated query) in a small LRU
        self.queries[text] = query
        while len(self.queries) > QUERY_CACHE:
            self.queries.pop(next(iter(self.queries)))
        return await asyncio.to_thread(matrix.nearest, query, count, among)


class NearestService(ServiceInterface):
    """What the owner asks the vectorizer. The bus policy admits only the service user."""

    def __init__(self, vectorizer: Vectorizer) -> None:
        super().__init__(VECTORIZER_INTERFACE)
        self.vectorizer = vectorizer

    @method()
    async def Nearest(self, text: api.Str, count: api.UInt32, among: api.Keys) -> api.Ranked:
        """The ``count`` stored chunk keys nearest to the text, best first, with cosine
        similarity; among the keys ``among`` only, unless it is empty."""
        found = await self.vectorizer.nearest(text, min(int(count), MAX_NEAREST),
                                              [bytes(k) for k in among] if among else None)
        return found


async def serve(ctx: service.Context) -> int:
    vectorizer = Vectorizer(ctx)

    def reloaded(old, new) -> None:
        if old.precision != new.precision:
            log.warning("[Vectorizer] Precision= changed to %s: it applies when the vectorizer restarts "
                        "(systemctl restart codeanalysisd-vectorizer.service)", new.precision)

    ctx.on_reload(reloaded)
    # The owner gives no chunk while the watcher has a backlog or the parser units verify:
    # it says when each is over.
    return await run_worker(ctx, "vectorizer", vectorizer.round, interval=vectorizer.interval,
                            on_connect=vectorizer.start, wake_on=("Projects", "FilesIndexed"),
                            wake_on_signals=("IndexingSettled", "VerificationSettled"))


def main() -> None:
    service.entry("codeanalysisd-vectorizer", serve)


if __name__ == "__main__":
    main()

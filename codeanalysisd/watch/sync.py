"""Bringing the index of one project in line with its files on disk.

The same code serves the reconcile scan at start, a rescan after an inotify overflow and
the handling of live events: it is given paths (files or directories) that may have
changed, compares them with what the index holds (size and mtime first, then the content
hash), and sends the owner only what differs, in whole-file batches. A file that vanished
from one path and appeared with the same content at another was moved: it keeps its
identity and is not parsed again.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import stat
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from dbus_fast import DBusError

from codeanalysisd.bus import errors
from codeanalysisd.bus.owner_client import OwnerClient
from codeanalysisd.index.extract import Parsed
from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.index.reading import FileRead, file_facts, outlined, read_file
from codeanalysisd.index.record import NO_CONTENT
from codeanalysisd.records import FileState
from codeanalysisd.tree import UNKNOWN, RootId
from codeanalysisd.watch.behind import Rests, ShowGate

log = logging.getLogger("codeanalysisd.watcher")

# A batch is one transaction on the owner's write thread (queries are answered meanwhile,
# from their own connection): large batches keep the per-request cost low.
BATCH_FILES = 64
BATCH_BYTES = 8 * 1024 * 1024
# Requests sent before the first is answered: the owner decodes the next batch while it
# writes one, and starts writing it as soon as that one is committed. With one, its write
# thread waited for each reply to reach the watcher and the next request to come back.
REQUESTS_IN_FLIGHT = 2
# A save of up to this many files shows each file's definitions and text first (ShowFiles:
# the parse and a walk over statements only) and sends the rest of its facts next: a large
# file is searchable in less than half the time. More files at once (a checkout, a scan) are
# all shown first, and the rest of their facts is sent once every project's sync of the
# moment has shown its own, each file read and parsed again (``ProjectSync._show_all``,
# ``finish``).
SHOW_FIRST = 4


@dataclass
class IndexedFile:
    """A file as the index holds it: the stat it was indexed (or last touched) with, its
    content's sha256, and whether it is live or kept as deleted."""

    size: int
    mtime_ns: int
    sha256: bytes
    live: bool


@dataclass
class SyncProgress:
    """What a project's sync has done since the watcher started: files pending, indexed,
    indexed with errors, moved, deleted, and verified by libcst."""

    pending: int = 0
    done: int = 0
    errors: int = 0
    moved: int = 0
    removed: int = 0


@dataclass
class Showing:
    """A large change's files being shown ahead of the rest of their facts (``_show_all``): of
    the ``total`` to show, those the owner answered for (shown, or refused and left to be
    indexed whole) and those left out (they do not parse, or are too large to: indexed whole
    next). Counted apart as each has one writer: the loop for the first, the thread making
    the outlines for the second."""

    total: int
    answered: int = 0
    left_out: int = 0

    @property
    def done(self) -> int:
        return self.answered + self.left_out


@dataclass
class SyncTimes:
    """Where one sync's time went, in seconds, for its debug line: comparing the paths with the
    index (reading and hashing what differs in size or mtime), extracting the facts of the
    files to index, and the owner's answers to the requests carrying them, from each request
    sent to its reply (requests overlap the next batch's extraction)."""

    compare: float = 0.0
    extract: float = 0.0
    owner: float = 0.0
    # a save shown first (ShowFiles): its first file's parse and outline, and the owner's
    # answer to showing it
    outline: float = 0.0
    shown: float = 0.0


@dataclass
class Plan:
    """What differs between disk and index: files to index (new or changed content), files to
    touch (same content, new stat), live paths gone from disk, and paths that changed while
    being read (to look at again)."""

    index: list[FileRead] = field(default_factory=list)
    touch: list[tuple[str, int, int]] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    retry: set[str] = field(default_factory=set)


def compare(files: ProjectFiles, known: Mapping[str, IndexedFile], candidates: Iterable[str]) -> Plan:
    """The plan for the candidate paths: each is compared as it is on disk (size and mtime
    first, then the content hash) with what the index holds of it (``known``)."""
    plan = Plan()
    for rel in sorted(candidates):
        indexed = known.get(rel)
        if files.is_member(rel):
            try:
                st = files.tree.lstat(rel)
            except OSError:
                st = None
            if (st and indexed and indexed.live
                    and (indexed.size, indexed.mtime_ns) == (st.st_size, st.st_mtime_ns)):
                continue
            item = read_file(files.tree, rel)
            if item is None:
                plan.retry.add(rel)
            elif indexed and indexed.live and item.data is not None and indexed.sha256 == item.sha256:
                plan.touch.append((rel, item.size, item.mtime_ns))
            else:
                plan.index.append(item)
        elif indexed and indexed.live:
            plan.gone.append(rel)
    return plan


def find_moves(gone: Sequence[str], new: Sequence[FileRead], known: Mapping[str, IndexedFile]
               ) -> list[tuple[str, FileRead]]:
    """The (gone path, new file) pairs to try as moves, in the order of ``new``: a new file
    whose content (read, not unreadable) is that of a gone path, unless its own path is a live
    indexed file already. Each gone path is offered once; of several with the same content,
    the first in ``gone`` goes first."""
    if not gone or not new:
        return []
    by_hash: dict[bytes, list[str]] = {}
    for rel in gone:
        by_hash.setdefault(known[rel].sha256, []).append(rel)
    pairs: list[tuple[str, FileRead]] = []
    for item in new:
        olds = by_hash.get(item.sha256) if item.data is not None else None
        target = known.get(item.rel)
        if olds and not (target and target.live):
            pairs.append((olds.pop(0), item))
    return pairs


class ProjectSync:
    def __init__(self, project_id: str, root: str, owner: OwnerClient, extra_patterns: Iterable[str] = (),
                 max_parse: int = 1024 * 1024, on_progress: Callable[[], None] = lambda: None,
                 identity: RootId = UNKNOWN, gate: ShowGate | None = None,
                 on_rest_failed: Callable[[], None] = lambda: None) -> None:
        self.max_parse = max_parse
        self.id = project_id
        self.root = root
        self.owner = owner
        self.files = ProjectFiles(root, tuple(extra_patterns), identity)
        self.known: dict[str, IndexedFile] = {}
        self.stale = True  # known must be (re)loaded from the index before it is compared with
        self.progress = SyncProgress()
        self.skipped: dict[str, str] = {}  # path -> why it is not followed, as last sent to the owner
        self._on_progress = on_progress
        self.gate = gate or ShowGate()
        # the files a large change showed whose rest of facts is not sent yet (finish), in
        # order: each path with the content shown, read again then (the bytes of every project
        # scanned together would not fit in memory)
        self.owed: list[tuple[str, bytes]] = []
        self.showing: Showing | None = None  # while a large change is shown (IndexProgress's phase)
        # the rest of the facts of saves already shown, still being extracted and sent
        self.rests = Rests(on_rest_failed)

    async def load(self) -> None:
        self.stale = False
        self.known = {path: IndexedFile(size, mtime, sha, state == FileState.LIVE)
                      for path, size, mtime, sha, state in await self.owner.file_states(self.id)}

    # ------------------------------------------------------------------ what to look at
    def _known_under(self, rel: str) -> Iterator[str]:
        prefix = rel.rstrip("/") + "/" if rel else ""
        return (p for p, k in self.known.items() if k.live and p.startswith(prefix))

    def expand(self, rels: Iterable[str]) -> tuple[set[str], dict[str, dict[str, str]]]:
        """Paths to compare: each path itself, and what lies (or lay) below it if a directory;
        and, for each of the given paths, the symbolic links found at or below it. Raises
        tree.RootGone when the root is not the directory registered any more."""
        out: set[str] = set()
        skipped: dict[str, dict[str, str]] = {}
        for rel in rels:
            found = skipped.setdefault(rel, {})
            if not rel or self._is_dir(rel):
                out.update(self.files.walk(rel, found))
            else:
                out.add(rel)
                if rel and (reason := self.files.symlink_reason(rel)) is not None:
                    found[rel] = reason
            out.update(self._known_under(rel))
        return out, skipped

    def _is_dir(self, rel: str) -> bool:
        try:
            return stat.S_ISDIR(self.files.tree.lstat(rel).st_mode)
        except OSError:
            return False

    async def _report_skipped(self, scopes: dict[str, dict[str, str]]) -> None:
        for scope, found in scopes.items():
            prefix = scope + "/"
            before = {p: r for p, r in self.skipped.items() if not scope or p == scope or p.startswith(prefix)}
            # a full scan always reports: rows from before a restart must not linger
            if found != before or not scope:
                await self.owner.set_skipped(self.id, scope, sorted(found.items()))
                for path in before:
                    del self.skipped[path]
                self.skipped.update(found)

    # ------------------------------------------------------------------ compare and send
    async def sync(self, rels: Iterable[str]) -> set[str]:
        """Bring the given paths in line; returns paths to look at again (they were changing)."""
        rels = set(rels)
        began = time.monotonic()
        times = SyncTimes()
        if self.rests and (self.stale or "" in rels):
            await self.rests.done()  # what the index holds is read, or every path compared
        if self.stale or "" in rels:
            # The index was changed by the repair worker (signalled, or unknown to this process
            # while it was stopped, which a full scan after an overflow follows): compare with
            # what the index holds now, or a file it indexed and that is gone since stays live,
            # and content it replaced is taken for what the index holds.
            await self.load()
        candidates, skipped = self.expand(rels)
        if self.rests.holds(candidates):
            await self.rests.done()  # a path's facts reach the owner in the order of its saves
        plan = compare(self.files, self.known, candidates)
        times.compare = time.monotonic() - began
        await self._moves(plan)
        if plan.touch:
            await self.owner.touch_files(self.id, plan.touch)
            for rel, size, mtime in plan.touch:
                k = self.known[rel]
                k.size, k.mtime_ns = size, mtime
        if plan.index and "" not in rels and len(plan.index) <= SHOW_FIRST:
            await self.rests.room()
            # pending from here: until the rest is sent, the index is not yet what disk holds
            self.progress.pending += len(plan.index)
            try:
                parsed = await self._show(plan.index, times)
            except BaseException:
                self.progress.pending -= len(plan.index)
                raise
            items = plan.index
            self.rests.add([item.rel for item in items], sum(item.size for item in items),
                           lambda: self._rest(items, times, began, parsed))
        elif plan.index:
            self.progress.pending += len(plan.index)
            try:
                shown = await self._show_all(plan.index, times)
            except BaseException:
                self.progress.pending -= len(plan.index)
                raise
            # Those not shown (a file that does not parse, or too large to) are indexed whole
            # first: no more than their text, and searchable with the files shown.
            rest = [item for item in plan.index if item.rel in shown]
            left = [item for item in plan.index if item.rel not in shown]
            try:
                await self._index(left, times)
            except BaseException:
                self.progress.pending -= len(rest)
                raise
            self.owed.extend((item.rel, item.sha256) for item in rest)  # sent by finish()
            self._log_indexed([(item.rel, item.size) for item in left], times, began)
        if plan.gone:
            self.progress.removed += await self.owner.remove_files(self.id, plan.gone)
            for rel in plan.gone:
                self.known[rel].live = False
            log.info("%d file(s) deleted from disk in %s, kept in the index as deleted", len(plan.gone), self.id,
                     extra={"project": self.id})
        await self._report_skipped(skipped)
        self._on_progress()
        return plan.retry

    async def finish(self) -> set[str]:
        """Send the rest of the facts of the files a large change showed (``owed``), each read
        again; returns the paths to look at again: a file whose bytes are not those shown any
        more (or that cannot be read now) is left to a sync, which sees why. The watcher sends
        the rest once every project's sync of the moment has shown its files, so that
        projects scanned together are all searchable before any is indexed whole, and before
        any other sync of the project (a path's facts reach the owner in the order of its
        changes). If it fails, nothing is owed any more and the caller has every owed path
        looked at again."""
        owed, self.owed = self.owed, []
        began = time.monotonic()
        times = SyncTimes()
        again: set[str] = set()
        sent: list[tuple[str, int]] = []  # not the files: their bytes go with their batch

        def still_shown() -> Iterator[FileRead]:
            # Read on the loop, one file at a time as the batches are made: a file's bytes are
            # held from here until its batch is answered.
            for rel, sha256 in owed:
                item = read_file(self.files.tree, rel)
                if item is None or item.data is None or item.sha256 != sha256:
                    again.add(rel)
                    self.progress.pending -= 1  # counted again when it is looked at again
                    continue
                sent.append((rel, item.size))
                yield item

        settled = self.progress.done
        try:
            await self._stream(still_shown(), lambda item: file_facts(item, self.max_parse),
                               lambda request, items: self._send(request, items, times), times)
        except BaseException:
            self.progress.pending -= len(owed) - len(again) - (self.progress.done - settled)
            raise
        self._log_indexed(sent, times, began)
        return again

    def _log_indexed(self, items: Sequence[tuple[str, int]], times: SyncTimes, began: float) -> None:
        """The debug line of files indexed, each (path, size)."""
        if items and log.isEnabledFor(logging.DEBUG):
            shown = (f"; shown first, after {1000 * times.outline:.1f} ms parsing and outlining, the owner's answer "
                     f"{1000 * times.shown:.1f} ms" if times.shown else "")
            log.debug("indexed %d file(s) of %s (%d byte(s)) in %.1f ms: compared in %.1f, extracted in %.1f, "
                      "the owner's answers %.1f ms%s", len(items), self.id,
                      sum(size for _, size in items), 1000 * (time.monotonic() - began),
                      1000 * times.compare, 1000 * times.extract, 1000 * times.owner, shown,
                      extra={"project": self.id, "path": items[0][0]})

    async def _moves(self, plan: Plan) -> None:
        """A gone path and a new path with the same content: a move, keeping the file's identity.
        What the owner does not move stays in the plan, to be deleted and indexed."""
        moved: set[str] = set()
        for old, item in find_moves(plan.gone, plan.index, self.known):
            if await self.owner.move_file(self.id, old, item.rel, item.size, item.mtime_ns):
                self.known[item.rel] = IndexedFile(item.size, item.mtime_ns, item.sha256, True)
                self.known.pop(old, None)
                plan.gone.remove(old)
                self.progress.moved += 1
                log.info("%s moved to %s", old, item.rel, extra={"project": self.id, "path": item.rel})
                moved.add(item.rel)
        if moved:
            plan.index = [item for item in plan.index if item.rel not in moved]

    async def _show(self, items: list[FileRead], times: SyncTimes) -> dict[str, Parsed | None]:
        """Show each of a save's files (``_show_first``), all before the rest of any one's facts
        is extracted; their parsed trees, for that rest."""
        with self.gate.showing():
            return {item.rel: await self._show_first(item, times) for item in items}

    async def _rest(self, items: list[FileRead], times: SyncTimes, began: float,
                    parsed: dict[str, Parsed | None]) -> None:
        """The rest of the facts of a save shown first, out of the way of the next save's showing."""
        await self._index(items, times, parsed, self.gate)
        self._log_indexed([(item.rel, item.size) for item in items], times, began)

    async def _index(self, items: list[FileRead], times: SyncTimes, parsed: Mapping[str, Parsed | None] | None = None,
                     gate: ShowGate | None = None) -> None:
        """Extract and send ``items`` in batches (with the trees ``parsed`` already, if any);
        with a ``gate``, neither a file's extraction nor a request begins while a showing is
        under way. The caller has counted them pending."""
        trees = parsed or {}
        settled = self.progress.done
        try:
            await self._stream(items, lambda item: file_facts(item, self.max_parse, trees.get(item.rel)),
                               lambda request, sent: self._send(request, sent, times), times, gate)
        except BaseException:
            # What was not taken is not pending here any more: it is dirty again, and counted
            # again when it is retried.
            self.progress.pending -= len(items) - (self.progress.done - settled)
            raise

    async def _show_all(self, items: list[FileRead], times: SyncTimes) -> set[str]:
        """Show every file of a large change (a scan, a checkout) before the rest of any one's
        facts: its definitions and text, all that ``Search`` and ``FindSymbol`` answer from,
        take the owner about a third of writing the file whole, and here the parse and a walk
        over statements, so a new project is searchable in about a third of the time its whole
        index takes (bench/index_stdlib.py). Each file is read and parsed again for the rest
        (``finish``): the files and trees of a whole project would not fit in memory. The paths
        shown; a batch the owner refuses to show is indexed whole all the same."""
        shown: set[str] = set()
        showing = Showing(len(items))

        async def show(request: list[tuple[str, int, int, bytes, str, int]], sent: list[FileRead]) -> None:
            try:
                await self.owner.show_files(self.id, request)
            except DBusError as exc:
                if errors.of(exc) is None:
                    raise  # not a refusal: the owner is not there to index them either
                log.warning("%d file(s) could not be shown ahead of their facts: %s", len(sent), exc.text,
                            extra={"project": self.id, "path": sent[0].rel})
            else:
                for item in sent:
                    shown.add(item.rel)
                    # As the index tells a file shown and not yet whole (indexing.states): live,
                    # unread. A deletion before its rest is then a deletion; any other look at
                    # it reads it again.
                    self.known[item.rel] = IndexedFile(item.size, -1, NO_CONTENT, True)
            showing.answered += len(sent)
            self._on_progress()

        def outline(item: FileRead) -> tuple[str, bool] | None:
            made = outlined(item, self.max_parse)[1]
            if made is None:
                showing.left_out += 1
                return None
            return made, True

        self.showing = showing
        try:
            await self._stream(items, outline, show, times)
        finally:
            self.showing = None
        return shown

    async def _stream(self, items: Iterable[FileRead], facts: Callable[[FileRead], tuple[str, bool] | None],
                      send: Callable[[list[tuple[str, int, int, bytes, str, int]], list[FileRead]], Awaitable[None]],
                      times: SyncTimes, gate: ShowGate | None = None) -> None:
        """Each item's facts made on a thread (``facts``: the wire's JSON and whether the file
        was read and parsed cleanly, else counted an error; None: the file is left out), sent in
        batches (``send``), ``REQUESTS_IN_FLIGHT`` at most; with a ``gate``, neither a file's
        facts nor a request begins while a showing is under way. Requests still out when it
        fails are given up (their files are sent again)."""
        in_flight: collections.deque[asyncio.Task[None]] = collections.deque()
        try:
            batch: list[tuple[str, int, int, bytes, str, int]] = []
            sent: list[FileRead] = []
            size = 0

            async def flush() -> None:
                nonlocal batch, sent, size
                while len(in_flight) >= REQUESTS_IN_FLIGHT:
                    await in_flight.popleft()
                if gate is not None:
                    await gate.clear()
                in_flight.append(asyncio.ensure_future(send(batch, sent)))
                batch, sent, size = [], [], 0

            for item in items:
                if gate is not None:
                    await gate.clear()
                # Made on a thread, so that the loop goes on sending the requests in flight
                # and reading their replies meanwhile: made on the loop, a batch's request left
                # only when the next batch was parsed, and the owner and this process took
                # turns instead of working side by side.
                extracting = time.monotonic()
                made = await asyncio.to_thread(facts, item)
                times.extract += time.monotonic() - extracting
                if made is None:
                    continue
                text, clean = made
                if not clean:
                    self.progress.errors += 1
                batch.append((item.rel, item.size, item.mtime_ns, item.data or b"", text, item.mode))
                sent.append(item)
                size += len(item.data or b"") + len(text)
                if len(batch) >= BATCH_FILES or size >= BATCH_BYTES:
                    await flush()
            if batch:
                await flush()
            while in_flight:
                await in_flight.popleft()
        except BaseException:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            raise

    async def _show_first(self, item: FileRead, times: SyncTimes) -> Parsed | None:
        """Parse the file, show its outline (ShowFiles), and return the tree for the rest of
        its facts. Shown before the rest is extracted, not beside it: that walk, on a thread,
        holds the interpreter's lock in slices the loop must wait out to send the request and
        read its reply (the bus's leg of showing a 230 KB file took 18 ms beside it, 7 ms for
        the whole file before). For the same reason an earlier save's rest begins no walk
        while a showing is under way (``behind.ShowGate``); one it has begun runs on."""
        extracting = time.monotonic()
        parsed, outline = await asyncio.to_thread(outlined, item, self.max_parse)
        took = time.monotonic() - extracting
        times.extract += took
        times.outline = times.outline or took
        if outline is None:
            return parsed
        sent = time.monotonic()
        try:
            await self.owner.show_files(self.id, [(item.rel, item.size, item.mtime_ns, item.data or b"", outline,
                                                   item.mode)])
        except DBusError as exc:  # refused: the file is indexed whole all the same, next
            log.warning("%s could not be shown ahead of its facts: %s", item.rel, exc.text,
                        extra={"project": self.id, "path": item.rel})
        times.shown = times.shown or time.monotonic() - sent
        return parsed

    async def _send(self, request: list[tuple[str, int, int, bytes, str, int]], items: list[FileRead],
                    times: SyncTimes) -> None:
        sent = time.monotonic()
        await self.owner.index_files(self.id, request)
        times.owner += time.monotonic() - sent
        for item in items:
            self.known[item.rel] = IndexedFile(item.size, item.mtime_ns, item.sha256, True)
        self.progress.pending -= len(items)
        self.progress.done += len(items)
        self._on_progress()

"""What the watcher and the repair worker send: files indexed, removed, moved, touched,
syntax verdicts, skipped paths and project states. Each request is one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time

from codeanalysisd import paths
from codeanalysisd.db.store import Writes
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.owner import failures
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.freshness import watcher_indexing
from codeanalysisd.owner.parsers import verified_in
from codeanalysisd.owner.restores_pending import Held
from codeanalysisd.records import ProjectState

log = logging.getLogger("codeanalysisd.owner")

MAX_REASON = 500  # characters of a verdict or a skip reason kept


def rel(path: str) -> str:
    """A path a worker sent: relative to the root, in canonical form (paths.relative)."""
    return paths.relative(path)


FileRow = tuple[str, int, int, bytes, str, int]


async def index_files(core: OwnerCore, project: str, files: list[FileRow], reason: str | None) -> int:
    """Whole files, each (path, size, mtime_ns, source, facts JSON, mode); the batch is one
    transaction. A file whose bytes are a restore's not yet recorded waits for that record
    (owner/restores_pending.py)."""
    pid = core.project(project).id
    return await _write(core, pid, _not_held(core, pid, files, reason), reason, False)


async def show_files(core: OwnerCore, project: str, files: list[FileRow]) -> int:
    """Saved files ahead of the rest of their facts, which follow in ``index_files``: each
    row as there, its facts the definitions alone (``index/reading.outline_facts``); one
    transaction (``indexing.show_file``). A file that did not parse, or whose bytes may be a
    restore's not yet recorded, is not shown: it waits for the rest."""
    pid = core.project(project).id
    return await _write(core, pid, [row for row in files if (pid, rel(row[0])) not in core.restores], None, True)


async def _write(core: OwnerCore, pid: str, files: list[FileRow], reason: str | None, show: bool) -> int:
    if not files:
        return 0
    asked = time.monotonic()
    began = ended = asked  # when the write thread took the batch, and when it had committed it

    def write(w: Writes) -> int:
        nonlocal began, ended
        began = time.monotonic()
        # Decoded on the write thread, not on the event loop that answers queries meanwhile:
        # decoding and hashing a batch takes about a quarter of what extracting it took the
        # watcher. Not on a thread of its own either: two batches decoded at once raised the
        # owner's peak memory by a third over the standard library. And one file at a time,
        # as it is written: a batch's decoded facts take four to six times its request's
        # bytes (up to 40 MB for 8 MB of SymPy), a file's a few MB at most. A file whose facts
        # are malformed rolls the batch's transaction back: nothing of it is written.
        updates = (FileUpdate.from_wire(rel(path), size, mtime, source, facts, mode)
                   for path, size, mtime, source, facts, mode in files)
        try:
            if show:
                return w.files.show(pid, (u for u in updates if u.facts.parsed and not u.facts.unreadable))
            return w.files.index(pid, updates, reason)
        finally:
            ended = time.monotonic()

    # reason None: the watcher's (the repair worker's own writes do not date its looks)
    with core.reports.watcher_writing(pid) if reason is None else contextlib.nullcontext():
        count = await core.store.write(write)
    if log.isEnabledFor(logging.DEBUG):
        now = time.monotonic()
        log.debug("%s %d file(s) of %s in %.1f ms: %.1f waiting for the write thread, %.1f decoding and "
                  "writing, %.1f back on the event loop", "shown" if show else "indexed", len(files), pid,
                  1000 * (now - asked), 1000 * (began - asked), 1000 * (ended - began), 1000 * (now - ended),
                  extra={"project": pid, "path": rel(files[0][0]) if files else ""})
    if reason == "repaired":
        log.info("repair worker re-indexed %s", ", ".join(rel(path) for path, *_ in files[:20]), extra={"project": pid})
    core.changed(Change.FILES)
    return count


def _not_held(core: OwnerCore, pid: str, files: list[FileRow], reason: str | None) -> list[FileRow]:
    if not len(core.restores):
        return files
    kept, now = [], time.monotonic()
    for row in files:
        key = (pid, rel(row[0]))
        if key in core.restores and core.restores.hold(key, hashlib.sha256(row[3]).digest(), Held(pid, row, reason),
                                                       now):
            log.debug("%s of %s holds a restore's bytes: it waits for the restore to be recorded", key[1], pid,
                      extra={"project": pid, "path": key[1]})
        else:
            kept.append(row)
    if len(kept) < len(files):
        write_when_lapsed(core)
    return kept


_writing: set[asyncio.Task[None]] = set()  # the tasks writing lapsed holds, kept from the collector


def write_when_lapsed(core: OwnerCore) -> None:
    """Index what a restore's hand-out held once it lapses without the restore recorded."""
    when = core.restores.next_lapse()
    if when is not None:
        asyncio.get_running_loop().call_later(max(0.0, when - time.monotonic()), _lapse, core)


def _lapse(core: OwnerCore) -> None:
    held = core.restores.lapsed(time.monotonic())
    if held:
        task = asyncio.ensure_future(_write_held(core, held))
        _writing.add(task)
        task.add_done_callback(_writing.discard)


async def _write_held(core: OwnerCore, held: list[Held]) -> None:
    for h in held:
        path = rel(h.row[0])
        log.info("%s of %s: the restore handed out for it was not recorded; it is indexed as read", path,
                 h.project_id, extra={"project": h.project_id, "path": path})
        try:
            await index_files(core, h.project_id, [h.row], h.reason)
        except Exception as exc:  # nobody awaits this task: the project went meanwhile, or the write failed
            log.warning("%s of %s could not be indexed: %s", path, h.project_id, exc,
                        extra={"project": h.project_id, "path": path})


async def remove_files(core: OwnerCore, project: str, relpaths: list[str]) -> int:
    pid, gone = core.project(project).id, [rel(p) for p in relpaths]
    with core.reports.watcher_writing(pid):
        count = await core.store.write(lambda w: w.files.mark_deleted(pid, gone))
    core.changed(Change.FILES)
    return count


async def move_file(core: OwnerCore, project: str, old: str, new: str, size: int, mtime_ns: int) -> bool:
    pid, old, new = core.project(project).id, rel(old), rel(new)
    with core.reports.watcher_writing(pid):
        moved = await core.store.write(lambda w: w.files.move(pid, old, new, size, mtime_ns))
    core.changed(Change.FILES)
    return moved


async def touch_files(core: OwnerCore, project: str, stats: list[tuple[str, int, int]]) -> None:
    pid, checked = core.project(project).id, [(rel(p), s, m) for p, s, m in stats]
    await core.store.write(lambda w: w.files.touch(pid, checked))


def syntax_pending(core: OwnerCore, project: str, limit: int, claimant: str) -> list[tuple[str, bytes, int]]:
    """Up to ``limit`` files of the project for ``claimant`` (a parser unit) to verify, none
    another holds, nothing while the watcher has a backlog (owner/parsers.py): (path, sha256,
    its syntax nodes as the indexer counted them, 0 if it did not)."""
    pid, now = core.project(project).id, time.monotonic()
    if watcher_indexing(core):
        core.syntax_claims.take(pid, claimant, (), now)  # nothing for it now: it is not verifying
        return []
    others = core.syntax_claims.held_by_others(pid, claimant, now)
    rows = [r for r in core.store.reads.files.syntax_pending(pid, limit + len(others)) if r[0] not in others]
    core.syntax_claims.take(pid, claimant, (path for path, _, _ in rows[:limit]), now)
    # 0 for none: a parsed file's tree has a node at least (its module)
    return [(path, sha, nodes or 0) for path, sha, nodes in rows[:limit]]


def index_settled(core: OwnerCore) -> None:
    """The watcher has nothing left to index: with files left to verify in a project the
    parser units follow (not one whose root is missing), they, woken by the signal that says
    so, are about to begin (``SyntaxClaims.expect``)."""
    if any(verified_in(state) for state in core.store.reads.files.projects_syntax_pending().values()):
        core.syntax_claims.expect(time.monotonic())


async def record_syntax(core: OwnerCore, project: str, verdicts: list[tuple[str, bytes, str]]) -> int:
    """(path, sha256 the verdict was made on, verdict): 'exact' or why the tree differs."""
    pid, checked = core.project(project).id, [(rel(p), sha, v[:MAX_REASON]) for p, sha, v in verdicts]
    recorded = await core.store.write(lambda w: w.files.record_syntax(pid, checked))
    core.syntax_claims.release(pid, (path for path, _, _ in checked), time.monotonic())
    return recorded


async def set_skipped(core: OwnerCore, project: str, scope: str, entries: list[tuple[str, str]]) -> None:
    """Paths at and below scope ("" = all) that are not followed, each with its reason."""
    pid, under = core.project(project).id, rel(scope) if scope else ""
    checked = [(rel(p), reason[:MAX_REASON]) for p, reason in entries]
    await core.store.write(lambda w: w.files.set_skipped(pid, under, checked))


async def set_project_state(core: OwnerCore, project: str, state: str, reason: str) -> None:
    try:
        new = ProjectState(state)
    except ValueError:
        raise failures.Refused(f"unknown project state {state!r}") from None
    pid = core.project(project).id
    if await core.store.write(lambda w: w.projects.set_state(pid, new)):
        level = logging.WARNING if new is ProjectState.MISSING else logging.INFO
        log.log(level, "project %s is %s: %s", pid, new, reason, extra={"project": pid})
        core.changed(Change.FILES)

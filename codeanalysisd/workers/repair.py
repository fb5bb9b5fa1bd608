"""codeanalysisd-repair: checks the database against disk in batches and repairs what differs.

Every ``PollInterval`` it takes the next ``BatchSize`` paths of a round-robin over all
projects (every path on disk, in the index or in the version store), reads and hashes
them, and hands the batch to the DB owner, which applies the repair rule (the same as the
``Repair`` method's) in one transaction. Files that need re-indexing are parsed here and
sent back. Nothing is stopped: the watcher keeps running beside it.

It repairs only what the watcher missed (a change while it was stopped, an event lost): the
paths of a project the watcher is indexing, scanning or about to scan are the watcher's
(``WatcherHas``, and the owner checks again on ``ReconcileFiles``), and are skipped. So is a
batch whose look at disk may have seen a change the watcher has: the owner asks the watcher
for a report made after it read every inotify event up to then, and takes none of the
batch if the project has changes pending there or the watcher changed its index since the
look began (a move seen half-way, a file deleted and made again).
Each batch is one journal line per project: files checked, repaired, and skipped because
the watcher has them.

StartRepairWorker can set another schedule (one project, another batch size or interval):
the worker asks the owner for it at the start of every round (the owner's signal
RepairScheduleChanged starts that round at once), the configured value standing for 0. A
new project scope starts a new cycle; a project added meanwhile joins the current one at
its front, so that its first check does not wait for the others. After every round it
reports its cycle and, per project, what it checked and repaired (ReportRepair), for
RepairWorkerStatus.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from dbus_fast import DBusError

from codeanalysisd import service
from codeanalysisd.bus import errors
from codeanalysisd.bus.owner_client import OwnerClient
from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.records import Counters
from codeanalysisd.repair import disk
from codeanalysisd.repair.plan import LEFT_TO_WATCHER, NEEDS_CONTENT
from codeanalysisd.tree import RootGone, RootId
from codeanalysisd.workers.loop import RoundReport, run_worker

log = logging.getLogger("codeanalysisd.repair")

Entry = tuple[str, bool, int, int, bytes]  # (path, on disk, size, mtime_ns, sha256)


@dataclass
class _Cycle:
    queue: list[tuple[str, str, str]] = field(default_factory=list)  # (project id, root, path)
    size: int = 0
    number: int = 0
    repaired: int = 0
    scope: str = ""  # the project it covers; "": every project
    projects: set[str] = field(default_factory=set)  # the projects listed into it


@dataclass
class _Tally:
    """One project's share of the work since the worker started."""

    checked: int = 0
    repaired: int = 0
    action: str = ""  # the last action, on ``path``, at ``at`` (unix time)
    path: str = ""
    at: float = 0.0

    def row(self, project: str) -> tuple[str, int, int, str, str, float]:
        return (project, self.checked, self.repaired, self.action, self.path, self.at)


@dataclass(frozen=True)
class BatchDone:
    """What one batch did in one project."""

    checked: int = 0
    repaired: int = 0
    skipped: int = 0  # left to the watcher, which has them


def batch_line(project: str, done: BatchDone) -> str:
    """The batch's journal line for one project."""
    return (f"{project}: checked {done.checked}, repaired {done.repaired}, skipped {done.skipped} "
            "(the watcher has them)")


def _walk(files: ProjectFiles) -> list[str]:
    return list(files.walk())


class RepairWorker:
    def __init__(self, ctx: service.Context) -> None:
        self.ctx = ctx
        self.cycle = _Cycle()
        self.checked = 0
        self.repaired = 0
        self.errors = 0
        self.files: dict[str, ProjectFiles] = {}
        self.tallies: dict[str, _Tally] = {}
        # The schedule as the owner last gave it (StartRepairWorker's; 0: the configured value).
        self.scope, self.batch_size, self.poll_interval = "", 0, 0.0
        self.round_began = 0.0

    @property
    def batch(self) -> int:
        return self.batch_size or self.ctx.config.repair_batch

    @property
    def interval(self) -> float:
        return self.poll_interval or self.ctx.config.repair_interval

    def wait(self) -> float:
        """Asked after each round: the rest of the interval since the round began (a round waits
        for the owner, which may wait for the watcher), so batches begin every interval. A
        reload of the configuration applies from this wait on."""
        return max(0.0, self.interval - (time.monotonic() - self.round_began))

    async def _listed(self, owner: OwnerClient, leave: set[str]) -> tuple[list[tuple[str, str, str]], set[str]]:
        """Every path of the active projects in scope but those in ``leave`` (on disk, in the
        index or in the version store), and the projects listed."""
        queue: list[tuple[str, str, str]] = []
        listed: set[str] = set()
        for project in await owner.list_projects():
            if project.state != "active" or (self.scope and project.id != self.scope) or project.id in leave:
                continue
            files = ProjectFiles(project.root, self.ctx.config.exclude, RootId(project.root_dev, project.root_ino))
            try:
                on_disk = await asyncio.to_thread(_walk, files)
            except RootGone:
                continue  # gone or not the registered directory: it would look like every file deleted
            self.files[project.id] = files
            known = await owner.repair_paths(project.id)
            queue += [(project.id, project.root, path) for path in sorted(set(on_disk) | set(known))]
            listed.add(project.id)
        return queue, listed

    async def _new_cycle(self, owner: OwnerClient) -> None:
        queue, listed = await self._listed(owner, set())
        self.cycle = _Cycle(queue, len(queue), self.cycle.number + 1, scope=self.scope, projects=listed)

    async def _join_new_projects(self, owner: OwnerClient) -> None:
        """A project added (or back) since the cycle began joins it at the front: its first
        check does not wait for a whole cycle over the others."""
        queue, listed = await self._listed(owner, self.cycle.projects)
        if listed:
            log.info("cycle %d: %d file(s) of %s joined it", self.cycle.number, len(queue), ", ".join(sorted(listed)))
            self.cycle.queue[:0] = queue
            self.cycle.size += len(queue)
            self.cycle.projects |= listed

    async def round(self, owner: OwnerClient) -> RoundReport:
        self.round_began = time.monotonic()
        self.scope, self.batch_size, self.poll_interval = await owner.repair_schedule()
        if self.cycle.scope != self.scope and self.cycle.queue:
            log.info("cycle %d left at %d of %d file(s): the schedule now covers %s", self.cycle.number,
                     self.cycle.size - len(self.cycle.queue), self.cycle.size,
                     "one project" if self.scope else "every project")
            self.cycle.queue.clear()
        elif not self.cycle.queue and self.cycle.number:
            log.debug("cycle %d done: %d file(s) checked, %d repaired", self.cycle.number, self.cycle.size,
                      self.cycle.repaired)
        if not self.cycle.queue:
            await self._new_cycle(owner)
        else:
            await self._join_new_projects(owner)
        batch = self.cycle.queue[:self.batch]
        by_project: dict[str, list[str]] = {}
        for pid, _root, path in batch:
            by_project.setdefault(pid, []).append(path)
        busy = False
        held = await owner.watcher_has() if by_project else set()
        results: dict[str, BatchDone] = {}
        for pid, paths in by_project.items():
            if pid in held:  # not read at all: the watcher is reading them
                results[pid] = BatchDone(skipped=len(paths))
                continue
            began = time.monotonic()
            entries = await self._look(pid, paths)
            if entries is None:
                results[pid] = BatchDone()
                continue
            try:
                results[pid] = await self._settle(owner, pid, entries, began)
            except DBusError as exc:
                known = errors.of(exc)
                if isinstance(known, errors.Busy):
                    busy = True  # a repair or a bulk index is running: the same batch again later
                    break
                if isinstance(known, errors.NotFound):
                    continue  # the project was removed meanwhile
                raise
        if not busy:
            del self.cycle.queue[:len(batch)]
            for pid, result in results.items():
                self.checked += result.checked
                self.tallies.setdefault(pid, _Tally()).checked += result.checked
                # Quiet batches only at debug level: at the default schedule that is a line every 10 s.
                level = logging.INFO if result.repaired or result.skipped else logging.DEBUG
                log.log(level, "%s", batch_line(pid, result), extra={"project": pid})
        done = self.cycle.size - len(self.cycle.queue)
        # No project id here: systemctl status shows this line to every local user.
        status = (f"cycle {self.cycle.number}: {done}/{self.cycle.size} file(s) checked, "
                  f"{self.cycle.repaired} repaired; {len(batch)} every {self.interval:g} s")
        if self.scope or self.batch_size or self.poll_interval:
            status += f" ({'one project, ' if self.scope else ''}set by StartRepairWorker)"
        if busy:
            status += " (paused: the owner is busy)"
        await owner.report_repair(self.cycle.number, self.cycle.size, done, self.cycle.repaired,
                                  (self.ctx.config.repair_batch, self.ctx.config.repair_interval),
                                  [t.row(pid) for pid, t in self.tallies.items()])
        return RoundReport(status, Counters(len(self.cycle.queue), self.checked, self.errors))

    async def _look(self, pid: str, paths: list[str]) -> list[Entry] | None:
        """Each path's state on disk, (path, present, size, mtime_ns, sha256), but those that
        were changing; None if the project's root is not there (or not the registered one)."""
        files = self.files.get(pid)
        if files is None:
            return None  # its root was not there when the cycle began

        def look() -> list[Entry]:
            # The root again, each batch: one that went meanwhile must not read as files deleted.
            files.tree.verify()
            on_disk, unsettled = disk.state(paths, files)
            return [(rel, True, d.size, d.mtime_ns, d.sha256) if (d := on_disk.get(rel)) else (rel, False, 0, 0, b"")
                    for rel in paths if rel not in unsettled]

        try:
            return await asyncio.to_thread(look)
        except RootGone:
            self.files.pop(pid, None)  # the watcher reports it missing; the next cycle looks again
            return None

    async def _settle(self, owner: OwnerClient, pid: str, entries: list[Entry], looked_at: float) -> BatchDone:
        """The owner applies the repair rule to what the look saw; what needs content is read,
        parsed and sent here."""
        files = self.files[pid]
        actions = await owner.reconcile_files(pid, entries, looked_at)
        left = sum(1 for _rel, action in actions if action == LEFT_TO_WATCHER)
        if left:  # the watcher took the project on, or changed its index, since the look
            return BatchDone(skipped=left)
        # The owner has done the others already; these need the file read, parsed and sent.
        needed = [(rel, action) for rel, action in actions if action in NEEDS_CONTENT]
        expected = {rel: sha for rel, _present, _size, _mtime, sha in entries}
        taken = [(rel, action) for rel, action in actions if action not in NEEDS_CONTENT]

        def parse() -> list[tuple[str, int, int, bytes, str, int]]:
            out = []
            for rel, _action in needed:
                found = disk.reread(files.tree, rel, expected[rel], self.ctx.config.max_parse_size)
                if found is None:
                    continue  # changed again; the watcher or the next cycle takes it
                item, facts, clean = found
                if not clean:
                    self.errors += 1
                out.append((rel, item.size, item.mtime_ns, item.data or b"", facts, item.mode))
            return out

        files_out = await asyncio.to_thread(parse) if needed else []
        if files_out:
            await owner.repair_files(pid, files_out)
        sent = {rel for rel, *_ in files_out}
        taken += [(rel, action) for rel, action in needed if rel in sent]
        self._count(pid, taken)
        return BatchDone(checked=len(entries), repaired=len({rel for rel, _action in taken}))

    def _count(self, pid: str, taken: list[tuple[str, str]]) -> None:
        if not taken:
            return
        tally = self.tallies.setdefault(pid, _Tally())
        tally.repaired += len(taken)
        tally.path, tally.action = taken[-1]
        tally.at = time.time()
        self.cycle.repaired += len(taken)
        self.repaired += len(taken)


async def serve(ctx: service.Context) -> int:
    worker = RepairWorker(ctx)

    def reloaded(old, new) -> None:
        if (old.exclude, old.max_parse_size) != (new.exclude, new.max_parse_size):
            worker.cycle.queue.clear()  # the next round lists the projects by the new rule

    ctx.on_reload(reloaded)
    return await run_worker(ctx, "repair", worker.round, interval=worker.wait,
                            wake_on_signals=("RepairScheduleChanged",))


def main() -> None:
    service.entry("codeanalysisd-repair", serve)


if __name__ == "__main__":
    main()

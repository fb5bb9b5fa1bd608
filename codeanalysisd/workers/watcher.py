"""codeanalysisd-watcher: follows registered projects on disk and hands changes to the DB owner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Collection, Iterable

import pyinotify
from dbus_fast import DBusError

from codeanalysisd import service
from codeanalysisd.bus.api import PendingRow
from codeanalysisd.bus.connection import connect
from codeanalysisd.bus.owner_client import OwnerClient
from codeanalysisd.config import Config
from codeanalysisd.index.membership import is_ignore_file
from codeanalysisd.records import Counters, ProjectInfo
from codeanalysisd.tree import RootGone, RootId
from codeanalysisd.watch.behind import ShowGate
from codeanalysisd.watch.events import Inotify
from codeanalysisd.watch.settle import AT_ONCE, SETTLE, quiet_since, with_its_source
from codeanalysisd.watch.sync import ProjectSync
from codeanalysisd.workers.loop import OwnerLink, wake_on_changes

log = logging.getLogger("codeanalysisd.watcher")

# The owner hears of a project's backlog as soon as it changes (answers say "stale" while it
# lasts), but at most this often: a burst of saves is a few reports, not one per event.
BACKLOG_GAP = 0.05


class Watcher:
    def __init__(self, ctx: service.Context, owner: OwnerClient) -> None:
        self.ctx = ctx
        self.owner = owner
        self.syncs: dict[str, ProjectSync] = {}
        self.missing: dict[str, str] = {}  # project id -> root, while the root is gone (or not the registered one)
        self.reported_missing: set[str] = set()
        self.dirty: dict[str, dict[str, float]] = {}
        self.wake = asyncio.Event()
        self.overflowed = False
        self.projects_changed = asyncio.Event()
        # the repair worker changed the index: what each sync knows of it may be out of date
        self.index_repaired = asyncio.Event()
        # the owner asks for a report made after every event so far was read (BacklogWanted)
        self.backlog_wanted = asyncio.Event()
        self.rule_changed = False
        self.reported_unwatched: dict[str, int] = {}
        self.last_poll = time.monotonic()
        self.inotify: Inotify | None = None
        self._last_status = 0.0
        self.last_change: dict[str, float] = {}  # project id -> unix time of its last inotify event
        self.in_sync: dict[str, int] = {}  # project id -> paths being compared and sent right now
        self.scanning: set[str] = set()  # projects whose reconcile scan has not finished yet
        # project id -> its files indexed (SyncProgress.done) when its current work began: what
        # IndexProgress counts from, until the project has nothing pending again
        self.work_began: dict[str, int] = {}
        # files indexed and errors of projects no longer followed: the counters WorkerStatus
        # shows are this process's totals, and never go down when a project is removed
        self.dropped_done = 0
        self.dropped_errors = 0
        self.backlog_changed = asyncio.Event()
        self.gate = ShowGate()  # the showings under way, that the rest of earlier saves waits for

    # ------------------------------------------------------------------ events in
    def _project_of(self, path: str) -> tuple[ProjectSync, str] | None:
        for sync in self.syncs.values():
            if path == sync.root or path.startswith(sync.root + "/"):
                return sync, os.path.relpath(path, sync.root) if path != sync.root else ""
        return None

    def on_path(self, path: str, mask: int, moved_from: str | None = None) -> None:
        """An event at ``path``; ``moved_from``: where it was, for the new half of a rename."""
        found = self._project_of(path)
        if found is None:
            return
        sync, rel = found
        self.last_change[sync.id] = time.time()
        paths, now = self.dirty.setdefault(sync.id, {}), time.monotonic()
        if mask & pyinotify.IN_ISDIR:
            # a directory appeared, vanished or moved: what was cached about it no longer holds
            sync.files.forget(rel)
            paths[rel] = now
        elif is_ignore_file(rel):
            # a .gitignore or pyvenv.cfg changed which files belong there: look at that directory
            # again. (.git is never watched, so a change to .git/info/exclude is picked up by the
            # next full scan: at start or after an overflow.)
            rel = os.path.dirname(rel)
            sync.files.forget(rel)
            paths[rel] = now
        else:
            indexed = sync.known.get(rel)
            paths[rel] = quiet_since(mask, paths.get(rel), now, indexed is not None and indexed.live)
        source = self._project_of(moved_from) if moved_from is not None else None
        if source is not None and source[0] is sync:
            with_its_source(paths, rel, source[1])
        self.backlog_changed.set()
        self.wake.set()

    def on_root_gone(self, root: str) -> None:
        for sync in self.syncs.values():
            if sync.root == root:
                self.missing[sync.id] = root
        self.wake.set()

    def on_overflow(self) -> None:
        self.overflowed = True
        now = time.time()
        for pid in self.syncs:  # a change was seen everywhere, and which is not known
            self.last_change[pid] = now
        self.backlog_changed.set()
        self.wake.set()

    # ------------------------------------------------------------------ projects
    def _drop(self, pid: str) -> None:
        """Stop following a project; what was done for it still counts in the worker's totals."""
        assert self.inotify is not None
        sync = self.syncs.pop(pid)
        sync.rests.cancel()
        self.inotify.unwatch(sync.root)
        self.dropped_done += sync.progress.done
        self.dropped_errors += sync.progress.errors
        self.dirty.pop(pid, None)
        self.missing.pop(pid, None)

    async def refresh_projects(self) -> None:
        assert self.inotify is not None
        projects = {p.id: p for p in await self.owner.list_projects()}
        for pid in list(self.syncs):
            if pid not in projects or projects[pid].root != self.syncs[pid].root:
                self._drop(pid)
                self.last_change.pop(pid, None)
                self.scanning.discard(pid)
                self.work_began.pop(pid, None)
        for pid, info in projects.items():
            if pid not in self.syncs:
                await self._start_project(info)
        self.backlog_changed.set()

    async def _start_project(self, info: ProjectInfo) -> None:
        assert self.inotify is not None
        sync = ProjectSync(info.id, info.root, self.owner, self.ctx.config.exclude,
                           self.ctx.config.max_parse_size, on_progress=self._progressed,
                           identity=RootId(info.root_dev, info.root_ino), gate=self.gate,
                           on_rest_failed=self.wake.set)
        self.syncs[info.id] = sync
        try:
            sync.files.tree.verify()
        except RootGone:  # reported by check_missing, with the reason
            self.missing[info.id] = info.root
            return
        self.inotify.watch(info.root, sync.files.is_excluded_dir)
        self._report_unwatched(info.id, info.root)
        if info.state == "missing":
            await self.owner.set_project_state(info.id, "active", "the root is back")
        self.rescan(info.id)
        log.info("watching %s at %s", info.id, info.root, extra={"project": info.id, "path": info.root})

    def _report_unwatched(self, pid: str, root: str) -> None:
        assert self.inotify is not None
        dirs = self.inotify.unwatched_dirs(root)
        if dirs and len(dirs) != self.reported_unwatched.get(pid):
            limit = (f"[Index] MaxWatches={self.inotify.max_watches}" if self.inotify.max_watches
                     else "the kernel's limit, sysctl fs.inotify.max_user_watches")
            log.warning("%d directories of %s are not watched (%s): %s%s; they are rescanned every %g s instead",
                        len(dirs), pid, limit, ", ".join(d or "." for d in dirs[:5]),
                        f" and {len(dirs) - 5} more" if len(dirs) > 5 else "", self.ctx.config.rescan_interval,
                        extra={"project": pid, "path": root})
        self.reported_unwatched[pid] = len(dirs)

    def poll_unwatched(self, now: float) -> None:
        """Directories without a watch send no events: compare them with the index periodically."""
        assert self.inotify is not None
        if now - self.last_poll < self.ctx.config.rescan_interval:
            return
        self.last_poll = now
        for pid, sync in self.syncs.items():
            if pid in self.missing:
                continue
            self._report_unwatched(pid, sync.root)
            for rel in self.inotify.unwatched_dirs(sync.root):
                self.dirty.setdefault(pid, {}).setdefault(rel, AT_ONCE)

    def unwatched_count(self) -> int:
        if self.inotify is None:
            return 0
        return sum(len(self.inotify.unwatched_dirs(s.root)) for s in self.syncs.values())

    async def check_missing(self) -> None:
        """A vanished root is reported (not taken as every file deleted: it may be an unmounted
        disk); when it is back, it is watched and reconciled again."""
        assert self.inotify is not None
        for pid, root in list(self.missing.items()):
            if pid not in self.syncs:
                self.missing.pop(pid)
                continue
            try:
                self.syncs[pid].files.tree.verify()
                why = ""
            except RootGone as exc:
                why = str(exc)
            if not why:
                self.missing.pop(pid)
                self.reported_missing.discard(pid)
                self.inotify.unwatch(root)
                self.inotify.watch(root, self.syncs[pid].files.is_excluded_dir)
                await self.owner.set_project_state(pid, "active", "the root is back")
                self.rescan(pid)
            elif pid not in self.reported_missing:
                self.inotify.unwatch(root)
                self.dirty.pop(pid, None)
                log.warning("%s: %s; not followed until the registered directory is back", pid, why,
                            extra={"project": pid, "path": root})
                await self.owner.set_project_state(pid, "missing", why)
                self.reported_missing.add(pid)

    # ------------------------------------------------------------------ work
    def rescan(self, pid: str) -> None:
        """A reconcile scan of the whole project: until it is done, the project is the
        watcher's (the repair worker leaves it alone) and IndexProgress says it is scanning."""
        self.dirty.setdefault(pid, {})[""] = AT_ONCE
        self.scanning.add(pid)
        self.backlog_changed.set()

    def _due(self, now: float) -> dict[str, set[str]]:
        due: dict[str, set[str]] = {}
        for pid, paths in self.dirty.items():
            if pid in self.missing:
                continue
            ready = {rel for rel, t in paths.items() if now - t >= SETTLE}
            for rel in ready:
                del paths[rel]
            if ready:
                due[pid] = ready
        return due

    def _next_deadline(self) -> float | None:
        pending = [t + SETTLE for pid, paths in self.dirty.items() if pid not in self.missing for t in paths.values()]
        if any(sync.owed for sync in self.syncs.values()):
            pending.append(time.monotonic())  # the rest of what was shown: at once
        if self.unwatched_count():
            pending.append(self.last_poll + self.ctx.config.rescan_interval)
        return min(pending) if pending else None

    def reloaded(self, old: Config, new: Config) -> None:
        if (old.exclude, old.max_parse_size, old.max_watches) != (new.exclude, new.max_parse_size, new.max_watches):
            if self.inotify is not None:
                self.inotify.max_watches = new.max_watches
            # Which files belong, or how they are parsed, changed: every project is set up
            # again (watches included) and reconciled against the index.
            self.rule_changed = True
            self.projects_changed.set()
            self.wake.set()

    def _failed_rests(self) -> None:
        """The saves whose rest of facts the owner did not take are looked at again, and its
        error raised here, where the loop handles the owner's errors."""
        first: Exception | None = None
        for pid, sync in self.syncs.items():
            paths, error = sync.rests.take_failed()
            self._look_again(pid, paths)
            first = first or error
        if first is not None:
            raise first

    async def step(self) -> None:
        self._failed_rests()
        if self.rule_changed and self.inotify is not None:
            self.rule_changed = False
            for pid in list(self.syncs):
                self._drop(pid)
            log.info("Exclude= or MaxParseSize= changed: rescanning every project")
        if self.projects_changed.is_set():
            self.projects_changed.clear()
            await self.refresh_projects()
        if self.index_repaired.is_set():
            self.index_repaired.clear()
            for following in self.syncs.values():
                following.stale = True
        if self.overflowed:
            self.overflowed = False
            log.warning("the inotify queue overflowed; rescanning every project")
            for pid in self.syncs:
                self.rescan(pid)
        if self.missing:
            await self.check_missing()
        now = time.monotonic()
        self.poll_unwatched(now)
        due = self._due(now)
        # Each due project is pending from here until its sync ends (the backlog counts its
        # paths as in sync): one waiting for its turn is not said to be ready meanwhile.
        for pid, rels in due.items():
            self.in_sync[pid] = len(rels)
        self.backlog_changed.set()
        left = dict(due)  # not synced yet
        try:
            await self._finish_owed(due)  # a project's facts reach the owner in the order of its changes
            for pid, rels in due.items():
                sync = self.syncs.get(pid)
                if sync is None:
                    del left[pid]
                    self.in_sync.pop(pid, None)
                    continue
                try:
                    retry = await sync.sync(rels)
                except RootGone:
                    # swapped for a link or another directory, or gone: nothing below it is read
                    self.missing[pid] = sync.root
                    continue  # its paths looked at again (below)
                del left[pid]
                self.in_sync.pop(pid, None)
                self.backlog_changed.set()
                self._look_again(pid, retry)
                if "" in rels:
                    self.scanning.discard(pid)
        finally:
            # The paths of a sync that failed, and of those an error left unsynced: the owner
            # did not take them, or they were not looked at: again, at the next step.
            for pid, rels in left.items():
                self.in_sync.pop(pid, None)
                self._look_again(pid, rels)
            self.backlog_changed.set()
        if not self.projects_changed.is_set():  # else projects added meanwhile are shown first
            await self._finish_owed()

    async def _finish_owed(self, only: Collection[str] | None = None) -> None:
        """The rest of the facts of what large changes showed (``ProjectSync.finish``),
        project after project (of ``only``, if given): once every sync of a step has shown
        its files, and before a project that owes is synced again. Paths the owner did not
        take, or whose bytes changed since they were shown, are looked at again."""
        for pid, sync in list(self.syncs.items()):
            if not sync.owed or (only is not None and pid not in only):
                continue
            paths = [rel for rel, _ in sync.owed]
            try:
                again = await sync.finish()
            except DBusError:
                self._look_again(pid, paths)
                raise
            finally:
                self.backlog_changed.set()
            self._look_again(pid, again)

    def _look_again(self, pid: str, rels: Iterable[str]) -> None:
        """Paths of the project to compare with the index again, once settled from now: a
        sync or a rest the owner did not take, paths that were changing as they were read."""
        paths, now = self.dirty.setdefault(pid, {}), time.monotonic()
        for rel in rels:
            paths[rel] = now

    # ------------------------------------------------------------------ reporting
    def backlog(self) -> list[PendingRow]:
        """Per project: paths changed on disk and not indexed yet (a directory being scanned
        counts once until its files are read), when a change was last seen there, whether its
        reconcile scan runs, and of its current work (since it last had nothing pending) the
        files sent and the files in all, 0 while they are still being compared; while a large
        change is shown ahead of its facts, the files shown of those to show instead, and so
        said (the last field)."""
        rows = []
        for pid, sync in self.syncs.items():
            queued = sync.progress.pending
            pending = len(self.dirty.get(pid, ())) + max(queued, self.in_sync.get(pid, 0))
            if pending:
                done = sync.progress.done - self.work_began.setdefault(pid, sync.progress.done)
            else:
                self.work_began.pop(pid, None)
                done = 0
            total = done + queued if queued or done else 0
            showing = sync.showing
            if showing is not None:
                done, total = showing.done, showing.total
            rows.append((pid, pending, self.last_change.get(pid, 0.0), pid in self.scanning, done, total,
                         showing is not None))
        return rows

    async def report_backlog(self) -> None:
        """Tell the owner each project's backlog whenever it changes (at most every
        BACKLOG_GAP seconds), every ReportInterval regardless, so that it knows the report is
        current, and when it asks (BacklogWanted). Runs beside the main loop, so a long sync is
        reported as it goes. Each report carries the time by which every inotify event had been
        read: a change on disk from before then is in it (pending) or already in the index."""
        sent: list[PendingRow] | None = None
        sent_at = sent_read_to = 0.0
        read_to = 0.0  # monotonic time by which every inotify event had been read and counted
        owed = False  # the owner asked, and no report since was made with every event read
        while True:
            self.backlog_changed.clear()
            if self.backlog_wanted.is_set():
                self.backlog_wanted.clear()
                owed = True
            now = time.monotonic()
            if self.inotify is None or not self.inotify.unread():
                read_to = now
            rows = self.backlog()
            if (rows != sent or time.monotonic() - sent_at >= self.ctx.config.report_interval
                    or (owed and read_to > sent_read_to)):
                try:
                    await self.owner.report_pending(rows, read_to)
                    sent, sent_at, sent_read_to = rows, time.monotonic(), read_to
                    owed = owed and read_to < now
                except DBusError:
                    sent = None  # the main loop says the owner does not answer; sent again when it does
            if not owed:  # else events wait to be read: look again after the gap
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.backlog_changed.wait(), self.ctx.config.report_interval)
            if not self.backlog_wanted.is_set():  # the owner waits on that one: no gap
                await asyncio.sleep(BACKLOG_GAP)

    def counters(self) -> Counters:
        pending = sum(s.progress.pending for s in self.syncs.values())
        pending += sum(len(p) for p in self.dirty.values())
        return Counters(pending, self.dropped_done + sum(s.progress.done for s in self.syncs.values()),
                        self.dropped_errors + sum(s.progress.errors for s in self.syncs.values()))

    def status(self) -> str:
        busy = [s for s in self.syncs.values() if s.progress.pending]
        if busy:
            s = next((s for s in busy if s.showing is not None), busy[0])
            if s.showing is not None:
                return (f"showing {s.id}: {s.showing.done} of {s.showing.total} file(s) searchable, "
                        "the rest of their facts to come")
            return f"indexing {s.id}: {s.progress.done} done, {s.progress.pending} to go"
        files = sum(1 for s in self.syncs.values() for k in s.known.values() if k.live)
        missing = f", {len(self.missing)} missing" if self.missing else ""
        unwatched = self.unwatched_count()
        if unwatched:
            missing += f", {unwatched} dir(s) rescanned every {self.ctx.config.rescan_interval:g} s (watch limit)"
        return (f"idle, watching {len(self.syncs) - len(self.missing)} project(s){missing}, "
                f"{files} file(s), {self.counters().pending} pending")

    def _progressed(self) -> None:
        self.backlog_changed.set()
        self.show_status()

    def show_status(self, force: bool = False) -> None:
        """Progress during a batch is shown at most 4 times a second; the settled state always."""
        now = time.monotonic()
        if force or now - self._last_status >= 0.25:
            self._last_status = now
            self.ctx.notifier.set_status(self.status())

    async def report(self) -> None:
        status = self.status()
        self.ctx.notifier.set_status(status)
        await self.owner.report_progress("watcher", status, self.counters())


def _ended(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        # Answers say "stale" once the owner stops hearing from it: a journal line says why.
        log.error("reporting the backlog to the DB owner stopped", exc_info=task.exception())


async def serve(ctx: service.Context) -> int:
    bus = await connect(ctx.bus_kind)
    owner = OwnerClient(bus)
    watcher = Watcher(ctx, owner)
    ctx.on_reload(watcher.reloaded)
    watcher.inotify = Inotify(asyncio.get_running_loop(), watcher.on_path, watcher.on_overflow, watcher.on_root_gone,
                              ctx.config.max_watches)
    await wake_on_changes(bus, watcher.projects_changed, also=watcher.wake)
    await wake_on_changes(bus, watcher.index_repaired, properties=(), signals=("IndexRepaired",))
    await wake_on_changes(bus, watcher.backlog_wanted, also=watcher.backlog_changed, properties=(),
                          signals=("BacklogWanted",))
    backlog = asyncio.ensure_future(watcher.report_backlog())
    backlog.add_done_callback(_ended)
    try:
        await watcher.refresh_projects()
        ctx.notifier.ready(watcher.status())
        log.info("watcher ready on the %s bus, %d project(s)", ctx.bus_kind.value, len(watcher.syncs))
        last_report = 0.0
        link = OwnerLink(log, ctx.notifier, reason_in_status=True)
        while True:
            try:
                await watcher.step()
                if time.monotonic() - last_report >= ctx.config.report_interval or not link.answers:
                    await watcher.report()
                    last_report = time.monotonic()
                link.answered()
            except DBusError as exc:
                link.failed(exc)
            if link.answers:  # else the status says what the watcher waits for
                watcher.show_status(force=True)
            deadline = watcher._next_deadline()
            now = time.monotonic()
            timeout = link.pace(ctx.config.report_interval if deadline is None else max(0.0, deadline - now))
            watcher.wake.clear()
            if deadline is None or deadline > now:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watcher.wake.wait(), min(timeout, ctx.config.report_interval))
    finally:
        backlog.cancel()
        for sync in watcher.syncs.values():
            sync.rests.cancel()  # their files stay shown, and are indexed whole at the next start
        watcher.inotify.close()
        bus.disconnect()


def main() -> None:
    service.entry("codeanalysisd-watcher", serve)


if __name__ == "__main__":
    main()

"""A whole-project repair, as the ``Repair`` bus method runs it.

A dry run only plans: it reads the tree and the databases and reports the actions, and
writes nothing, stops nothing. A real repair stops the workers that could write meanwhile
(watcher, vectorizer, repair worker) through systemd, plans again on the quiet state,
carries the plan out in one transaction, and starts exactly the units it stopped, also
when the repair itself failed. It never writes into the project: with ``restore_missing``
the files to write back are listed (path, version) for the caller, who restores each
with ``RestoreFile`` and ``RecordRestore``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codeanalysisd.config import Config
from codeanalysisd.db.store import Store
from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.names import WORKER_UNITS
from codeanalysisd.owner import failures, freshness
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.systemd_units import SystemdUnits
from codeanalysisd.records import ProjectInfo
from codeanalysisd.repair import disk
from codeanalysisd.repair.plan import LEFT_TO_WATCHER, NEEDS_CONTENT, Action, OnDisk, classify
from codeanalysisd.tree import RootGone, RootId, Tree

if TYPE_CHECKING:
    from codeanalysisd.owner.core import OwnerCore
    from codeanalysisd.owner.permissions import View

log = logging.getLogger("codeanalysisd.owner")

RUNNING = ("active", "activating", "reloading")


class RepairBusy(failures.Occupied):
    pass


class ProjectUnavailable(failures.CouldNot):
    pass


@dataclass
class Outcome:
    actions: list[Action] = field(default_factory=list)
    checked: int = 0
    stopped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    failed: str = ""
    seconds: float = 0.0
    restore: list[tuple[str, int]] = field(default_factory=list)  # (path, version) for the caller to write back


def _tree(project: ProjectInfo) -> Tree:
    """The project's tree as registered: its root checked by identity, nothing read through a link."""
    return Tree(project.root, RootId(project.root_dev, project.root_ino))


class Repairs:
    def __init__(self, store: Store, units: SystemdUnits, config: Config) -> None:
        self.store = store
        self.units = units
        self.config = config
        self.running: str | None = None  # the project being repaired

    async def run(self, project: ProjectInfo, dry_run: bool, restore_missing: bool) -> Outcome:
        if self.running is not None:
            raise RepairBusy(f"a repair of project {self.running!r} is running; try again when it is done")
        try:
            await asyncio.to_thread(_tree(project).verify)
        except RootGone as exc:
            raise ProjectUnavailable(f"the root of project {project.id!r} is not the directory registered ({exc}): "
                                     "repairing now would mark every file deleted; nothing done") from None
        self.running = project.id
        started = time.monotonic()
        try:
            if dry_run:
                outcome = Outcome()
                outcome.actions, _disk, outcome.checked = await self._plan(project, restore_missing)
            else:
                outcome = await self._repair(project, restore_missing)
        finally:
            self.running = None
        outcome.seconds = time.monotonic() - started
        return outcome

    async def _repair(self, project: ProjectInfo, restore_missing: bool) -> Outcome:
        outcome = Outcome()
        try:
            for unit in WORKER_UNITS.values():
                if (await self.units.unit_state(unit))["ActiveState"] in RUNNING:
                    await self.units.stop_unit(unit)
                    outcome.stopped.append(unit)
            planned, on_disk, outcome.checked = await self._plan(project, restore_missing)
            outcome.actions, outcome.restore = await self._apply(project, planned, on_disk)
        except Exception as exc:  # reported to the caller; the units are started again below
            outcome.failed = f"{type(exc).__name__}: {exc}"
            log.error("repair of %s failed: %s", project.id, outcome.failed, extra={"project": project.id})
        finally:
            for unit in outcome.stopped:
                try:
                    # "fail": a stop of the suite queued during the repair is not reversed.
                    await self.units.start_unit(unit, mode="fail")
                    outcome.restarted.append(unit)
                except Exception as exc:
                    outcome.failed += f"{'; ' if outcome.failed else ''}could not start {unit} again: {exc}"
                    log.error("after the repair of %s, %s did not start again: %s", project.id, unit, exc,
                              extra={"project": project.id, "unit": unit})
        return outcome

    async def _plan(self, project: ProjectInfo, restore_missing: bool) -> tuple[list[Action], dict[str, OnDisk], int]:
        def read_disk() -> tuple[dict[str, OnDisk], set[str]]:
            files = ProjectFiles(project.root, self.config.exclude, _tree(project).expected)
            return disk.state(list(files.walk()), files)

        on_disk, unsettled = await asyncio.to_thread(read_disk)
        every = sorted((self.store.reads.repair.paths(project.id) | set(on_disk)) - unsettled)
        facts = self.store.reads.repair.facts(project.id, every)
        actions = []
        for path in every:
            row, kept = facts[path]
            actions += classify(path, on_disk.get(path), row, kept, restore_missing)
        return actions, on_disk, len(every)

    async def _apply(self, project: ProjectInfo, actions: list[Action], on_disk: dict[str, OnDisk]
                     ) -> tuple[list[Action], list[tuple[str, int]]]:
        """Carry the plan out; returns the actions as taken, and the files to restore with the
        version each is to be written back from."""
        updates = {}
        done: list[Action] = []
        for action in actions:
            if action.action in NEEDS_CONTENT:
                expected = on_disk[action.path].sha256
                update = await asyncio.to_thread(disk.parsed, _tree(project), action.path, expected,
                                                 self.config.max_parse_size)
                if update is None:
                    continue  # changed again since it was read; the next pass takes it
                updates[action.path] = update
            done.append(action)
        taken = [(a.path, a.action) for a in done]
        restore = await self.store.write(lambda w: w.repair.apply(project.id, taken, on_disk, updates))
        return done, restore


async def repair_project(core: OwnerCore, view: View, key: str, dry_run: bool, restore_missing: bool
                         ) -> tuple[str, Outcome]:
    """The Repair and RepairAndRestore methods: the project's id and what was (or would be) done."""
    found = await core.owned_project(key, view, "repair")
    outcome = await core.repairs.run(found, dry_run, restore_missing)
    if not dry_run:
        level = logging.ERROR if outcome.failed else logging.INFO
        log.log(level, "repair of %s: %d action(s) over %d file(s) in %.2f s%s", found.id, len(outcome.actions),
                outcome.checked, outcome.seconds, f"; failed: {outcome.failed}" if outcome.failed else "",
                extra={"project": found.id})
        core.changed(Change.FILES)
    return found.id, outcome


async def reconcile_batch(core: OwnerCore, project_id: str, entries: list[tuple[str, OnDisk | None]],
                          looked_at: float, ask_watcher: Callable[[], None]) -> list[tuple[str, str]]:
    """A batch the repair worker checked against disk from ``looked_at`` on (monotonic), (path,
    its disk state or None if gone): the repair rule applied, what needs no content done now
    in one transaction. Returns (path, action) for every action: those of NEEDS_CONTENT are
    for the worker to read, parse and send (RepairFiles), the others are done. While the
    watcher has the project (it is scanning it, has changes of it queued, or has not set it up
    yet), every path is LEFT_TO_WATCHER and nothing is done: what differs there is the
    watcher's to index, and the repair worker is for what the watcher missed. So too if the
    watcher changed the project's index since ``looked_at`` (the look may show disk before a
    change the index already holds: a file moved back, say, and would undo it). Both are
    asked once the watcher has said that it read every change up to now (``ask_watcher``
    asks it; ``freshness.leave_to_watcher``)."""
    if core.repairs.running is not None:
        raise failures.Occupied("a repair is running")
    # The watcher's writes are asked of last: from there nothing is awaited until this
    # batch's own write is queued, behind any of the watcher's.
    if await freshness.leave_to_watcher(core, core.project(project_id), looked_at, ask_watcher):
        return [(path, LEFT_TO_WATCHER) for path, _ in entries]
    if core.repairs.running is not None:  # began while the watcher was asked
        raise failures.Occupied("a repair is running")
    store = core.store
    disk_state = {path: state for path, state in entries if state is not None}
    every = [path for path, _ in entries]
    facts = store.reads.repair.facts(project_id, every)
    actions = [a for path in every for a in classify(path, disk_state.get(path), *facts[path])]
    now = [(a.path, a.action) for a in actions if a.action not in NEEDS_CONTENT]
    if now:
        await store.write(lambda w: w.repair.apply(project_id, now, disk_state, {}))
        # The worker's journal says what each batch did; the paths are here, for debugging.
        log.debug("repair worker: %s", ", ".join(f"{a} {p}" for p, a in now[:20]) + ("..." if len(now) > 20 else ""),
                  extra={"project": project_id})
        core.changed(Change.FILES)
    return [(a.path, str(a.action)) for a in actions]

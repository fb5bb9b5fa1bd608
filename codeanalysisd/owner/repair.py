"""A whole-project repair, as the ``Repair`` bus method runs it.

A dry run only plans: it reads the tree and the databases and reports the actions, and
writes nothing, stops nothing. A real repair stops the workers that could write meanwhile
(watcher, vectorizer, repair worker) through systemd, plans again on the quiet state,
carries the plan out in one transaction, and starts exactly the units it stopped, also
when the repair itself failed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field

from codeanalysisd.config import Config
from codeanalysisd.db.indexing import FileUpdate
from codeanalysisd.db.store import Project, Store
from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.names import WORKER_UNITS
from codeanalysisd.owner.systemd_units import SystemdUnits
from codeanalysisd.repair import disk, writeback
from codeanalysisd.repair.plan import NEEDS_CONTENT, Action, OnDisk, classify

log = logging.getLogger("codeanalysisd.owner")

RUNNING = ("active", "activating", "reloading")


class RepairBusy(RuntimeError):
    pass


class ProjectUnavailable(RuntimeError):
    pass


@dataclass
class Outcome:
    actions: list[Action] = field(default_factory=list)
    checked: int = 0
    stopped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    failed: str = ""
    seconds: float = 0.0


class Repairs:
    def __init__(self, store: Store, units: SystemdUnits, config: Config) -> None:
        self.store = store
        self.units = units
        self.config = config
        self.running: str | None = None  # the project being repaired

    async def run(self, project: Project, dry_run: bool, restore_missing: bool) -> Outcome:
        if self.running is not None:
            raise RepairBusy(f"a repair of project {self.running!r} is running; try again when it is done")
        if not os.path.isdir(project.root):
            raise ProjectUnavailable(f"the root {project.root} of project {project.id!r} is not there: "
                                     "repairing now would mark every file deleted; nothing done")
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

    async def _repair(self, project: Project, restore_missing: bool) -> Outcome:
        outcome = Outcome()
        try:
            for unit in WORKER_UNITS.values():
                if (await self.units.unit_state(unit))["ActiveState"] in RUNNING:
                    await self.units.stop_unit(unit)
                    outcome.stopped.append(unit)
            planned, on_disk, outcome.checked = await self._plan(project, restore_missing)
            outcome.actions = await self._apply(project, planned, on_disk)
        except Exception as exc:  # reported to the caller; the units are started again below
            outcome.failed = f"{type(exc).__name__}: {exc}"
            log.error("repair of %s failed: %s", project.id, outcome.failed, extra={"project": project.id})
        finally:
            for unit in outcome.stopped:
                try:
                    await self.units.start_unit(unit)
                    outcome.restarted.append(unit)
                except Exception as exc:
                    outcome.failed += f"{'; ' if outcome.failed else ''}could not start {unit} again: {exc}"
                    log.error("after the repair of %s, %s did not start again: %s", project.id, unit, exc,
                              extra={"project": project.id, "unit": unit})
        return outcome

    async def _plan(self, project: Project, restore_missing: bool) -> tuple[list[Action], dict[str, OnDisk], int]:
        def read_disk() -> tuple[dict[str, OnDisk], set[str]]:
            files = ProjectFiles(project.root, self.config.exclude)
            return disk.state(project.root, list(files.walk()), files)

        on_disk, unsettled = await asyncio.to_thread(read_disk)
        every = sorted((self.store.repair_paths(project.id) | set(on_disk)) - unsettled)
        facts = self.store.repair_facts(project.id, every)
        actions = []
        for path in every:
            row, kept = facts[path]
            actions += classify(path, on_disk.get(path), row, kept, restore_missing)
        return actions, on_disk, len(every)

    async def _apply(self, project: Project, actions: list[Action], on_disk: dict[str, OnDisk]) -> list[Action]:
        """Carry the plan out; returns the actions as taken (a restore that could not be
        written becomes a deletion mark, its content safe in the version store)."""
        updates = {}
        done: list[Action] = []
        for action in actions:
            if action.action == "restore":
                update, why = await self._restore(project, action.path)
                if update is None:
                    done.append(Action(action.path, action.case, "mark-deleted", f"not written back: {why}"))
                    continue
                updates[action.path] = update
            elif action.action in NEEDS_CONTENT:
                expected = on_disk[action.path].sha256
                update = await asyncio.to_thread(disk.parsed, project.root, action.path, expected,
                                                 self.config.max_parse_size)
                if update is None:
                    continue  # changed again since it was read; the next pass takes it
                updates[action.path] = update
            done.append(action)
        await self.store.write(self.store.apply_repair, project.id, [(a.path, a.action) for a in done], on_disk,
                               updates)
        return done

    async def _restore(self, project: Project, path: str) -> tuple[FileUpdate | None, str]:
        data = self.store.stored_content(project.id, path)
        if data is None:
            return None, "no stored source"
        try:
            written = await asyncio.to_thread(writeback.write_into, project.root, path, data, False)
        except (writeback.WriteRefused, writeback.WriteFailed) as exc:
            log.warning("could not restore %s into %s: %s; kept as deleted, with its content in the history",
                        path, project.root, exc, extra={"project": project.id, "path": path})
            return None, str(exc)
        log.info("restored %s into %s from the stored source", path, project.root,
                 extra={"project": project.id, "path": path})
        return disk.from_bytes(path, data, written.size, written.mtime_ns, self.config.max_parse_size), ""

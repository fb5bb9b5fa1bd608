"""The repair worker's own commands: StartRepairWorker, StopRepairWorker, RepairWorkerStatus.

Its schedule (which projects, how many files a batch, how long between batches) is the
configuration's ([Repair]) until StartRepairWorker sets another. The DB owner keeps it in
memory: it holds until the next StartRepairWorker or until the owner restarts, whatever
starts or stops the unit meanwhile. The worker asks for it (Worker.RepairSchedule) at every
round and is told at once when it changes (the Worker signal RepairScheduleChanged), so a new
schedule applies from its next round, never in the middle of a batch.

What the worker has done (its cycle, and per project what it checked and repaired) comes
from its own reports (Worker.ReportRepair, ``reports.RepairProgress``); each caller sees the
projects, and the paths of last actions, they could see anyway.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbus_fast import Variant

from codeanalysisd.bus import api
from codeanalysisd.config import REPAIR_BATCH_RANGE, REPAIR_INTERVAL_RANGE
from codeanalysisd.db.store import Reads
from codeanalysisd.names import WORKER_UNITS
from codeanalysisd.owner import failures
from codeanalysisd.owner.reports import RepairProgress

if TYPE_CHECKING:
    from codeanalysisd.owner.core import OwnerCore
    from codeanalysisd.owner.permissions import View
    from codeanalysisd.owner.worker_control import Stopped, WorkerControl

NAME = "repair"
UNIT = WORKER_UNITS[NAME]
FROM_CONFIG = "config"
FROM_CALL = "StartRepairWorker"
# The longest StopRepairWorker waits for the unit to go down: a call's cost stays bounded, and
# the unit's own TimeoutStopSec= (10 s) kills it long before anyway.
MAX_STOP_WAIT = 600.0


@dataclass(frozen=True)
class Schedule:
    """A schedule as StartRepairWorker set it; 0 stands for the configured value."""

    project: str = ""  # a project id; "" = every project
    batch_size: int = 0  # files per batch; 0: [Repair] BatchSize=
    poll_interval: float = 0.0  # seconds between batches; 0: [Repair] PollInterval=
    since: float = 0.0  # unix time StartRepairWorker set it; 0: never since the owner started

    @property
    def source(self) -> str:
        return FROM_CALL if (self.project or self.batch_size or self.poll_interval) else FROM_CONFIG

    def in_force(self, configured: tuple[int, float]) -> tuple[int, float]:
        """(files per batch, seconds between batches), the ``configured`` ones standing for 0."""
        return self.batch_size or configured[0], self.poll_interval or configured[1]


def configured(core: OwnerCore) -> tuple[int, float]:
    """What 0 stands for: the worker's own [Repair] values as it last reported them (a reload
    of the worker alone changes them), else the owner's, read from the same files."""
    progress = core.reports.repair
    return progress.configured if progress.at else (core.config.repair_batch, core.config.repair_interval)


def check_schedule(batch_size: int, poll_interval: float) -> None:
    """StartRepairWorker's numbers: 0 (the configured value) or within what [Repair] accepts."""
    low, high = REPAIR_BATCH_RANGE
    if batch_size and not low <= batch_size <= high:
        raise failures.Refused(f"batch_size must be from {low} to {high} files (0: [Repair] BatchSize= of the "
                               f"configuration), got {batch_size}")
    shortest, longest = REPAIR_INTERVAL_RANGE
    if poll_interval != 0 and not shortest <= poll_interval <= longest:  # NaN and infinities fail both
        raise failures.Refused(f"poll_interval must be from {shortest:g} to {longest:g} seconds (1 day; 0: [Repair] "
                               f"PollInterval= of the configuration), got {poll_interval:g}")


def check_stop_wait(timeout: float) -> None:
    if not (math.isfinite(timeout) and 0 <= timeout <= MAX_STOP_WAIT):
        raise failures.Refused(f"timeout must be from 0 to {MAX_STOP_WAIT:g} seconds, got {timeout:g}")


def describe(schedule: Schedule, configured: tuple[int, float], shown_project: str) -> str:
    """The schedule in force in words (WorkerStatus, the command line); ``shown_project`` as
    for ``schedule_entries``."""
    batch_size, poll_interval = schedule.in_force(configured)
    scope = ("all projects" if not schedule.project else
             f"project {shown_project}" if shown_project else "one project")
    return f"{batch_size} file(s) every {poll_interval:g} s over {scope}; from {schedule.source}"


def schedule_entries(schedule: Schedule, configured: tuple[int, float], shown_project: str) -> dict[str, Variant]:
    """The schedule in force as reply entries. ``shown_project`` is the schedule's project if
    the caller may see it, else "": a project they may not see is only said to be one."""
    batch_size, poll_interval = schedule.in_force(configured)
    return {
        "scope": Variant("s", "project" if schedule.project else "all"),
        "project": Variant("s", shown_project),
        "batch_size": Variant("u", batch_size),
        "poll_interval": Variant("d", poll_interval),
        "source": Variant("s", schedule.source),
        "since": Variant("d", schedule.since),
        "schedule": Variant("s", describe(schedule, configured, shown_project)),
    }


def unit_entries(state: dict[str, Any]) -> dict[str, Variant]:
    return {
        "unit": Variant("s", UNIT),
        "ActiveState": Variant("s", state["ActiveState"]),
        "SubState": Variant("s", state["SubState"]),
        "MainPID": Variant("u", state["MainPID"]),
    }


def progress_entries(progress: RepairProgress, rows: list[api.RepairProjectRow], now: float) -> dict[str, Variant]:
    return {
        "cycle": Variant("u", progress.cycle),
        "cycle_files": Variant("u", progress.files),
        "cycle_done": Variant("u", progress.done),
        "cycle_repaired": Variant("u", progress.repaired),
        "reported_ago": Variant("d", now - progress.at if progress.at else -1.0),
        "projects": Variant(api.REPAIR_PROJECTS, rows),
    }


def stop_entries(stopped: Stopped, timeout: float, force: bool, state: dict[str, Any]) -> dict[str, Variant]:
    return {"result": Variant("s", stopped.result), "seconds": Variant("d", stopped.seconds),
            "timeout": Variant("d", timeout), "force": Variant("b", force), **unit_entries(state)}


# --------------------------------------------------------------------- the commands
async def start(core: OwnerCore, control: WorkerControl, view: View, project: str, batch_size: int,
                poll_interval: float) -> dict[str, Variant]:
    core.administer(view, "starting the repair worker")
    check_schedule(batch_size, poll_interval)
    project_id = (await core.visible_project(project, view)).id if project else ""
    # Set before the unit starts: a worker started now follows it from its first round.
    core.set_repair_schedule(Schedule(project_id, batch_size, poll_interval, time.time()))
    await control.control("start", NAME)
    state = await core.units.unit_state(UNIT)
    return {**schedule_entries(core.repair_schedule, configured(core), project_id), **unit_entries(state)}


async def stop(core: OwnerCore, control: WorkerControl, view: View, timeout: float, force: bool
               ) -> dict[str, Variant]:
    core.administer(view, "stopping the repair worker")
    check_stop_wait(timeout)
    stopped = await control.stop_within(NAME, timeout, force)
    return stop_entries(stopped, timeout, force, await core.units.unit_state(UNIT))


async def shown_schedule_project(core: OwnerCore, view: View) -> str:
    """The schedule's project, if the caller may see it (else "", also once it is removed)."""
    if not (key := core.repair_schedule.project):
        return ""
    try:
        return (await core.visible_project(key, view)).id
    except failures.Unknown:
        return ""


async def status(core: OwnerCore, view: View, key: str) -> dict[str, Variant]:
    progress = core.reports.repair
    asked = [await core.visible_project(key, view)] if key else None

    def visible_rows(reads: Reads) -> list[api.RepairProjectRow]:
        seen = asked if asked is not None else [p for p in reads.projects.list() if view.sees_project(p)]
        rows = []
        for p in seen:
            done = progress.projects.get(p.id)
            if done is None:
                rows.append((p.id, 0, 0, "", "", 0.0))
                continue
            # a path is named only to who may see its history (a file gone from disk: owner, root)
            path = done.path if done.path and view.sees_history(p, done.path) else ""
            rows.append((p.id, done.checked, done.repaired, done.action, path, done.at))
        return rows

    state, rows, shown = await asyncio.gather(core.units.unit_state(UNIT), core.store.read(visible_rows),
                                              shown_schedule_project(core, view))
    return {**unit_entries(state), "StatusText": Variant("s", state["StatusText"]),
            **schedule_entries(core.repair_schedule, configured(core), shown),
            **progress_entries(progress, rows, time.monotonic())}

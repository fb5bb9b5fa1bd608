"""What the workers last said of themselves, and what is built from it and systemd: the
WorkerStatus rows, and whether a project's index is fresh (IndexStatus)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import Variant

from codeanalysisd.names import OWNER_UNIT, WORKER_UNITS
from codeanalysisd.owner import failures
from codeanalysisd.records import Counters, ProjectInfo, ProjectState

WATCHER_FRESH = 30.0  # seconds a watcher's report of pending work is believed
MAX_STATE = 200  # characters of a worker's status line kept
MAX_ACTION = 40  # characters of a repair action's name kept


@dataclass
class WorkerReport:
    counters: Counters = field(default_factory=Counters)
    state: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class ProjectRepairs:
    """The repair worker's work on one project since it started."""

    checked: int = 0
    repaired: int = 0
    action: str = ""  # the last action taken ("" if none yet), on ``path``, at ``at`` (unix time)
    path: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class RepairProgress:
    """The repair worker's last report of its cycle (one pass over every path in its scope)."""

    cycle: int = 0  # its number since the worker started; 0: none yet
    files: int = 0
    done: int = 0
    repaired: int = 0
    projects: Mapping[str, ProjectRepairs] = field(default_factory=dict)
    at: float = 0.0  # time.monotonic() of the report; 0: none since the owner started
    # The worker's own [Repair] (BatchSize=, PollInterval=): what 0 in a schedule stands for. Its
    # configuration, not the owner's: a reload of the worker alone changes it.
    configured: tuple[int, float] = (0, 0.0)


@dataclass(frozen=True)
class Backlog:
    """What the watcher last said of one project: paths changed on disk it has not indexed
    yet, and when it last saw a change there (unix time; 0: none since it started)."""

    pending: int
    last_change: float


class WorkerReports:
    def __init__(self) -> None:
        self._last: dict[str, WorkerReport] = {}
        self.repair = RepairProgress()
        # The watcher's backlog by project, replaced whole by each report, and when that came
        # (monotonic; 0: none since the owner started). A project it does not name, it has not
        # set up yet.
        self.backlog: dict[str, Backlog] = {}
        self.backlog_at = 0.0

    def record(self, worker: str, state: str, counters: Mapping[str, int]) -> None:
        if worker not in WORKER_UNITS:
            raise failures.Refused(f"unknown worker {worker!r}")
        self._last[worker] = WorkerReport(Counters.of(counters), state[:MAX_STATE], time.monotonic())

    def record_repair(self, cycle: int, files: int, done: int, repaired: int, configured: tuple[int, float],
                      projects: Iterable[tuple[str, int, int, str, str, float]]) -> None:
        self.repair = RepairProgress(
            cycle, files, done, repaired,
            {pid: ProjectRepairs(checked, fixed, action[:MAX_ACTION], path, at)
             for pid, checked, fixed, action, path, at in projects},
            time.monotonic(), configured)

    def get(self, worker: str) -> WorkerReport | None:
        return self._last.get(worker)

    def record_backlog(self, rows: list[tuple[str, int, float]]) -> None:
        self.backlog = {project: Backlog(max(0, int(pending)), max(0.0, float(last)))
                        for project, pending, last in rows}
        self.backlog_at = time.monotonic()

    def watcher_indexing(self) -> bool:
        """The watcher said lately that it has files queued: what looks stale now is in its queue."""
        last = self._last.get("watcher")
        return last is not None and last.counters.pending > 0 and time.monotonic() - last.at < WATCHER_FRESH


def unit_of(name: str) -> str:
    """A worker's unit, by its short name or the unit name itself."""
    unit = WORKER_UNITS.get(name) or (name if name in WORKER_UNITS.values() else None)
    if unit is None:
        raise failures.Refused(f"unknown worker {name!r}; workers are {', '.join(sorted(WORKER_UNITS))}")
    return unit


UNITS = [("db", OWNER_UNIT), *WORKER_UNITS.items()]


def status_row(name: str, unit: str, state: Mapping[str, Any], reports: WorkerReports, owner_calls: int
               ) -> dict[str, Variant]:
    """One WorkerStatus row: systemd's view of the unit, and the worker's own (the owner: its calls)."""
    row = {
        "name": Variant("s", name),
        "unit": Variant("s", unit),
        "ActiveState": Variant("s", state["ActiveState"]),
        "SubState": Variant("s", state["SubState"]),
        "MainPID": Variant("u", state["MainPID"]),
        "StatusText": Variant("s", state["StatusText"]),
        "NRestarts": Variant("u", state["NRestarts"]),
    }
    if name == "db":
        row["done"] = Variant("t", owner_calls)
        return row
    report = reports.get(name)
    for key, value in (report.counters if report else Counters()).as_dict().items():
        row[key] = Variant("t", value)
    row["state"] = Variant("s", report.state if report else "")
    row["reported_ago"] = Variant("d", time.monotonic() - report.at if report else -1.0)
    return row


@dataclass(frozen=True)
class Freshness:
    """One IndexStatus row: whether a project's index says what is on disk now, and if not, why."""

    project: str
    indexed: int  # live files in the index
    pending: int  # paths changed on disk and not indexed yet, as the watcher last said
    last_change: float  # unix time the watcher last saw a change in the project; 0: none
    stale: bool
    why: str


def freshness(project: ProjectInfo, watcher: str, reports: WorkerReports, now: float, max_age: float) -> Freshness:
    """The rule: fresh only while the watcher runs, has said lately that it follows the project,
    and has nothing of it left to index. ``watcher`` is the unit's ActiveState from systemd;
    ``now`` is monotonic; a report older than ``max_age`` seconds is not believed."""
    seen = reports.backlog.get(project.id)
    pending, last = (seen.pending, seen.last_change) if seen else (0, 0.0)

    def row(stale: bool, why: str) -> Freshness:
        return Freshness(project.id, project.file_count, pending, last, stale, why)

    if project.state == ProjectState.MISSING:
        return row(True, "the project's root is missing (or is not the directory registered): nothing in it is "
                         "followed until it is back")
    if watcher != "active":
        doing = "starting" if watcher in ("activating", "reloading") else watcher or "not loaded"
        return row(True, f"the watcher ({WORKER_UNITS['watcher']}) is {doing}: changes on disk are not indexed "
                         "until it runs")
    if not reports.backlog_at:
        return row(True, "the watcher has not reported yet (it has just started, or the DB owner has)")
    age = now - reports.backlog_at
    if age > max_age:
        return row(True, f"the watcher has not reported for {age:.0f} s: it may be stuck; "
                         f"journalctl -u {WORKER_UNITS['watcher']}")
    if seen is None:
        return row(True, "the watcher has not set this project up yet (it was just added, or its first scan "
                         "is running)")
    if pending:
        return row(True, f"{pending} path(s) changed on disk are not indexed yet")
    return row(False, "")

"""What the workers last said of themselves, and the WorkerStatus rows built from it and systemd."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import Variant

from codeanalysisd.names import OWNER_UNIT, WORKER_UNITS
from codeanalysisd.owner import failures
from codeanalysisd.records import Counters

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


class WorkerReports:
    def __init__(self) -> None:
        self._last: dict[str, WorkerReport] = {}
        self.repair = RepairProgress()

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

"""What the workers last said of themselves, and the WorkerStatus rows built from it and systemd."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import Variant

from codeanalysisd.names import OWNER_UNIT, WORKER_UNITS
from codeanalysisd.owner import failures
from codeanalysisd.records import Counters

WATCHER_FRESH = 30.0  # seconds a watcher's report of pending work is believed
MAX_STATE = 200  # characters of a worker's status line kept


@dataclass
class WorkerReport:
    counters: Counters = field(default_factory=Counters)
    state: str = ""
    at: float = 0.0


class WorkerReports:
    def __init__(self) -> None:
        self._last: dict[str, WorkerReport] = {}

    def record(self, worker: str, state: str, counters: Mapping[str, int]) -> None:
        if worker not in WORKER_UNITS:
            raise failures.Refused(f"unknown worker {worker!r}")
        self._last[worker] = WorkerReport(Counters.of(counters), state[:MAX_STATE], time.monotonic())

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

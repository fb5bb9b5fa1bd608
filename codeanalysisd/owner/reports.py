"""What the workers last said of themselves, and what is built from it and systemd: the
WorkerStatus rows, and whether a project's index is fresh (IndexStatus)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import Variant

from codeanalysisd.config import PARSER_UNITS_RANGE
from codeanalysisd.names import OWNER_UNIT, WORKER_UNITS, parser_name, parser_unit
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
    yet, and when it last saw a change there (unix time; 0: none since it started); whether
    its reconcile scan (at start, after an overflow, when the root is back) is still running;
    and of the files it is indexing now, how many it has sent and how many there are in all
    (0: not counted yet, while the scan compares the tree with the index); while it shows a
    large change's files ahead of the rest of their facts (``showing``), the files shown of
    those to show."""

    pending: int
    last_change: float
    scanning: bool = False
    done: int = 0
    total: int = 0
    showing: bool = False

    @classmethod
    def of(cls, row: Sequence[Any]) -> Backlog:
        pending, last = max(0, int(row[1])), max(0.0, float(row[2]))
        scanning, done, total = (bool(row[3]), max(0, int(row[4])), max(0, int(row[5]))) if len(row) > 5 else (
            False, 0, 0)
        showing = bool(row[6]) if len(row) > 6 else False
        return cls(pending, last, scanning, done, max(done, total) if total else 0, showing)


class WorkerReports:
    def __init__(self) -> None:
        self._last: dict[str, WorkerReport] = {}
        self.repair = RepairProgress()
        # The watcher's backlog by project, replaced whole by each report, and when that came
        # (monotonic; 0: none since the owner started). A project it does not name, it has not
        # set up yet.
        self.backlog: dict[str, Backlog] = {}
        self.backlog_at = 0.0
        # The time (monotonic) by which the watcher had read every inotify event when it made
        # its last report: a change on disk from before then is in that report or in the index.
        self.read_to = 0.0
        self._reported: list[asyncio.Future[None]] = []  # waiting in read_past
        # A wait in read_past ended with no report at all, and none came since: the watcher is
        # hung or far behind, and is not waited for again until it reports.
        self.unanswered = False
        self._reports = 0  # backlog reports since the start
        # Per project: the watcher's writes under way, and when its last one ended (monotonic).
        self._writing: dict[str, int] = {}
        self._wrote_at: dict[str, float] = {}

    def record(self, worker: str, state: str, counters: Mapping[str, int]) -> None:
        if worker not in WORKER_UNITS and worker not in PARSER_NAMES:
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

    def record_backlog(self, rows: Iterable[Sequence[Any]], read_to: float = 0.0) -> None:
        """Rows (project, pending, last change, scanning, done, total, showing), the last four
        may be left out; ``read_to``: when the watcher had read every event the rows count."""
        self.backlog = {str(row[0]): Backlog.of(row) for row in rows}
        self.backlog_at = time.monotonic()
        self._reports += 1
        self.read_to = read_to
        self.unanswered = False
        waiting, self._reported = self._reported, []
        for future in waiting:
            if not future.done():
                future.set_result(None)

    async def read_past(self, bar: float, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a backlog report whose every event was read at or
        after ``bar`` (monotonic); whether one came. If no report came at all, ``unanswered``
        is set until the next."""
        deadline = time.monotonic() + timeout
        reports_before = self._reports
        while self.read_to < bar:
            left = deadline - time.monotonic()
            if left <= 0:
                self.unanswered = self._reports == reports_before
                return False
            future = asyncio.get_running_loop().create_future()
            self._reported.append(future)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, left)
        return True

    @contextlib.contextmanager
    def watcher_writing(self, project: str) -> Iterator[None]:
        """Around a write the watcher asked for in ``project`` (files indexed, moved or removed)."""
        self._writing[project] = self._writing.get(project, 0) + 1
        try:
            yield
        finally:
            self._writing[project] -= 1
            if not self._writing[project]:
                del self._writing[project]
            self._wrote_at[project] = time.monotonic()

    def watcher_wrote_since(self, project: str, since: float) -> bool:
        """Whether the watcher changed ``project``'s index after ``since`` (monotonic), or is
        changing it now: a look at disk from before then may be older than the index."""
        return project in self._writing or self._wrote_at.get(project, -math.inf) >= since


def unit_of(name: str) -> str:
    """A worker's unit, by its short name or the unit name itself."""
    unit = WORKER_UNITS.get(name) or (name if name in WORKER_UNITS.values() else None)
    if unit is None:
        raise failures.Refused(f"unknown worker {name!r}; workers are {', '.join(sorted(WORKER_UNITS))}")
    return unit


UNITS = [("db", OWNER_UNIT), *WORKER_UNITS.items()]
PARSER_NAMES = frozenset(parser_name(n) for n in range(1, PARSER_UNITS_RANGE[1] + 1))


def units_shown(parsers: int) -> list[tuple[str, str]]:
    """WorkerStatus's rows, (name, unit): the owner, the workers, then parser units 1..``parsers``."""
    return UNITS + [(parser_name(n), parser_unit(n)) for n in range(1, parsers + 1)]


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


# What the watcher is doing with a project (IndexProgress): ``READY`` is IndexStatus's fresh;
# while ``WATCHER_HAS`` a project, its changes are in the watcher's hands and nobody else's.
# ``SHOWING``: a large change's files are being shown (made searchable) ahead of the rest of
# their facts, which ``INDEXING`` then writes.
WAITING, SCANNING, SHOWING, INDEXING, READY, STALE = "waiting", "scanning", "showing", "indexing", "ready", "stale"
WATCHER_HAS = frozenset({WAITING, SCANNING, SHOWING, INDEXING})


@dataclass(frozen=True)
class Progress:
    """One IndexProgress row: how far the watcher is with a project's changes."""

    project: str
    phase: str  # one of WAITING, SCANNING, SHOWING, INDEXING, READY, STALE
    # files sent to the index since the watcher's current work on the project began (SHOWING:
    # files shown), and files in that work (to show); 0 while not counted yet (a scan comparing
    # the tree)
    done: int
    total: int
    indexed: int  # live files in the index
    why: str  # what the phase means here, in words ("" when ready)


def progress(project: ProjectInfo, watcher: str, reports: WorkerReports, now: float, max_age: float) -> Progress:
    """IndexStatus's rule, told as a phase. A project is the watcher's (``WATCHER_HAS``) while
    it is starting, has not set the project up, scans it or has paths of it left to index; not
    while the watcher is stopped, silent past ``max_age`` or the root is missing (``STALE``):
    then what differs from disk is nobody's but the repair worker's."""
    fresh = freshness(project, watcher, reports, now, max_age)
    seen = reports.backlog.get(project.id)
    done, total = (seen.done, seen.total) if seen else (0, 0)

    def row(phase: str) -> Progress:
        return Progress(project.id, phase, done, total, project.file_count, fresh.why)

    if not fresh.stale:
        return row(READY)
    if project.state == ProjectState.MISSING:
        return row(STALE)
    if watcher != "active":
        return row(WAITING if watcher in ("activating", "reloading") else STALE)
    if not reports.backlog_at:
        return row(WAITING)
    if now - reports.backlog_at > max_age:
        return row(STALE)
    if seen is None:
        return row(WAITING)
    if seen.scanning and not seen.total:
        return row(SCANNING)
    return row(SHOWING if seen.showing else INDEXING)

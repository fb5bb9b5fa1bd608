"""IndexStatus and IndexProgress: for each project the caller may see, whether its index says
what is on disk now, and how far the watcher is with it; and which projects are the
watcher's, which the repair worker leaves alone.

The facts come from two places: the watcher's per-project backlog (its ReportPending, kept in
``reports.WorkerReports``) and the watcher unit's state from systemd. The rules that join
them are ``reports.freshness`` and ``reports.progress``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from dbus_fast import DBusError

from codeanalysisd.bus.api import LIST_PAGE
from codeanalysisd.db.store import Reads
from codeanalysisd.names import WORKER_UNITS
from codeanalysisd.owner.parsers import watcher_busy
from codeanalysisd.owner.reports import STALE, WATCHER_FRESH, WATCHER_HAS, Freshness, Progress, freshness, progress
from codeanalysisd.records import ProjectInfo

if TYPE_CHECKING:  # the core imports the repair, which asks here whose a project is
    from codeanalysisd.owner.core import OwnerCore
    from codeanalysisd.owner.permissions import View


def max_report_age(report_interval: float) -> float:
    """How old the watcher's last backlog report may be and still be believed: it reports
    every ReportInterval at least, and at once when a backlog changes."""
    return max(WATCHER_FRESH, 3 * report_interval)


def watcher_indexing(core: OwnerCore) -> bool:
    """Whether work that gives way to indexing (libcst verification, embedding) waits now: the
    watcher has files to index or a tree to scan, by a report recent enough to believe."""
    return watcher_busy(core.reports, time.monotonic(), max_report_age(core.config.report_interval))


async def _projects(core: OwnerCore, view: View, key: str) -> list[ProjectInfo]:
    """One project (by id or root), or every project the caller may see ("": at most
    LIST_PAGE of them, by creation then id)."""
    if key:
        return [await core.visible_project(key, view)]

    def run(reads: Reads) -> list[ProjectInfo]:
        return list(itertools.islice((p for p in reads.projects.list() if view.sees_project(p)), LIST_PAGE))

    return await core.store.read(run)


async def _watcher_state(core: OwnerCore) -> str:
    try:
        return await core.units.active_state(WORKER_UNITS["watcher"])
    except DBusError as exc:  # then nobody can say the index is fresh
        return f"of unknown state (systemd did not answer: {exc.text})"


async def index_status(core: OwnerCore, view: View, key: str) -> list[Freshness]:
    projects = await _projects(core, view, key)
    watcher = await _watcher_state(core)
    now, max_age = time.monotonic(), max_report_age(core.config.report_interval)
    return [freshness(p, watcher, core.reports, now, max_age) for p in projects]


async def _progress_of(core: OwnerCore) -> Callable[[ProjectInfo], Progress]:
    """A project's progress as of each call, by the watcher unit's state now (asked once)."""
    watcher = await _watcher_state(core)
    max_age = max_report_age(core.config.report_interval)
    return lambda project: progress(project, watcher, core.reports, time.monotonic(), max_age)


async def index_progress(core: OwnerCore, view: View, key: str) -> list[Progress]:
    projects = await _projects(core, view, key)
    of = await _progress_of(core)
    return [of(p) for p in projects]


# How long the owner waits for the watcher to say it has read every change on disk up to a
# repair batch's arrival (a report on BacklogWanted comes within its BACKLOG_GAP when idle).
WATCHER_ANSWER = 2.0


async def leave_to_watcher(core: OwnerCore, project: ProjectInfo, looked_at: float,
                           ask: Callable[[], None]) -> bool:
    """Whether what the repair worker found in ``project``, reading disk from ``looked_at`` on
    (monotonic), is the watcher's to act on instead: the project is the watcher's now
    (``WATCHER_HAS``), or the watcher changed its index since the look began. Both are asked
    after the watcher has said it read every change the look could have seen (``ask`` sends
    BacklogWanted): its next report counts every inotify event read up to then, so a change
    on disk before this call (a move half seen by the look, say) is pending there or is in
    the index. A watcher that is stopped, or silent past the age its reports are believed,
    is not asked: what differs is then the repair worker's. One that does not answer within
    WATCHER_ANSWER (hung, or far behind) is not waited for longer, nor asked again until it
    reports: the batch is weighed against its last report, as the repair worker is there for
    what the watcher misses."""
    asked = time.monotonic()
    of = await _progress_of(core)

    def phase() -> str:
        return of(project).phase

    if phase() in WATCHER_HAS:
        return True
    if phase() == STALE:
        return False
    if core.reports.read_to < asked and not core.reports.unanswered:
        ask()
        await core.reports.read_past(asked, WATCHER_ANSWER)
    return phase() in WATCHER_HAS or core.reports.watcher_wrote_since(project.id, looked_at)


async def watcher_has(core: OwnerCore, projects: list[ProjectInfo]) -> set[str]:
    """The ids of those projects whose changes are the watcher's to index now (``WATCHER_HAS``)."""
    of = await _progress_of(core)
    return {p.id for p in projects if of(p).phase in WATCHER_HAS}

"""IndexStatus: for each project the caller may see, whether its index says what is on disk now.

The facts come from two places: the watcher's per-project backlog (its ReportPending, kept in
``reports.WorkerReports``) and the watcher unit's state from systemd. The rule that joins
them is ``reports.freshness``.
"""

from __future__ import annotations

import itertools
import time

from dbus_fast import DBusError

from codeanalysisd.bus.api import LIST_PAGE
from codeanalysisd.db.store import Reads
from codeanalysisd.names import WORKER_UNITS
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.permissions import View
from codeanalysisd.owner.reports import WATCHER_FRESH, Freshness, freshness
from codeanalysisd.records import ProjectInfo


def max_report_age(report_interval: float) -> float:
    """How old the watcher's last backlog report may be and still be believed: it reports
    every ReportInterval at least, and at once when a backlog changes."""
    return max(WATCHER_FRESH, 3 * report_interval)


async def index_status(core: OwnerCore, view: View, key: str) -> list[Freshness]:
    """One project (by id or root), or every project the caller may see ("": at most
    LIST_PAGE of them, by creation then id)."""
    if key:
        projects = [await core.visible_project(key, view)]
    else:
        def run(reads: Reads) -> list[ProjectInfo]:
            return list(itertools.islice((p for p in reads.projects.list() if view.sees_project(p)), LIST_PAGE))

        projects = await core.store.read(run)
    try:
        watcher = await core.units.active_state(WORKER_UNITS["watcher"])
    except DBusError as exc:  # then nobody can say the index is fresh
        watcher = f"of unknown state (systemd did not answer: {exc.text})"
    now, max_age = time.monotonic(), max_report_age(core.config.report_interval)
    return [freshness(p, watcher, core.reports, now, max_age) for p in projects]

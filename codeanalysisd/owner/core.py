"""The DB owner's core: the one object both bus faces stand on.

It holds the store, systemd's units, the configuration, the guard, the repairs, the
workers' reports and semantic search, finds projects by key, and tells whoever listens
when the index changed. The faces (``manager.py``, ``worker.py``) only convert arguments
and results; the work itself lives in the modules named for it (``projects``, ``lookup``,
``restore``, ``repair``, ``ingest``, ``embeddings``, ``worker_control``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from codeanalysisd.config import Config
from codeanalysisd.db.store import Store, UnknownProject
from codeanalysisd.owner import failures
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.guard import Guard
from codeanalysisd.owner.repair import Repairs
from codeanalysisd.owner.reports import WorkerReports
from codeanalysisd.owner.semantic import Semantic
from codeanalysisd.owner.systemd_units import SystemdUnits
from codeanalysisd.records import ProjectInfo

log = logging.getLogger("codeanalysisd.owner")


class OwnerCore:
    def __init__(self, store: Store, units: SystemdUnits, config: Config, guard: Guard | None = None,
                 on_corrupt: Callable[[str], None] = lambda why: None) -> None:
        self.store = store
        self.units = units
        self.config = config
        self.guard = guard or Guard()
        self.on_corrupt = on_corrupt
        self.repairs = Repairs(store, units, config)
        self.reports = WorkerReports()
        self.index_version = 0  # counts changes of the index, for what is cached from it
        self.semantic = Semantic(store, units.bus, lambda: self.repairs.running, lambda: self.index_version)
        self.calls = 0  # Manager calls answered, for WorkerStatus
        self._listeners: list[Callable[[Change], None]] = []

    def reconfigure(self, config: Config) -> None:
        self.config = self.repairs.config = config

    # ------------------------------------------------------------------ changes
    def on_change(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def changed(self, what: Change) -> None:
        if what is not Change.VECTORS:
            self.index_version += 1
        for listener in self._listeners:
            listener(what)

    # ------------------------------------------------------------------ projects
    def project(self, key: str) -> ProjectInfo:
        """A project by id or root path."""
        if not key:
            raise failures.Refused("project must be given (an id from ListProjects or a root path)")
        try:
            return self.store.reads.projects.find(key)
        except UnknownProject:
            raise failures.Unknown(f"no project {key!r}; codeanalysisctl projects lists them") from None

    def scope(self, key: str) -> str | None:
        """A query's project: '' means every project; anything else must name one."""
        return self.project(key).id if key else None

    # ------------------------------------------------------------------ integrity
    async def check_integrity(self) -> tuple[dict[str, list[str]], float]:
        """PRAGMA integrity_check of both files, off the event loop; a corrupt file makes the
        owner restart, move it aside and rebuild. Returns the problems and the seconds taken."""
        started = time.monotonic()
        problems = await asyncio.to_thread(self.store.integrity_problems)
        bad = {name: found for name, found in problems.items() if found}
        if bad:
            why = "; ".join(f"{name}: {', '.join(found[:3])}" for name, found in bad.items())
            log.error("integrity check failed: %s", why)
            self.on_corrupt(why)
        return problems, time.monotonic() - started

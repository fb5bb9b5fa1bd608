"""The DB owner's core: the one object both bus faces stand on.

It holds the store, systemd's units, the configuration, the guard, the repairs, the
workers' reports, the repair worker's schedule and semantic search; it knows who is calling
and what they may see (``callers``, ``permissions``), finds projects by key, and tells
whoever listens when the index or the repair worker's schedule changed. The faces
(``manager.py``, ``worker.py``) only convert arguments and results; the work itself lives
in the modules named for it (``projects``, ``lookup``, ``restore``, ``repair``, ``ingest``,
``embeddings``, ``worker_control``, ``repair_worker``, ``freshness``, ``structure``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from codeanalysisd.config import Config
from codeanalysisd.db.store import Reads, Store, UnknownProject
from codeanalysisd.names import ADMIN_GROUP
from codeanalysisd.owner import failures
from codeanalysisd.owner.callers import Callers, admin_gid
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.guard import Guard
from codeanalysisd.owner.parsers import SyntaxClaims
from codeanalysisd.owner.permissions import View, may_administer
from codeanalysisd.owner.repair import Repairs
from codeanalysisd.owner.repair_worker import Schedule
from codeanalysisd.owner.reports import WorkerReports
from codeanalysisd.owner.restores_pending import PendingRestores
from codeanalysisd.owner.semantic import Semantic
from codeanalysisd.owner.structure_models import Models
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
        self.syntax_claims = SyntaxClaims()  # which parser unit verifies which file (owner/parsers.py)
        self.restores = PendingRestores()  # restores handed out, not yet recorded (owner/restores_pending.py)
        self.index_version = 0  # counts changes of the index, for what is cached from it
        self.semantic = Semantic(store, units.bus, lambda: self.repairs.running, lambda: self.index_version)
        self.calls = 0  # Manager calls answered, for WorkerStatus
        self._listeners: list[Callable[[Change], None]] = []
        self.callers: Callers | None = None  # set once the owner is on the bus
        # the structure questions' models, one per project asked about (owner/structure.py)
        self.structure = Models()
        self._integrity: asyncio.Future[dict[str, list[str]]] | None = None
        # In memory on purpose: a schedule set by StartRepairWorker ends with the owner.
        self.repair_schedule = Schedule()
        self._schedule_listeners: list[Callable[[], None]] = []

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

    # ------------------------------------------------------------------ the repair worker's schedule
    def on_repair_schedule(self, listener: Callable[[], None]) -> None:
        self._schedule_listeners.append(listener)

    def set_repair_schedule(self, schedule: Schedule) -> None:
        self.repair_schedule = schedule
        for listener in self._schedule_listeners:
            listener()

    # ------------------------------------------------------------------ projects
    def project(self, key: str) -> ProjectInfo:
        """A project by id or root path, for the suite's own workers (no caller's view applies)."""
        if not key:
            raise failures.Refused("project must be given (an id from ListProjects or a root path)")
        try:
            return self.store.reads.projects.find(key)
        except UnknownProject:
            raise failures.Unknown(f"no project {key!r}; codeanalysisctl projects lists them") from None

    # ------------------------------------------------------------------ callers
    async def view(self) -> View:
        """The caller of the request being answered, and what they may see."""
        if self.callers is None:
            raise failures.CouldNot("the owner does not know its callers yet")
        return View(await self.callers.current())

    async def visible_project(self, key: str, view: View) -> ProjectInfo:
        """A project by id or root, if the caller may see it (else the same answer as for none)."""
        if not key:
            raise failures.Refused("project must be given (an id from ListProjects or a root path)")

        def run(reads: Reads) -> ProjectInfo:
            try:
                found = reads.projects.find(key)
            except UnknownProject:
                found = None
            if found is None or not view.sees_project(found):
                raise failures.Unknown(f"no project {key!r}; codeanalysisctl projects lists them")
            return found

        return await self.store.read(run)

    async def owned_project(self, key: str, view: View, what: str) -> ProjectInfo:
        """A project the caller may change: their own (or any, for root)."""
        found = await self.visible_project(key, view)
        view.may_change(found, what)
        return found

    def administer(self, view: View, what: str) -> None:
        may_administer(view.caller, admin_gid(ADMIN_GROUP), what)

    # ------------------------------------------------------------------ integrity
    async def check_integrity(self) -> tuple[dict[str, list[str]], float]:
        """PRAGMA integrity_check of both files, off the event loop; a corrupt file makes the
        owner restart, move it aside and rebuild. Returns the problems and the seconds taken."""
        started = time.monotonic()
        if self._integrity is None:
            # One check at a time: callers that come while it runs share its answer.
            self._integrity = asyncio.ensure_future(asyncio.to_thread(self.store.integrity_problems))
            self._integrity.add_done_callback(lambda _: setattr(self, "_integrity", None))
        problems = await asyncio.shield(self._integrity)
        bad = {name: found for name, found in problems.items() if found}
        if bad:
            why = "; ".join(f"{name}: {', '.join(found[:3])}" for name, found in bad.items())
            log.error("integrity check failed: %s", why)
            self.on_corrupt(why)
        return problems, time.monotonic() - started

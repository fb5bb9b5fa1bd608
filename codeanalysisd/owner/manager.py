"""The public bus interface org.codeanalysis1.Manager and the worker-facing org.codeanalysis1.Worker.

(No ``from __future__ import annotations`` here: dbus-fast reads the D-Bus signatures
from the annotations at class creation.)
"""

import asyncio
import functools
import hashlib
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import apsw
from dbus_fast import DBusError, Variant
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

from codeanalysisd import __version__, paths
from codeanalysisd.bus import errors
from codeanalysisd.config import Config
from codeanalysisd.db import indexing, queries, vectors
from codeanalysisd.db.store import RootTaken, Store, UnknownProject
from codeanalysisd.index import wire
from codeanalysisd.index.reading import read_file
from codeanalysisd.names import MANAGER_INTERFACE, OWNER_UNIT, WORKER_INTERFACE, WORKER_UNITS
from codeanalysisd.owner.repair import Outcome, ProjectUnavailable, RepairBusy, Repairs
from codeanalysisd.owner.semantic import Semantic
from codeanalysisd.owner.systemd_units import JobFailed, SystemdUnits
from codeanalysisd.repair import disk, writeback
from codeanalysisd.repair.plan import NEEDS_CONTENT, OnDisk, classify

log = logging.getLogger("codeanalysisd.owner")

_COUNTERS = ("pending", "done", "errors")
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
WATCHER_FRESH = 30.0  # seconds a watcher's report of pending work is believed
MAX_VECTOR_PAGE = 16 * 1024 * 1024  # bytes of vectors in one ModelVectors reply
KINDS = ("class", "function", "async_function", "method", "async_method")


def _limit(limit: int) -> int:
    return DEFAULT_LIMIT if limit == 0 else min(int(limit), MAX_LIMIT)


_corruption_hooks: list[Callable[[Exception], None]] = []


def on_corruption(hook: Callable[[Exception], None]) -> None:
    """Call ``hook`` when a handler meets a corrupt database file (the owner restarts to repair it)."""
    _corruption_hooks.append(hook)


def _in_chain(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of these kinds in exc's chain. SQLite rolls a transaction back by
    itself on some errors (a full disk): apsw's rollback then fails with "no transaction is
    active", and the error that matters is the one it happened during."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


DISK_FULL_LOG_EVERY = 60.0
_full_logged_at: float | None = None


def _disk_full(what: str) -> errors.Failed:
    """The transaction was rolled back: nothing committed is lost, reads go on, and the
    writer retries. Said at error priority, once a minute while it lasts (not once a retry)."""
    global _full_logged_at
    now = time.monotonic()
    if _full_logged_at is None or now - _full_logged_at >= DISK_FULL_LOG_EVERY:
        _full_logged_at = now
        log.error("the disk holding the database is full: %s could not be written (rolled back; queries are "
                  "still answered; writing resumes when space returns)", what)
    return errors.Failed(f"{what}: the disk holding the database is full; nothing was written, try again when "
                         "there is space")


def guarded(handler):
    """Turn an unexpected exception into a named error the caller can act on, and log it.

    Without this, dbus-fast answers with its own generic error name and only the exception's
    class name, and the service's journal says nothing.
    """

    def failed(exc: Exception) -> errors.Failed:
        if (corrupt := _in_chain(exc, (apsw.CorruptError, apsw.NotADBError))) is not None:
            for hook in _corruption_hooks:
                hook(corrupt)
        if _in_chain(exc, (apsw.FullError,)) is not None:
            return _disk_full(handler.__name__)
        log.error("%s failed unexpectedly: %s: %s", handler.__name__, type(exc).__name__, exc, exc_info=True)
        return errors.Failed(f"{handler.__name__} failed: {type(exc).__name__}: {exc} "
                             "(details: journalctl -u codeanalysisd-db.service)")

    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def run_async(*args, **kwargs):
            try:
                return await handler(*args, **kwargs)
            except DBusError:
                raise
            except Exception as exc:
                raise failed(exc) from exc
        return run_async

    @functools.wraps(handler)
    def run(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except DBusError:
            raise
        except Exception as exc:
            raise failed(exc) from exc
    return run


@dataclass
class WorkerReport:
    counters: dict[str, int] = field(default_factory=dict)
    state: str = ""
    at: float = 0.0


class Manager(ServiceInterface):
    def __init__(self, store: Store, units: SystemdUnits, on_change, config: Config | None = None,
                 on_corrupt: Callable[[str], None] = lambda why: None) -> None:
        super().__init__(MANAGER_INTERFACE)
        self.store = store
        self.units = units
        self.config = config or Config()
        self.repairs = Repairs(store, units, self.config)
        self.index_version = 0  # counts changes of the index, for what is cached from it
        self.semantic = Semantic(store, units.bus, lambda: self.repairs.running, lambda: self.index_version)
        self.reports: dict[str, WorkerReport] = {}
        self._states_in_flight: asyncio.Future | None = None
        self.calls = 0
        self._on_change = on_change
        self._on_corrupt = on_corrupt

    # ----------------------------------------------------------------- helpers
    def _project(self, key: str):
        if not key:
            raise errors.InvalidArgument("project must be given (an id from ListProjects or a root path)")
        try:
            return self.store.find_project(key)
        except UnknownProject:
            raise errors.NotFound(f"no project {key!r}; codeanalysisctl projects lists them") from None

    def _worker_unit(self, name: str) -> str:
        unit = WORKER_UNITS.get(name) or (name if name in WORKER_UNITS.values() else None)
        if unit is None:
            raise errors.InvalidArgument(
                f"unknown worker {name!r}; workers are {', '.join(sorted(WORKER_UNITS))}"
            )
        return unit

    # ChunksPending is announced as invalidated, not with its value: counting it is a query
    # over every chunk, and only a client that wants the number should pay for it.
    def _changed(self) -> None:
        self.index_version += 1
        self.emit_properties_changed(
            {"Projects": len(self.store.list_projects()), "FilesIndexed": self.store.files_indexed()},
            ["ChunksPending"])
        self._on_change()

    def files_changed(self) -> None:
        self.index_version += 1
        self.emit_properties_changed({"FilesIndexed": self.store.files_indexed()}, ["ChunksPending"])
        self._on_change()

    def vectors_changed(self) -> None:
        self.emit_properties_changed({}, ["ChunksPending"])

    # ----------------------------------------------------------------- projects
    @method()
    @guarded
    async def AddProject(self, root: "s") -> "s":
        self.calls += 1
        try:
            canonical = paths.project_root(root)
        except paths.PathRejected as exc:
            log.log(25, "AddProject refused: %s", exc, extra={"path": root})
            raise errors.InvalidArgument(str(exc)) from None
        try:
            project = await self.store.write(self.store.add_project, canonical, paths.roots_overlap)
        except RootTaken as exc:
            raise errors.Exists(str(exc)) from None
        log.info("registered project %s at %s", project.id, project.root,
                 extra={"project": project.id, "path": project.root})
        self._changed()
        return project.id

    @method()
    @guarded
    async def RemoveProject(self, project: "s"):
        self.calls += 1
        found = self._project(project)
        await self.store.write(self.store.remove_project, found.id)
        log.info("unregistered project %s (%s)", found.id, found.root,
                 extra={"project": found.id, "path": found.root})
        self._changed()

    @method()
    @guarded
    def ListProjects(self) -> "a(sssus)":
        self.calls += 1
        return [[p.id, p.name, p.root, p.file_count, p.state] for p in self.store.list_projects()]

    # ----------------------------------------------------------------- workers
    @method()
    @guarded
    async def WorkerStatus(self) -> "aa{sv}":
        self.calls += 1
        units = [("db", OWNER_UNIT), *WORKER_UNITS.items()]
        states = await self._unit_states([unit for _, unit in units])
        rows = []
        for (name, unit), state in zip(units, states, strict=True):
            if isinstance(state, DBusError):
                raise errors.Failed(f"systemd did not report {unit}: {state.text}")
            if isinstance(state, BaseException):
                raise state
            row: dict[str, Variant] = {
                "name": Variant("s", name),
                "unit": Variant("s", unit),
                "ActiveState": Variant("s", state["ActiveState"]),
                "SubState": Variant("s", state["SubState"]),
                "MainPID": Variant("u", state["MainPID"]),
                "StatusText": Variant("s", state["StatusText"]),
                "NRestarts": Variant("u", state["NRestarts"]),
            }
            if name == "db":
                row["done"] = Variant("t", self.calls)
            else:
                report = self.reports.get(name)
                for key in _COUNTERS:
                    row[key] = Variant("t", report.counters.get(key, 0) if report else 0)
                row["state"] = Variant("s", report.state if report else "")
                row["reported_ago"] = Variant("d", time.monotonic() - report.at if report else -1.0)
            rows.append(row)
        return rows

    async def _unit_states(self, units: list[str]) -> list:
        """The units' states from systemd. Callers that arrive while a query is on its way share
        its answer: under many concurrent callers systemd (one process for the whole machine)
        is asked once per round trip instead of once per caller."""
        if self._states_in_flight is None:
            async def query() -> list:
                try:
                    return await asyncio.gather(*(self.units.unit_state(u) for u in units), return_exceptions=True)
                finally:
                    self._states_in_flight = None

            self._states_in_flight = asyncio.ensure_future(query())
        return await asyncio.shield(self._states_in_flight)

    async def _control(self, verb: str, name: str) -> None:
        self.calls += 1
        unit = self._worker_unit(name)
        try:
            await getattr(self.units, f"{verb}_unit")(unit)
        except JobFailed as exc:
            log.warning("%s of %s failed: %s", verb, unit, exc, extra={"unit": unit})
            raise errors.Failed(str(exc)) from None
        except DBusError as exc:
            log.warning("systemd refused to %s %s: %s", verb, unit, exc.text, extra={"unit": unit})
            if "AccessDenied" in exc.type or "InteractiveAuthorizationRequired" in exc.type:
                raise errors.AccessDenied(
                    f"systemd refused to {verb} {unit} for the service user: {exc.text} "
                    "(is the polkit rule installed and polkitd available?)"
                ) from None
            raise errors.Failed(f"systemd could not {verb} {unit}: {exc.text}") from None
        log.info("%s %s through systemd", {"start": "started", "stop": "stopped",
                                           "restart": "restarted"}[verb], unit, extra={"unit": unit})

    @method()
    @guarded
    async def StartWorker(self, name: "s"):
        await self._control("start", name)

    @method()
    @guarded
    async def StopWorker(self, name: "s"):
        await self._control("stop", name)

    @method()
    @guarded
    async def RestartWorker(self, name: "s"):
        await self._control("restart", name)

    # ----------------------------------------------------------------- queries
    def _scope(self, project: str) -> str | None:
        """'' means every project; anything else must name one."""
        return self._project(project).id if project else None

    @method()
    @guarded
    def Search(self, query: "s", project: "s", limit: "u") -> "a(ssussd)":
        self.calls += 1
        try:
            hits = self.store.search(query, self._scope(project), _limit(limit))
        except queries.BadQuery as exc:
            raise errors.InvalidArgument(str(exc)) from None
        return [[h.project, h.path, h.line, h.symbol, h.snippet, h.score] for h in hits]

    @method()
    @guarded
    async def SemanticSearch(self, query: "s", project: "s", limit: "u") -> "a(sssuuds)":
        """The code chunks nearest to a description in words: (project, path, symbol, first
        line, last line, cosine similarity, first line of the chunk)."""
        self.calls += 1
        found = await self.semantic.search(query, self._scope(project), _limit(limit))
        return [[m.project, m.path, m.symbol, m.line, m.end_line, m.score, m.snippet] for m in found]

    @method()
    @guarded
    async def HybridSearch(self, query: "s", project: "s", limit: "u") -> "a(sssuuds)":
        """Full text and semantic search fused by reciprocal rank; same rows as
        SemanticSearch, the score being the fused one."""
        self.calls += 1
        found = await self.semantic.hybrid(query, self._scope(project), _limit(limit))
        return [[m.project, m.path, m.symbol, m.line, m.end_line, m.score, m.snippet] for m in found]

    @method()
    @guarded
    def FindSymbol(self, name: "s", project: "s", kind: "s", limit: "u") -> "a(ssssuuuss)":
        self.calls += 1
        if not name.strip():
            raise errors.InvalidArgument("name is empty: give a name, a qualified name (Cls.meth) or a glob (test_*)")
        if kind and kind not in KINDS:
            raise errors.InvalidArgument(f"unknown kind {kind!r}; kinds are {', '.join(KINDS)}")
        found = self.store.find_symbol(name.strip(), self._scope(project), kind, _limit(limit))
        return [[s.project, s.path, s.qualname, s.kind, s.line, s.column, s.end_line, s.signature, s.docstring]
                for s in found]

    @method()
    @guarded
    def FindReferences(self, name: "s", project: "s", limit: "u") -> "a(sssssuu)":
        self.calls += 1
        if not name.strip():
            raise errors.InvalidArgument("name is empty: give a name or a dotted name (os.path.join)")
        found = self.store.find_references(name.strip(), self._scope(project), _limit(limit))
        return [[u.project, u.path, u.name, u.kind, u.scope, u.line, u.column] for u in found]

    @method()
    @guarded
    def GetFileSource(self, project: "s", path: "s", version: "s") -> "ay":
        """The exact bytes of a file: its current (or, if deleted, last) content for version
        "" or "current", else the version named by number or sha256 prefix."""
        self.calls += 1
        found = self._project(project)
        rel = self._relpath(found, path)
        if version.strip() not in ("", "current"):
            return self._version(found, rel, version)[1]
        try:
            data, state, problems = self.store.file_source(found.id, rel)
        except LookupError:
            if versions := self.store.versions(found.id, rel):
                return self._version(found, rel, str(versions[-1].n))[1]
            raise errors.NotFound(f"{rel} is not a file of project {found.id!r}") from None
        if data is None:
            raise errors.NotFound(f"no stored source for {rel}: {problems or state}")
        return data

    def _version(self, project, rel: str, spec: str):
        if len(spec) > 80 or "\0" in spec:
            raise errors.InvalidArgument("version must be a number or a sha256 prefix")
        try:
            return self.store.version(project.id, rel, spec)
        except LookupError as exc:
            raise errors.NotFound(f"{exc.args[0] if exc.args else rel} (codeanalysisctl history "
                                  f"{project.id} {rel} lists the versions)") from None

    def _history(self, project: str, path: str):
        """The project, the checked relative path, and its versions (NotFound if it has none)."""
        found = self._project(project)
        rel = self._relpath(found, path)
        versions = self.store.versions(found.id, rel)
        if not versions:
            raise errors.NotFound(f"no history for {rel} in project {found.id!r}")
        return found, rel, versions

    @method()
    @guarded
    def ListVersions(self, project: "s", path: "s") -> "a(usdtsbs)":
        """The local history of one file, oldest first: (number, sha256, time, size, reason,
        present after it, the other path of a move)."""
        self.calls += 1
        *_, found_versions = self._history(project, path)
        return [[v.n, v.sha256.hex(), v.at, max(v.size, 0), v.reason, v.present, v.other_path]
                for v in found_versions]

    @method()
    @guarded
    async def RestoreFile(self, project: "s", path: "s", version: "s", overwrite: "b") -> "a{sv}":
        """Write a version back into the project. An existing file is replaced only with
        ``overwrite``, and its content becomes a version first (reason 'overwritten')."""
        self.calls += 1
        found, rel, versions = self._history(project, path)
        chosen, data = self._version(found, rel, version.strip() or str(versions[-1].n))
        try:
            current = await asyncio.to_thread(_current_bytes, found.root, rel)
        except writeback.WriteFailed as exc:
            raise errors.Failed(str(exc)) from None
        if current is not None and hashlib.sha256(current).digest() == chosen.sha256:
            return {"path": Variant("s", rel), "version": Variant("u", chosen.n), "written": Variant("b", False),
                    "replaced_version": Variant("u", 0)}
        if current is not None and not overwrite:
            raise errors.Exists(f"{rel} exists in {found.root}; pass overwrite to replace it "
                                "(its content is kept as a version first)")
        replaced = (await self.store.write(self.store.record_overwritten, found.id, rel, current)
                    if current is not None else None)
        try:
            written = await asyncio.to_thread(writeback.write_into, found.root, rel, data, overwrite)
        except writeback.WriteRefused as exc:
            raise errors.Exists(str(exc)) from None
        except writeback.WriteFailed as exc:
            log.warning("RestoreFile: %s", exc, extra={"project": found.id, "path": rel})
            raise errors.AccessDenied(str(exc)) from None
        if written.replaced is not None and written.replaced != current:
            await self.store.write(self.store.record_overwritten, found.id, rel, written.replaced)
        update = await asyncio.to_thread(disk.from_bytes, rel, data, written.size, written.mtime_ns,
                                         self.config.max_parse_size)
        await self.store.write(self.store.index_files, found.id, [update], "restored")
        log.info("restored %s of %s (version %d)", rel, found.id, chosen.n, extra={"project": found.id, "path": rel})
        self.files_changed()
        return {"path": Variant("s", rel), "version": Variant("u", chosen.n), "written": Variant("b", True),
                "replaced_version": Variant("u", replaced or 0)}

    # ----------------------------------------------------------------- repair and integrity
    async def _repair(self, project: str, dry_run: bool, restore_missing: bool) -> dict:
        self.calls += 1
        found = self._project(project)
        try:
            outcome = await self.repairs.run(found, dry_run, restore_missing)
        except RepairBusy as exc:
            raise errors.Busy(str(exc)) from None
        except ProjectUnavailable as exc:
            raise errors.Failed(str(exc)) from None
        if not dry_run:
            level = logging.ERROR if outcome.failed else logging.INFO
            log.log(level, "repair of %s: %d action(s) over %d file(s) in %.2f s%s", found.id, len(outcome.actions),
                    outcome.checked, outcome.seconds, f"; failed: {outcome.failed}" if outcome.failed else "",
                    extra={"project": found.id})
            self.files_changed()
        return _repair_reply(found.id, dry_run, restore_missing, outcome)

    @method()
    @guarded
    async def Repair(self, project: "s", dry_run: "b") -> "a{sv}":
        """Bring the project's index and history in line with disk (see README, Repair)."""
        return await self._repair(project, dry_run, False)

    @method()
    @guarded
    async def RepairAndRestore(self, project: "s", dry_run: "b") -> "a{sv}":
        """Repair, and write back into the project every file the index holds as present
        that is gone from disk."""
        return await self._repair(project, dry_run, True)

    @method()
    @guarded
    async def CheckIntegrity(self) -> "a{sv}":
        """PRAGMA integrity_check of the index and the history. A corrupt file makes the
        owner restart, move it aside and rebuild."""
        self.calls += 1
        started = time.monotonic()
        problems = await asyncio.to_thread(self.store.integrity_problems)
        bad = {name: found for name, found in problems.items() if found}
        if bad:
            why = "; ".join(f"{name}: {', '.join(found[:3])}" for name, found in bad.items())
            log.error("integrity check failed: %s", why)
            self._on_corrupt(why)
        return {"ok": Variant("b", not bad), "seconds": Variant("d", time.monotonic() - started),
                **{name: Variant("as", found[:100]) for name, found in problems.items()}}

    @method()
    @guarded
    def ListProblems(self, project: "s") -> "a(sss)":
        self.calls += 1
        return [list(row) for row in self.store.problems(self._scope(project))]

    def _relpath(self, project, raw: str) -> str:
        try:
            return paths.project_relpath(project.root, raw)
        except paths.PathRejected as exc:
            raise errors.InvalidArgument(str(exc)) from None

    # ----------------------------------------------------------------- properties
    @dbus_property(access=PropertyAccess.READ)
    def Version(self) -> "s":
        return __version__

    @dbus_property(access=PropertyAccess.READ)
    def Projects(self) -> "u":
        return len(self.store.list_projects())

    @dbus_property(access=PropertyAccess.READ)
    def FilesIndexed(self) -> "t":
        return self.store.files_indexed()

    @dbus_property(access=PropertyAccess.READ)
    def DatabaseBytes(self) -> "t":
        return self.store.database_bytes()

    @dbus_property(access=PropertyAccess.READ)
    def SyntaxPending(self) -> "t":
        return self.store.syntax_pending_count()

    @dbus_property(access=PropertyAccess.READ)
    def SchemaVersion(self) -> "u":
        return self.store.schema_version

    @dbus_property(access=PropertyAccess.READ)
    def HistoryBytes(self) -> "t":
        return self.store.history_bytes()

    @dbus_property(access=PropertyAccess.READ)
    def Repairing(self) -> "s":
        return self.repairs.running or ""

    @dbus_property(access=PropertyAccess.READ)
    def ChunksPending(self) -> "t":
        """Distinct code chunks without a vector of the current model; PropertiesChanged
        names it invalidated whenever it may have changed."""
        return self.store.chunks_pending()

    @dbus_property(access=PropertyAccess.READ)
    def EmbeddingModels(self) -> "a(subt)":
        """(model, dimension, complete, vectors) of every model with stored vectors, oldest first."""
        return [[m.name, m.dim, m.complete is not None, count] for m, count in self.store.models()]


def _current_bytes(root: str, rel: str) -> bytes | None:
    item = read_file(root, rel)
    if item is None:
        return None
    if item.data is None:
        raise writeback.WriteFailed(f"{rel} exists but cannot be read ({item.error}); not replaced")
    return item.data


def _repair_reply(project_id: str, dry_run: bool, restore_missing: bool, outcome: Outcome) -> dict:
    return {
        "project": Variant("s", project_id),
        "dry_run": Variant("b", dry_run),
        "restore_missing": Variant("b", restore_missing),
        "checked": Variant("u", outcome.checked),
        "actions": Variant("a(ssss)", [[a.path, a.case, a.action, a.detail] for a in outcome.actions]),
        "stopped": Variant("as", outcome.stopped),
        "restarted": Variant("as", outcome.restarted),
        "failed": Variant("s", outcome.failed),
        "seconds": Variant("d", outcome.seconds),
    }


class WorkerChannel(ServiceInterface):
    """Calls the workers make to the owner. The bus policy admits the service user only."""

    def __init__(self, manager: Manager) -> None:
        super().__init__(WORKER_INTERFACE)
        self.manager = manager

    @method()
    @guarded
    def ReportProgress(self, worker: "s", state: "s", counters: "a{st}"):
        if worker not in WORKER_UNITS:
            raise errors.InvalidArgument(f"unknown worker {worker!r}")
        self.manager.reports[worker] = WorkerReport(
            {k: int(v) for k, v in counters.items() if k in _COUNTERS}, state[:200], time.monotonic()
        )

    def _project_id(self, project: str) -> str:
        return self.manager._project(project).id

    @method()
    @guarded
    def FileStates(self, project: "s") -> "a(sxxays)":
        return [[f.path, f.size, f.mtime_ns, f.sha256, f.state]
                for f in self.manager.store.file_states(self._project_id(project))]

    @method()
    @guarded
    async def IndexFiles(self, project: "s", files: "a(sxxays)") -> "u":
        """Whole files, each (path, size, mtime_ns, source, facts JSON); the batch is one transaction."""
        return await self._index(project, files, None)

    async def _index(self, project: str, files: list, reason: str | None) -> int:
        pid = self._project_id(project)
        try:
            updates = [indexing.FileUpdate(self._rel(path), size, mtime, bytes(source), wire.decode(facts))
                       for path, size, mtime, source, facts in files]
        except wire.BadFacts as exc:
            raise errors.InvalidArgument(str(exc)) from None
        count = await self.manager.store.write(self.manager.store.index_files, pid, updates, reason)
        if reason == "repaired":
            log.info("repair worker re-indexed %s", ", ".join(u.path for u in updates[:20]), extra={"project": pid})
        self.manager.files_changed()
        return count

    @method()
    @guarded
    async def RemoveFiles(self, project: "s", relpaths: "as") -> "u":
        store = self.manager.store
        count = await store.write(store.mark_deleted, self._project_id(project), [self._rel(p) for p in relpaths])
        self.manager.files_changed()
        return count

    @method()
    @guarded
    async def MoveFile(self, project: "s", old: "s", new: "s", size: "x", mtime_ns: "x") -> "b":
        store = self.manager.store
        moved = await store.write(store.move_file, self._project_id(project), self._rel(old), self._rel(new), size,
                                  mtime_ns)
        self.manager.files_changed()
        return moved

    @method()
    @guarded
    async def TouchFiles(self, project: "s", stats: "a(sxx)"):
        store = self.manager.store
        await store.write(store.touch_files, self._project_id(project), [(self._rel(p), s, m) for p, s, m in stats])

    @method()
    @guarded
    def SyntaxPending(self, project: "s", limit: "u") -> "a(say)":
        return [[path, sha] for path, sha in self.manager.store.syntax_pending(self._project_id(project), limit)]

    @method()
    @guarded
    async def RecordSyntax(self, project: "s", verdicts: "a(says)") -> "u":
        """(path, sha256 the verdict was made on, verdict): 'exact' or why the tree differs."""
        store = self.manager.store
        return await store.write(store.record_syntax, self._project_id(project),
                                 [(self._rel(p), bytes(sha), v[:500]) for p, sha, v in verdicts])

    @method()
    @guarded
    async def SetSkipped(self, project: "s", scope: "s", entries: "a(ss)"):
        """Paths at and below scope ("" = all) that are not followed, each with its reason."""
        if scope:
            scope = self._rel(scope)
        store = self.manager.store
        await store.write(store.set_skipped, self._project_id(project), scope,
                          [(self._rel(p), reason[:500]) for p, reason in entries])

    @method()
    @guarded
    async def SetProjectState(self, project: "s", state: "s", reason: "s"):
        if state not in ("active", "missing"):
            raise errors.InvalidArgument(f"unknown project state {state!r}")
        pid = self._project_id(project)
        if await self.manager.store.write(self.manager.store.set_project_state, pid, state):
            level = logging.WARNING if state == "missing" else logging.INFO
            log.log(level, "project %s is %s: %s", pid, state, reason, extra={"project": pid})
            self.manager.files_changed()

    # ------------------------------------------------------------------ the repair worker
    @method()
    @guarded
    def RepairPaths(self, project: "s") -> "as":
        """Every path the index or the version store knows in the project (the worker adds disk's)."""
        return sorted(self.manager.store.repair_paths(self._project_id(project)))

    @method()
    @guarded
    async def ReconcileFiles(self, project: "s", entries: "a(sbxxay)") -> "a(ss)":
        """A batch checked against disk: (path, on disk, size, mtime_ns, sha256). The owner applies
        the repair rule; what needs no content is done here, in one transaction; the reply
        names the files the worker must read, parse and send with RepairFiles."""
        pid = self._project_id(project)
        if self.manager.repairs.running is not None:
            raise errors.Busy("a repair is running")
        watcher = self.manager.reports.get("watcher")
        if watcher and watcher.counters.get("pending", 0) > 0 and time.monotonic() - watcher.at < WATCHER_FRESH:
            # The watcher is indexing: what looks stale now is in its queue; checking it twice wastes work.
            raise errors.Busy("the watcher is indexing")
        store = self.manager.store
        disk_state = {self._rel(p): OnDisk(size, mtime, bytes(sha)) for p, present, size, mtime, sha in entries
                      if present}
        every = [self._rel(p) for p, *_ in entries]
        facts = store.repair_facts(pid, every)
        actions = [a for path in every for a in classify(path, disk_state.get(path), *facts[path])]
        now = [(a.path, a.action) for a in actions if a.action not in NEEDS_CONTENT]
        if now:
            await store.write(store.apply_repair, pid, now, disk_state, {})
            log.info("repair worker: %s", ", ".join(f"{a} {p}" for p, a in now[:20]) + ("..." if len(now) > 20 else ""),
                     extra={"project": pid})
            self.manager.files_changed()
        return [[a.path, a.action] for a in actions if a.action in NEEDS_CONTENT]

    @method()
    @guarded
    async def RepairFiles(self, project: "s", files: "a(sxxays)") -> "u":
        """Like IndexFiles, for files the repair worker found stale: recorded with reason 'repaired'."""
        return await self._index(project, files, "repaired")

    # ------------------------------------------------------------------ the vectorizer
    @method()
    @guarded
    async def RegisterModel(self, name: "s", dim: "u") -> "(ut)":
        """The model the vectorizer embeds with: (its id, vectors stored of it). A new model
        is embedded into from scratch, the others' vectors kept until it is complete."""
        if not name or len(name) > 200 or not 0 < dim <= 8192:
            raise errors.InvalidArgument("a model needs a name (at most 200 characters) and 1-8192 dimensions")
        store = self.manager.store
        found, new = await store.write(store.register_model, name, dim)
        if new:
            log.info("embedding model %s (%d dimensions) is new: every chunk is embedded again; the vectors of "
                     "earlier models are kept until it is complete", name, dim, extra={"model": name})
        return [found.id, store.vector_count(found.id)]

    def _model(self, model_id: int) -> vectors.Model:
        try:
            return vectors.model(self.manager.store.reader, model_id)
        except LookupError:
            raise errors.NotFound(f"no embedding model {model_id}; RegisterModel first") from None

    @method()
    @guarded
    def PendingChunks(self, model: "u", after: "t", limit: "u") -> "(a(ays)t)":
        """Up to ``limit`` chunks after chunk id ``after`` that lack a vector of the model:
        (key, text), and where to continue (0: from the start)."""
        self._model(model)
        if self.manager.repairs.running is not None:
            raise errors.Busy("a repair is running")
        found, next_after = self.manager.store.pending_chunks(model, after, min(limit, 1000))
        return [[[key, text] for key, text in found], next_after]

    @method()
    @guarded
    async def StoreVectors(self, model: "u", items: "a(ayay)") -> "a(tay)":
        """(key, float32 vector) pairs, one transaction; returns (id, key) of those stored now
        (a key the model already has is left alone: a restart never duplicates a vector)."""
        self._model(model)
        store = self.manager.store
        try:
            stored = await store.write(store.store_vectors, model, [(bytes(k), bytes(v)) for k, v in items])
        except vectors.BadVector as exc:
            raise errors.InvalidArgument(str(exc)) from None
        if stored:
            self.manager.vectors_changed()
        return [[i, key] for i, key in stored]

    @method()
    @guarded
    def ModelVectors(self, model: "u", after: "t", limit: "u") -> "a(tayay)":
        """A page of the model's stored vectors, (id, key, float32 vector), ids after ``after``;
        at most 16 MB of them (a bus message is at most 32 MiB)."""
        found = self._model(model)
        most = max(1, MAX_VECTOR_PAGE // (found.dim * 4 + 64))
        return [[i, k, v] for i, k, v in self.manager.store.model_vectors(model, after, min(limit, most))]

    @method()
    @guarded
    async def FinishModel(self, model: "u") -> "(bt)":
        """Called when a pass found nothing pending: if so, the model is complete and the other
        models' vectors go. Returns (complete, vectors of the model)."""
        current = self._model(model)
        store = self.manager.store
        dropped = await store.write(store.finish_model, model)
        for old in dropped:
            log.info("embedding model %s is complete: dropped the vectors of %s", current.name, old.name,
                     extra={"model": current.name})
        return [self._model(model).complete is not None, store.vector_count(model)]

    @staticmethod
    def _rel(path: str) -> str:
        # Workers send root-relative POSIX paths; the same rule as for any path from the bus.
        if path.startswith("/") or ".." in path.split("/") or "\0" in path or not path:
            raise errors.InvalidArgument(f"bad relative path {path!r}")
        return path


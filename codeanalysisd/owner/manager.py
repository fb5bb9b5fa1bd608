"""The public bus interface org.codeanalysis1.Manager and the worker-facing org.codeanalysis1.Worker.

(No ``from __future__ import annotations`` here: dbus-fast reads the D-Bus signatures
from the annotations at class creation.)
"""

import asyncio
import functools
import inspect
import logging
import time
from dataclasses import dataclass, field

from dbus_fast import DBusError, Variant
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

from codeanalysisd import __version__, paths
from codeanalysisd.bus import errors
from codeanalysisd.db import indexing, queries
from codeanalysisd.db.store import RootTaken, Store, UnknownProject
from codeanalysisd.index import wire
from codeanalysisd.names import MANAGER_INTERFACE, OWNER_UNIT, WORKER_INTERFACE, WORKER_UNITS
from codeanalysisd.owner.systemd_units import JobFailed, SystemdUnits

log = logging.getLogger("codeanalysisd.owner")

_COUNTERS = ("pending", "done", "errors")
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
KINDS = ("class", "function", "async_function", "method", "async_method")


def _limit(limit: int) -> int:
    return DEFAULT_LIMIT if limit == 0 else min(int(limit), MAX_LIMIT)


def guarded(handler):
    """Turn an unexpected exception into a named error the caller can act on, and log it.

    Without this, dbus-fast answers with its own generic error name and only the exception's
    class name, and the service's journal says nothing.
    """

    def failed(exc: Exception) -> errors.Failed:
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
    def __init__(self, store: Store, units: SystemdUnits, on_change) -> None:
        super().__init__(MANAGER_INTERFACE)
        self.store = store
        self.units = units
        self.reports: dict[str, WorkerReport] = {}
        self.calls = 0
        self._on_change = on_change

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

    def _changed(self) -> None:
        self.emit_properties_changed(
            {"Projects": len(self.store.list_projects()), "FilesIndexed": self.store.files_indexed()}
        )
        self._on_change()

    def files_changed(self) -> None:
        self.emit_properties_changed({"FilesIndexed": self.store.files_indexed()})
        self._on_change()

    # ----------------------------------------------------------------- projects
    @method()
    @guarded
    def AddProject(self, root: "s") -> "s":
        self.calls += 1
        try:
            canonical = paths.project_root(root)
        except paths.PathRejected as exc:
            log.log(25, "AddProject refused: %s", exc, extra={"path": root})
            raise errors.InvalidArgument(str(exc)) from None
        try:
            project = self.store.add_project(canonical, paths.roots_overlap)
        except RootTaken as exc:
            raise errors.Exists(str(exc)) from None
        log.info("registered project %s at %s", project.id, project.root,
                 extra={"project": project.id, "path": project.root})
        self._changed()
        return project.id

    @method()
    @guarded
    def RemoveProject(self, project: "s"):
        self.calls += 1
        found = self._project(project)
        self.store.remove_project(found.id)
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
        states = await asyncio.gather(*(self.units.unit_state(unit) for _, unit in units), return_exceptions=True)
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
        self.calls += 1
        found = self._project(project)
        rel = self._relpath(found, path)
        if version not in ("", "current"):
            raise errors.NotFound(f"no version {version!r} of {rel}: only the current content is kept so far")
        try:
            data, state, problems = self.store.file_source(found.id, rel)
        except LookupError:
            raise errors.NotFound(f"{rel} is not a file of project {found.id!r}") from None
        if data is None:
            raise errors.NotFound(f"no stored source for {rel}: {problems or state}")
        return data

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
    def IndexFiles(self, project: "s", files: "a(sxxays)") -> "u":
        """Whole files, each (path, size, mtime_ns, source, facts JSON); the batch is one transaction."""
        pid = self._project_id(project)
        try:
            updates = [indexing.FileUpdate(self._rel(path), size, mtime, bytes(source), wire.decode(facts))
                       for path, size, mtime, source, facts in files]
        except wire.BadFacts as exc:
            raise errors.InvalidArgument(str(exc)) from None
        count = self.manager.store.index_files(pid, updates)
        self.manager.files_changed()
        return count

    @method()
    @guarded
    def RemoveFiles(self, project: "s", relpaths: "as") -> "u":
        count = self.manager.store.mark_deleted(self._project_id(project), [self._rel(p) for p in relpaths])
        self.manager.files_changed()
        return count

    @method()
    @guarded
    def MoveFile(self, project: "s", old: "s", new: "s", size: "x", mtime_ns: "x") -> "b":
        moved = self.manager.store.move_file(self._project_id(project), self._rel(old), self._rel(new), size, mtime_ns)
        self.manager.files_changed()
        return moved

    @method()
    @guarded
    def TouchFiles(self, project: "s", stats: "a(sxx)"):
        self.manager.store.touch_files(self._project_id(project), [(self._rel(p), s, m) for p, s, m in stats])

    @method()
    @guarded
    def SyntaxPending(self, project: "s", limit: "u") -> "a(say)":
        return [[path, sha] for path, sha in self.manager.store.syntax_pending(self._project_id(project), limit)]

    @method()
    @guarded
    def RecordSyntax(self, project: "s", verdicts: "a(says)") -> "u":
        """(path, sha256 the verdict was made on, verdict): 'exact' or why the tree differs."""
        return self.manager.store.record_syntax(
            self._project_id(project), [(self._rel(p), bytes(sha), v[:500]) for p, sha, v in verdicts])

    @method()
    @guarded
    def SetSkipped(self, project: "s", scope: "s", entries: "a(ss)"):
        """Paths at and below scope ("" = all) that are not followed, each with its reason."""
        if scope:
            scope = self._rel(scope)
        self.manager.store.set_skipped(self._project_id(project), scope,
                                       [(self._rel(p), reason[:500]) for p, reason in entries])

    @method()
    @guarded
    def SetProjectState(self, project: "s", state: "s", reason: "s"):
        if state not in ("active", "missing"):
            raise errors.InvalidArgument(f"unknown project state {state!r}")
        pid = self._project_id(project)
        if self.manager.store.set_project_state(pid, state):
            level = logging.WARNING if state == "missing" else logging.INFO
            log.log(level, "project %s is %s: %s", pid, state, reason, extra={"project": pid})
            self.manager.files_changed()

    @staticmethod
    def _rel(path: str) -> str:
        # Workers send root-relative POSIX paths; the same rule as for any path from the bus.
        if path.startswith("/") or ".." in path.split("/") or "\0" in path or not path:
            raise errors.InvalidArgument(f"bad relative path {path!r}")
        return path


"""org.codeanalysis1.Manager: the public bus face. Adapters only: arguments in, the core's
answer out, every exception answered by the guard's table.

Arguments and replies are annotated with ``bus/api.py``'s aliases: the Python type and,
for dbus-fast, the D-Bus signature.
"""

from dataclasses import astuple
from typing import Any

from dbus_fast import Variant
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

from codeanalysisd import __version__
from codeanalysisd.bus import api
from codeanalysisd.names import MANAGER_INTERFACE
from codeanalysisd.owner import freshness, lookup, projects, repair_worker, restore, structure
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.guard import guarded
from codeanalysisd.owner.repair import Outcome, repair_project
from codeanalysisd.owner.worker_control import WorkerControl


def _repair_reply(project_id: str, dry_run: bool, restore_missing: bool, outcome: Outcome) -> dict[str, Variant]:
    return {
        "project": Variant("s", project_id),
        "dry_run": Variant("b", dry_run),
        "restore_missing": Variant("b", restore_missing),
        "checked": Variant("u", outcome.checked),
        "actions": Variant(api.REPAIR_ACTIONS, [[a.path, a.case, a.action, a.detail] for a in outcome.actions]),
        "stopped": Variant("as", outcome.stopped),
        "restarted": Variant("as", outcome.restarted),
        "failed": Variant("s", outcome.failed),
        "seconds": Variant("d", outcome.seconds),
        # the files the caller writes back (RestoreFile, then RecordRestore): (path, version)
        "restore": Variant(api.TO_RESTORE, [[path, n] for path, n in outcome.restore]),
    }


class Manager(ServiceInterface):
    def __init__(self, core: OwnerCore) -> None:
        super().__init__(MANAGER_INTERFACE)
        self.core = core
        self.guard = core.guard
        self.workers = WorkerControl(core.units, core.reports)
        core.on_change(self._announce)

    def count_call(self) -> None:
        self.core.calls += 1

    # ChunksPending is announced as invalidated, not with its value: counting it is a query
    # over every chunk, and only a client that wants the number should pay for it.
    def _announce(self, what: Change) -> None:
        changed: dict[str, Any] = {}
        if what is Change.PROJECTS:
            changed["Projects"] = self.core.store.reads.projects.count()
        if what is not Change.VECTORS:
            changed["FilesIndexed"] = self.core.store.reads.files.live_count()
        self.emit_properties_changed(changed, ["ChunksPending"])

    # ----------------------------------------------------------------- projects
    @method()
    @guarded
    async def AddProject(self, root: api.Str) -> api.Str:
        return (await projects.add(self.core, await self.core.view(), root)).id

    @method()
    @guarded
    async def RemoveProject(self, project: api.Str) -> None:
        await projects.remove(self.core, await self.core.view(), project)

    @method()
    @guarded
    async def ListProjects(self, offset: api.UInt32, limit: api.UInt32) -> api.Projects:
        """The projects the caller may see, by creation then id: ``offset`` of them skipped, at
        most ``limit`` (0: api.LIST_PAGE, never more) sent; a shorter page is the last."""
        return [(p.id, p.name, p.root, p.file_count, p.state)
                for p in await projects.listed(self.core, await self.core.view(), offset, limit)]

    # ----------------------------------------------------------------- workers
    @method()
    @guarded
    async def WorkerStatus(self) -> api.WorkerRows:
        rows = await self.workers.status(self.core.calls, self.core.config.parser_units)
        shown = await repair_worker.shown_schedule_project(self.core, await self.core.view())
        schedule = repair_worker.describe(self.core.repair_schedule, repair_worker.configured(self.core), shown)
        for row in rows:
            if row["name"].value == repair_worker.NAME:
                row["schedule"] = Variant("s", schedule)
        return rows

    @method()
    @guarded
    async def StartWorker(self, name: api.Str) -> None:
        self.core.administer(await self.core.view(), "starting a worker")
        await self.workers.control("start", name)

    @method()
    @guarded
    async def StopWorker(self, name: api.Str) -> None:
        self.core.administer(await self.core.view(), "stopping a worker")
        await self.workers.control("stop", name)

    @method()
    @guarded
    async def RestartWorker(self, name: api.Str) -> None:
        self.core.administer(await self.core.view(), "restarting a worker")
        await self.workers.control("restart", name)

    @method()
    @guarded
    async def StartRepairWorker(self, project: api.Str, batch_size: api.UInt32, poll_interval: api.Double
                                ) -> api.Report:
        """Start the repair worker (through systemd) on a schedule of its own: one project or
        all (""), files per batch and seconds between batches (0: the configured value). The
        schedule holds until the next StartRepairWorker or a restart of the owner; a running
        worker follows it from its next round. Root and the admin group only."""
        return await repair_worker.start(self.core, self.workers, await self.core.view(), project, batch_size,
                                         poll_interval)

    @method()
    @guarded
    async def StopRepairWorker(self, timeout: api.Double, force: api.Bool) -> api.Report:
        """Stop the repair worker through systemd, waiting up to ``timeout`` seconds; past it,
        with ``force``, kill it (SIGKILL through systemd). ``result``: stopped, killed or
        still-stopping. Root and the admin group only."""
        return await repair_worker.stop(self.core, self.workers, await self.core.view(), timeout, force)

    @method()
    @guarded
    async def RepairWorkerStatus(self, project: api.Str) -> api.Report:
        """The repair worker's unit, schedule and cycle, and per project ("" = every project
        the caller may see) the files it checked and repaired and its last action."""
        return await repair_worker.status(self.core, await self.core.view(), project)

    # ----------------------------------------------------------------- queries
    @method()
    @guarded
    async def Search(self, query: api.Str, project: api.Str, limit: api.UInt32) -> api.Hits:
        return [(h.project, h.path, h.line, h.symbol, h.snippet, h.score)
                for h in await lookup.search(self.core, await self.core.view(), query, project, limit)]

    @method()
    @guarded
    async def SemanticSearch(self, query: api.Str, project: api.Str, limit: api.UInt32) -> api.Matches:
        """The definitions nearest to a description in words, one row each, placed by their best
        chunk: (project, path, symbol, first line, last line of that chunk, its score, its first line)."""
        found = await lookup.nearest(self.core, await self.core.view(), query, project, limit, hybrid=False)
        return [(m.project, m.path, m.symbol, m.line, m.end_line, m.score, m.snippet) for m in found]

    @method()
    @guarded
    async def HybridSearch(self, query: api.Str, project: api.Str, limit: api.UInt32) -> api.Matches:
        """Full text and semantic search fused by reciprocal rank; same rows as
        SemanticSearch, the score being the fused one."""
        found = await lookup.nearest(self.core, await self.core.view(), query, project, limit, hybrid=True)
        return [(m.project, m.path, m.symbol, m.line, m.end_line, m.score, m.snippet) for m in found]

    @method()
    @guarded
    async def FindSymbol(self, name: api.Str, project: api.Str, kind: api.Str, limit: api.UInt32) -> api.Symbols:
        found = await lookup.find_symbol(self.core, await self.core.view(), name, project, kind, limit)
        return [(s.project, s.path, s.qualname, s.kind, s.line, s.column, s.end_line, s.signature, s.docstring)
                for s in found]

    @method()
    @guarded
    async def FindReferences(self, name: api.Str, project: api.Str, limit: api.UInt32) -> api.Usages:
        found = await lookup.find_references(self.core, await self.core.view(), name, project, limit)
        return [(u.project, u.path, u.name, u.kind, u.scope, u.line, u.column) for u in found]

    @method()
    @guarded
    async def GetFileSource(self, project: api.Str, path: api.Str, version: api.Str) -> api.Bytes:
        """The exact bytes of a file: its current (or, if deleted, last) content for version
        "" or "current", else the version named by number or sha256 prefix."""
        return await lookup.file_source(self.core, await self.core.view(), project, path, version)

    @method()
    @guarded
    async def ListVersions(self, project: api.Str, path: api.Str) -> api.Versions:
        """The local history of one file, oldest first: (number, sha256, time, size, reason,
        present after it, the other path of a move)."""
        *_, versions = await lookup.file_history(self.core, await self.core.view(), project, path)
        return [(v.n, v.sha256.hex(), v.at, max(v.size, 0), v.reason, v.present, v.other_path) for v in versions]

    @method()
    @guarded
    async def RestoreFile(self, project: api.Str, path: api.Str, version: api.Str, overwrite: api.Bool
                          ) -> api.Report:
        """What to write to bring a version back (the project's owner and root only). The
        service writes nothing: the client writes the bytes as the caller, then calls
        RecordRestore. ``how`` says in words what to do."""
        plan = await restore.to_write(self.core, await self.core.view(), project, path, version, overwrite)
        return {"path": Variant("s", plan.path), "target": Variant("s", plan.target), "root": Variant("s", plan.root),
                "root_dev": Variant("t", plan.root_dev), "root_ino": Variant("t", plan.root_ino),
                "version": Variant("u", plan.version), "sha256": Variant("s", plan.sha256),
                "content": Variant("ay", plan.content), "mode": Variant("u", plan.mode),
                "overwrite": Variant("b", plan.overwrite), "how": Variant("s", plan.how)}

    @method()
    @guarded
    async def RecordRestore(self, project: api.Str, path: api.Str, version: api.UInt32, mtime_ns: api.Int64,
                            replaced: api.Bool, replaced_content: api.Bytes, mode: api.UInt32) -> api.Report:
        """The client wrote ``version`` of ``path`` (its mtime now ``mtime_ns``, its permission
        bits ``mode``, 0 if not known) and, if ``replaced``, replaced ``replaced_content``:
        that becomes a version ('overwritten'), then the file is indexed as restored."""
        done = await restore.record(self.core, await self.core.view(), project, path, version, mtime_ns, replaced,
                                    bytes(replaced_content), mode)
        return {"path": Variant("s", done.path), "version": Variant("u", done.version),
                "replaced_version": Variant("u", done.replaced_version)}

    # ----------------------------------------------------------------- repair and integrity
    @method()
    @guarded
    async def Repair(self, project: api.Str, dry_run: api.Bool) -> api.Report:
        """Bring the project's index and history in line with disk (see README, Repair)."""
        project_id, outcome = await repair_project(self.core, await self.core.view(), project, dry_run, False)
        return _repair_reply(project_id, dry_run, False, outcome)

    @method()
    @guarded
    async def RepairAndRestore(self, project: api.Str, dry_run: api.Bool) -> api.Report:
        """Repair, and list in ``restore`` (path, version) every file the index held as present
        that is gone from disk, for the caller to write back (RestoreFile, RecordRestore)."""
        project_id, outcome = await repair_project(self.core, await self.core.view(), project, dry_run, True)
        return _repair_reply(project_id, dry_run, True, outcome)

    @method()
    @guarded
    async def CheckIntegrity(self) -> api.Report:
        """PRAGMA integrity_check of the index and the history, one at a time (concurrent
        callers share it). A corrupt file makes the owner restart, move it aside and rebuild."""
        self.core.administer(await self.core.view(), "checking the databases")
        problems, seconds = await self.core.check_integrity()
        return {"ok": Variant("b", not any(problems.values())), "seconds": Variant("d", seconds),
                **{name: Variant("as", found[:100]) for name, found in problems.items()}}

    @method()
    @guarded
    async def ListProblems(self, project: api.Str, offset: api.UInt32, limit: api.UInt32) -> api.Problems:
        """Files with problems the caller may see, by project and path, paged as ListProjects;
        each file's reasons are cut at lookup.MAX_PROBLEM_TEXT characters."""
        return await lookup.problems(self.core, await self.core.view(), project, offset, limit)

    # ----------------------------------------------------------------- structure
    # Worked out from the files' facts when asked (owner/structure.py); a reply cut at its
    # bound ends with a row whose first field is "", its first number how many were left out.
    @method()
    @guarded
    async def Outline(self, project: api.Str, path: api.Str) -> api.OutlineRows:
        """A file's definitions in source order: (qualified name in the file, kind, line, end
        line, depth of nesting, signature: a function's parameters, a class's bases)."""
        rows, more = await structure.outline(self.core, await self.core.view(), project, path)
        out = [(r.qualname, r.kind, r.line, r.end_line, r.depth, r.signature) for r in rows]
        if more:
            out.append(("", "more", more, 0, 0, structure.more_text(more, "definitions")))
        return out

    @method()
    @guarded
    async def Imports(self, project: api.Str, module: api.Str, direction: api.Str, depth: api.UInt32
                      ) -> api.ImportRows:
        """``out``: what the module (a dotted name or a path) imports; ``in``: who imports it.
        ``depth`` 1: directly; n: up to n steps; 0: all. Rows (importer, imported, importer's
        path, line), breadth first."""
        rows, more = await structure.imports(self.core, await self.core.view(), project, module, direction, depth)
        out = [(r.importer, r.imported, r.path, r.line) for r in rows]
        if more:
            out.append(("", "", structure.more_text(more, "imports"), more))
        return out

    @method()
    @guarded
    async def ImportChain(self, project: api.Str, importer: api.Str, imported: api.Str) -> api.StrList:
        """A shortest chain of imports from ``importer`` to ``imported``, both included; [] if none."""
        return await structure.import_chain(self.core, await self.core.view(), project, importer, imported)

    @method()
    @guarded
    async def ClassHierarchy(self, project: api.Str, name: api.Str, direction: api.Str) -> api.ClassRows:
        """``up``: the class's bases, ``down``: its subclasses, transitively, breadth first from
        the class itself (depth 0): (qualified class, module, path, line, depth). A base outside
        the project has no path; one that could not be followed is "?"."""
        rows, more = await structure.class_hierarchy(self.core, await self.core.view(), project, name, direction)
        out = [(r.name, r.module, r.path, r.line, r.depth) for r in rows]
        if more:
            out.append(("", "", structure.more_text(more, "classes"), more, 0))
        return out

    @method()
    @guarded
    async def CallGraph(self, project: api.Str, symbol: api.Str, direction: api.Str, depth: api.UInt32
                        ) -> api.CallRows:
        """Calls of (``callers``), from (``callees``) or both of a function, method or class by
        qualified name: (caller, callee, path of the call, enclosing symbol in that file, line,
        ``resolved`` or ``name``). ``depth`` as for Imports."""
        rows, more = await structure.call_graph(self.core, await self.core.view(), project, symbol, direction,
                                                depth)
        out = [(r.caller, r.callee, r.path, r.scope, r.line, r.resolution) for r in rows]
        if more:
            out.append(("", "", "", structure.more_text(more, "calls"), more, "more"))
        return out

    @method()
    @guarded
    async def FindUsages(self, target: api.Str, project: api.Str, limit: api.UInt32) -> api.UsageRows:
        """The uses of a qualified name (in one project, or "" every one the caller sees):
        (project, path, enclosing symbol, kind, text as written, line, column, ``resolved`` or
        ``name``). ``limit`` 0: 100, at most 1,000; more rows end with a ``more`` row."""
        rows, more = await structure.find_usages(self.core, await self.core.view(), target, project, limit)
        out = [(u.project, u.row.path, u.row.scope, u.row.kind, u.row.text, u.row.line, u.row.column,
                u.row.resolution) for u in rows]
        if more:
            out.append(("", "", "", "more", structure.more_text(more, "uses", "; ask with a larger limit"), more,
                        0, "more"))
        return out

    @method()
    @guarded
    async def IndexStatus(self, project: api.Str) -> api.Freshness:
        """Whether the index of a project (id or root; "" = every project the caller may see)
        says what is on disk now: (project, files indexed, paths changed on disk and not
        indexed yet, last change seen (unix time, 0 = none), stale, why)."""
        return [astuple(row) for row in await freshness.index_status(self.core, await self.core.view(), project)]

    @method()
    @guarded
    async def IndexProgress(self, project: api.Str) -> api.Progress:
        """How far the watcher is with a project (id or root; "" = every project the caller may
        see): (project, phase: waiting, scanning, indexing, ready or stale, files sent and files
        in all of its current work (0: not counted yet), files indexed, why in words)."""
        return [astuple(row) for row in await freshness.index_progress(self.core, await self.core.view(), project)]

    # ----------------------------------------------------------------- properties
    @dbus_property(access=PropertyAccess.READ)
    def Version(self) -> api.Str:
        return __version__

    @dbus_property(access=PropertyAccess.READ)
    def Projects(self) -> api.UInt32:
        return self.core.store.reads.projects.count()

    @dbus_property(access=PropertyAccess.READ)
    def FilesIndexed(self) -> api.UInt64:
        return self.core.store.reads.files.live_count()

    @dbus_property(access=PropertyAccess.READ)
    def DatabaseBytes(self) -> api.UInt64:
        return self.core.store.database_bytes()

    @dbus_property(access=PropertyAccess.READ)
    def SyntaxPending(self) -> api.UInt64:
        return self.core.store.reads.files.syntax_pending_count()

    @dbus_property(access=PropertyAccess.READ)
    def SchemaVersion(self) -> api.UInt32:
        return self.core.store.schema_version

    @dbus_property(access=PropertyAccess.READ)
    def HistoryBytes(self) -> api.UInt64:
        return self.core.store.reads.history.stored_bytes()

    @dbus_property(access=PropertyAccess.READ)
    def Repairing(self) -> api.Str:
        return self.core.repairs.running or ""

    @dbus_property(access=PropertyAccess.READ)
    def ChunksPending(self) -> api.UInt64:
        """Distinct code chunks without a vector of the current model; PropertiesChanged
        names it invalidated whenever it may have changed."""
        return self.core.store.reads.vectors.pending_count()

    @dbus_property(access=PropertyAccess.READ)
    def EmbeddingModels(self) -> api.EmbeddingModels:
        """(model, dimension, complete, vectors) of every model with stored vectors, oldest first."""
        return [(m.name, m.dim, m.complete is not None, count) for m, count in self.core.store.reads.vectors.models()]

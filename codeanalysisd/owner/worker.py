"""org.codeanalysis1.Worker: the face the suite's own workers call. Adapters only.

The bus policy admits the service user (and root) to it and nobody else.
(No ``from __future__ import annotations``: dbus-fast reads the signatures from the annotations.)
"""

from dbus_fast.service import ServiceInterface, method

from codeanalysisd.bus import api
from codeanalysisd.names import WORKER_INTERFACE
from codeanalysisd.owner import embeddings, ingest
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.guard import guarded
from codeanalysisd.owner.repair import reconcile_batch
from codeanalysisd.repair.plan import OnDisk


class WorkerInterface(ServiceInterface):
    def __init__(self, core: OwnerCore) -> None:
        super().__init__(WORKER_INTERFACE)
        self.core = core
        self.guard = core.guard

    @method()
    @guarded
    def ReportProgress(self, worker: "s", state: "s", counters: api.COUNTERS):
        self.core.reports.record(worker, state, counters)

    @method()
    @guarded
    def FileStates(self, project: "s") -> api.FILE_STATES:
        return [[f.path, f.size, f.mtime_ns, f.sha256, f.state]
                for f in self.core.store.reads.files.states(self.core.project(project).id)]

    @method()
    @guarded
    async def IndexFiles(self, project: "s", files: api.FILE_BATCH) -> "u":
        """Whole files, each (path, size, mtime_ns, source, facts JSON); the batch is one transaction."""
        return await ingest.index_files(self.core, project, [(p, s, m, bytes(b), f) for p, s, m, b, f in files], None)

    @method()
    @guarded
    async def RemoveFiles(self, project: "s", relpaths: "as") -> "u":
        return await ingest.remove_files(self.core, project, relpaths)

    @method()
    @guarded
    async def MoveFile(self, project: "s", old: "s", new: "s", size: "x", mtime_ns: "x") -> "b":
        return await ingest.move_file(self.core, project, old, new, size, mtime_ns)

    @method()
    @guarded
    async def TouchFiles(self, project: "s", stats: api.STATS):
        await ingest.touch_files(self.core, project, [(p, s, m) for p, s, m in stats])

    @method()
    @guarded
    def SyntaxPending(self, project: "s", limit: "u") -> api.SYNTAX_PENDING:
        return [[path, sha] for path, sha in ingest.syntax_pending(self.core, project, limit)]

    @method()
    @guarded
    async def RecordSyntax(self, project: "s", verdicts: api.SYNTAX_VERDICTS) -> "u":
        """(path, sha256 the verdict was made on, verdict): 'exact' or why the tree differs."""
        return await ingest.record_syntax(self.core, project, [(p, bytes(sha), v) for p, sha, v in verdicts])

    @method()
    @guarded
    async def SetSkipped(self, project: "s", scope: "s", entries: api.SKIPPED):
        """Paths at and below scope ("" = all) that are not followed, each with its reason."""
        await ingest.set_skipped(self.core, project, scope, [(p, reason) for p, reason in entries])

    @method()
    @guarded
    async def SetProjectState(self, project: "s", state: "s", reason: "s"):
        await ingest.set_project_state(self.core, project, state, reason)

    # ------------------------------------------------------------------ the repair worker
    @method()
    @guarded
    def RepairPaths(self, project: "s") -> "as":
        """Every path the index or the version store knows in the project (the worker adds disk's)."""
        return sorted(self.core.store.reads.repair.paths(self.core.project(project).id))

    @method()
    @guarded
    async def ReconcileFiles(self, project: "s", entries: api.RECONCILE_ENTRIES) -> api.NEEDED:
        """A batch checked against disk: (path, on disk, size, mtime_ns, sha256). The owner applies
        the repair rule; what needs no content is done here, in one transaction; the reply
        names the files the worker must read, parse and send with RepairFiles."""
        checked = [(ingest.rel(p), OnDisk(size, mtime, bytes(sha)) if present else None)
                   for p, present, size, mtime, sha in entries]
        needed = await reconcile_batch(self.core, self.core.project(project).id, checked)
        return [[a.path, a.action] for a in needed]

    @method()
    @guarded
    async def RepairFiles(self, project: "s", files: api.FILE_BATCH) -> "u":
        """Like IndexFiles, for files the repair worker found stale: recorded with reason 'repaired'."""
        return await ingest.index_files(self.core, project, [(p, s, m, bytes(b), f) for p, s, m, b, f in files],
                                        "repaired")

    # ------------------------------------------------------------------ the vectorizer
    @method()
    @guarded
    async def RegisterModel(self, name: "s", dim: "u") -> api.MODEL:
        """The model the vectorizer embeds with: (its id, vectors stored of it)."""
        return list(await embeddings.register_model(self.core, name, dim))

    @method()
    @guarded
    def PendingChunks(self, model: "u", after: "t", limit: "u") -> api.CHUNKS_PAGE:
        """Up to ``limit`` chunks after chunk id ``after`` that lack a vector of the model:
        (key, text), and where to continue (0: from the start)."""
        found, next_after = embeddings.pending_chunks(self.core, model, after, limit)
        return [[[key, text] for key, text in found], next_after]

    @method()
    @guarded
    async def StoreVectors(self, model: "u", items: api.VECTORS_IN) -> api.VECTORS_STORED:
        """(key, float32 vector) pairs, one transaction; returns (id, key) of those stored now."""
        stored = await embeddings.store_vectors(self.core, model, [(bytes(k), bytes(v)) for k, v in items])
        return [[i, key] for i, key in stored]

    @method()
    @guarded
    def ModelVectors(self, model: "u", after: "t", limit: "u") -> api.VECTORS_PAGE:
        """A page of the model's stored vectors, (id, key, float32 vector), ids after ``after``;
        at most 16 MB of them (a bus message is at most 32 MiB)."""
        return [[i, k, v] for i, k, v in embeddings.model_vectors(self.core, model, after, limit)]

    @method()
    @guarded
    async def FinishModel(self, model: "u") -> api.MODEL_DONE:
        """Called when a pass found nothing pending: if so, the model is complete and the other
        models' vectors go. Returns (complete, vectors of the model)."""
        return list(await embeddings.finish_model(self.core, model))

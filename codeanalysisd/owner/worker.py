"""org.codeanalysis1.Worker: the face the suite's own workers call. Adapters only.

The bus policy admits the service user (and root) to it and nobody else.
Arguments and replies are annotated with ``bus/api.py``'s aliases: the Python type and,
for dbus-fast, the D-Bus signature.
"""

from dataclasses import astuple

from dbus_fast.service import ServiceInterface, method, signal

from codeanalysisd.bus import api
from codeanalysisd.names import WORKER_INTERFACE
from codeanalysisd.owner import embeddings, freshness, ingest, lookup
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.guard import guarded
from codeanalysisd.owner.repair import reconcile_batch
from codeanalysisd.repair.plan import LEFT_TO_WATCHER, NEEDS_CONTENT, OnDisk


class WorkerInterface(ServiceInterface):
    def __init__(self, core: OwnerCore) -> None:
        super().__init__(WORKER_INTERFACE)
        self.core = core
        self.guard = core.guard
        core.on_repair_schedule(self.RepairScheduleChanged)
        core.syntax_claims.on_settled = self.VerificationSettled

    @method()
    @guarded
    def ReportProgress(self, worker: api.Str, state: api.Str, counters: api.Counters) -> None:
        self.core.reports.record(worker, state, counters)

    @method()
    @guarded
    def ReportPending(self, projects: api.Pending, read_to: api.Double) -> None:
        """The watcher's backlog, every project it follows: (project, paths changed on disk and
        not indexed yet, unix time it last saw a change there, 0 = none, whether its reconcile
        scan runs, files sent and files in all of its current work, whether that work is
        showing a large change's files ahead of their facts: then the two count files shown).
        Replaces the last.
        ``read_to`` (CLOCK_MONOTONIC seconds): by then it had read every inotify event, so a
        change on disk from before then is counted here or already in the index."""
        held_back = freshness.watcher_indexing(self.core)
        self.core.reports.record_backlog(projects, read_to)
        if held_back and not freshness.watcher_indexing(self.core):
            ingest.index_settled(self.core)
            self.IndexingSettled()

    @method()
    @guarded
    async def Projects(self, offset: api.UInt32, limit: api.UInt32) -> api.ProjectsFull:
        """A page of every project, whole: the roots' identities are what the workers check."""
        rows = await self.core.store.read(lambda r: lookup.paged(r.projects.list(), offset, limit))
        return [astuple(p) for p in rows]

    @method()
    @guarded
    def FileStates(self, project: api.Str) -> api.FileStates:
        return [(f.path, f.size, f.mtime_ns, f.sha256, f.state)
                for f in self.core.store.reads.files.states(self.core.project(project).id)]

    @method()
    @guarded
    async def IndexFiles(self, project: api.Str, files: api.FileBatch) -> api.UInt32:
        """Whole files, each (path, size, mtime_ns, source, facts JSON, mode); the batch is one transaction."""
        return await ingest.index_files(self.core, project, [(p, s, m, bytes(b), f, o) for p, s, m, b, f, o in files],
                                        None)

    @method()
    @guarded
    async def ShowFiles(self, project: api.Str, files: api.FileBatch) -> api.UInt32:
        """Saved files to show ahead of the rest of their facts, which IndexFiles brings next:
        as there, each facts JSON holding the definitions alone; one transaction."""
        return await ingest.show_files(self.core, project, [(p, s, m, bytes(b), f, o) for p, s, m, b, f, o in files])

    @method()
    @guarded
    async def RemoveFiles(self, project: api.Str, relpaths: api.StrList) -> api.UInt32:
        return await ingest.remove_files(self.core, project, relpaths)

    @method()
    @guarded
    async def MoveFile(self, project: api.Str, old: api.Str, new: api.Str, size: api.Int64,
                       mtime_ns: api.Int64) -> api.Bool:
        return await ingest.move_file(self.core, project, old, new, size, mtime_ns)

    @method()
    @guarded
    async def TouchFiles(self, project: api.Str, stats: api.Stats) -> None:
        await ingest.touch_files(self.core, project, [(p, s, m) for p, s, m in stats])

    @method()
    @guarded
    def SyntaxToVerify(self, project: api.Str, limit: api.UInt32, claimant: api.Str) -> api.SyntaxToVerify:
        """Files for the parser unit ``claimant`` to verify, held for it alone (owner/parsers.py):
        (path, sha256, its syntax nodes as the indexer counted them, 0 if it did not)."""
        return ingest.syntax_pending(self.core, project, limit, claimant)

    @method()
    @guarded
    def SyntaxPending(self, project: api.Str, limit: api.UInt32, claimant: api.Str) -> api.SyntaxPending:
        """SyntaxToVerify without the counts, for a parser unit of a release before them that
        has not been restarted since an upgrade."""
        return [(path, sha) for path, sha, _ in ingest.syntax_pending(self.core, project, limit, claimant)]

    @method()
    @guarded
    async def RecordSyntax(self, project: api.Str, verdicts: api.SyntaxVerdicts) -> api.UInt32:
        """(path, sha256 the verdict was made on, verdict): 'exact' or why the tree differs."""
        return await ingest.record_syntax(self.core, project, [(p, bytes(sha), v) for p, sha, v in verdicts])

    @method()
    @guarded
    async def SetSkipped(self, project: api.Str, scope: api.Str, entries: api.Skipped) -> None:
        """Paths at and below scope ("" = all) that are not followed, each with its reason."""
        await ingest.set_skipped(self.core, project, scope, [(p, reason) for p, reason in entries])

    @method()
    @guarded
    async def SetProjectState(self, project: api.Str, state: api.Str, reason: api.Str) -> None:
        await ingest.set_project_state(self.core, project, state, reason)

    # ------------------------------------------------------------------ the repair worker
    @method()
    @guarded
    def RepairPaths(self, project: api.Str) -> api.StrList:
        """Every path the index or the version store knows in the project (the worker adds disk's)."""
        return sorted(self.core.store.reads.repair.paths(self.core.project(project).id))

    @method()
    @guarded
    async def ReconcileFiles(self, project: api.Str, entries: api.ReconcileEntries,
                             looked_at: api.Double) -> api.BatchActions:
        """A batch checked against disk: (path, on disk, size, mtime_ns, sha256), read from
        ``looked_at`` on (CLOCK_MONOTONIC seconds). The owner applies the repair rule; what needs
        no content is done here, in one transaction. The reply is every action, (path, action):
        those that need content (repair.plan.NEEDS_CONTENT) name the files the worker must read,
        parse and send with RepairFiles; the rest are done. While the watcher has the project,
        or has changed its index since ``looked_at`` (both asked once it has said that it read
        every change on disk up to this call, or has not said so within 2 s), each path is
        answered repair.plan.LEFT_TO_WATCHER."""
        checked = [(ingest.rel(p), OnDisk(size, mtime, bytes(sha)) if present else None)
                   for p, present, size, mtime, sha in entries]
        actions = await reconcile_batch(self.core, self.core.project(project).id, checked, looked_at,
                                        self.BacklogWanted)
        if any(action != LEFT_TO_WATCHER and action not in NEEDS_CONTENT for _, action in actions):
            self.IndexRepaired()
        return actions

    @method()
    @guarded
    async def WatcherHas(self) -> api.StrList:
        """The projects whose changes are the watcher's to index now (it is starting, has not set
        them up, scans them or has paths of them queued): the repair worker leaves them be."""
        return sorted(await freshness.watcher_has(self.core, self.core.store.reads.projects.list()))

    @method()
    @guarded
    async def RepairFiles(self, project: api.Str, files: api.FileBatch) -> api.UInt32:
        """Like IndexFiles, for files the repair worker found stale: recorded with reason 'repaired'."""
        count = await ingest.index_files(self.core, project,
                                         [(p, s, m, bytes(b), f, o) for p, s, m, b, f, o in files], "repaired")
        if count:
            self.IndexRepaired()
        return count

    @signal()
    def IndexRepaired(self) -> None:
        """The repair worker changed the index (ReconcileFiles or RepairFiles did something):
        the watcher compares with the index anew instead of what it last knew of it. It
        carries nothing, so whoever may receive it learns nothing."""

    @signal()
    def IndexingSettled(self) -> None:
        """The watcher has nothing left to index or scan, by the report just made: the work
        that gives way to it (libcst verification, embedding) may go on now, not at the
        workers' next look (every ReportInterval when idle). It carries nothing, so whoever
        may receive it learns nothing."""

    @signal()
    def VerificationSettled(self) -> None:
        """No parser unit has a file left to verify, by the ask just answered (or the last
        verifying one left the bus): embedding, which gives way to verification, may go on
        now. It carries nothing, so whoever may receive it learns nothing."""

    @signal()
    def BacklogWanted(self) -> None:
        """The owner wants a backlog report (ReportPending) made after the watcher has read
        every inotify event so far: a look at disk the repair worker made is weighed against
        it. It carries nothing, so whoever may receive it learns nothing."""

    @method()
    @guarded
    def RepairSchedule(self) -> api.RepairSchedule:
        """The schedule StartRepairWorker set: (project, "" for all; files per batch; seconds
        between batches), 0 standing for the worker's configured [Repair] value."""
        schedule = self.core.repair_schedule
        return (schedule.project, schedule.batch_size, schedule.poll_interval)

    @signal()
    def RepairScheduleChanged(self) -> None:
        """StartRepairWorker set a schedule: the repair worker asks for it without waiting out
        its current interval. It carries nothing, so whoever may receive it learns nothing."""

    @method()
    @guarded
    def ReportRepair(self, cycle: api.UInt32, files: api.UInt32, done: api.UInt32, repaired: api.UInt32,
                     configured: api.RepairConfigured, projects: api.RepairProjects) -> None:
        """The repair worker's cycle (its number, files in it, checked so far, repaired), what
        0 stands for in it (its configured files per batch and seconds between batches) and,
        per project since it started: files checked, repaired, the last action, its path, when."""
        batch_size, poll_interval = configured
        self.core.reports.record_repair(cycle, files, done, repaired, (batch_size, poll_interval), projects)

    # ------------------------------------------------------------------ the vectorizer
    @method()
    @guarded
    async def RegisterModel(self, name: api.Str, dim: api.UInt32) -> api.Model:
        """The model the vectorizer embeds with: (its id, vectors stored of it)."""
        return await embeddings.register_model(self.core, name, dim)

    @method()
    @guarded
    def PendingChunks(self, model: api.UInt32, after: api.UInt64, limit: api.UInt32) -> api.ChunksPage:
        """Up to ``limit`` chunks after chunk id ``after`` that lack a vector of the model:
        (key, text), and where to continue (0: from the start)."""
        return embeddings.pending_chunks(self.core, model, after, limit)

    @method()
    @guarded
    async def StoreVectors(self, model: api.UInt32, items: api.VectorsIn) -> api.VectorsStored:
        """(key, float32 vector) pairs, one transaction; returns (id, key) of those stored now."""
        return await embeddings.store_vectors(self.core, model, [(bytes(k), bytes(v)) for k, v in items])

    @method()
    @guarded
    def ModelVectors(self, model: api.UInt32, after: api.UInt64, limit: api.UInt32) -> api.VectorsPage:
        """A page of the model's stored vectors, (id, key, float32 vector), ids after ``after``;
        at most 16 MB of them (a bus message is at most 32 MiB)."""
        return embeddings.model_vectors(self.core, model, after, limit)

    @method()
    @guarded
    async def FinishModel(self, model: api.UInt32) -> api.ModelDone:
        """Called when a pass found nothing pending: if so, the model is complete and the other
        models' vectors go. Returns (complete, vectors of the model)."""
        return await embeddings.finish_model(self.core, model)

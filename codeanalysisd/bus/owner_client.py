"""The calls a worker makes to the DB owner over the bus: the one client of the Worker face."""

from __future__ import annotations

from typing import Any

from dbus_fast.aio import MessageBus

from codeanalysisd.bus import api
from codeanalysisd.bus.calls import call
from codeanalysisd.names import BUS_NAME, MANAGER_INTERFACE, OBJECT_PATH, WORKER_INTERFACE
from codeanalysisd.records import Counters, ProjectInfo


class OwnerClient:
    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    async def list_projects(self) -> list[ProjectInfo]:
        """Every project, whole (its root's identity too): page by page, until a page shorter than asked."""
        found: dict[str, ProjectInfo] = {}
        offset = 0
        while True:
            (rows,) = await self._worker("Projects", offset, api.LIST_PAGE)
            for row in rows:
                project = ProjectInfo(*row)
                found.setdefault(project.id, project)  # a project removed meanwhile shifts the rest back
            if len(rows) < api.LIST_PAGE:
                return list(found.values())
            offset += len(rows)

    async def _worker(self, member: str, *body: Any) -> list[Any]:
        return await call(self.bus, BUS_NAME, OBJECT_PATH, WORKER_INTERFACE, member, api.WORKER[member].args,
                          list(body))

    async def report_progress(self, worker: str, state: str, counters: Counters) -> None:
        await self._worker("ReportProgress", worker, state, counters.as_dict())

    async def report_pending(self, rows: list[api.PendingRow], read_to: float) -> None:
        await self._worker("ReportPending", [list(r) for r in rows], read_to)

    async def file_states(self, project: str) -> list[api.StateRow]:
        (rows,) = await self._worker("FileStates", project)
        return [(path, size, mtime, bytes(sha), state) for path, size, mtime, sha, state in rows]

    async def index_files(self, project: str, files: list[api.FileRow]) -> int:
        (count,) = await self._worker("IndexFiles", project, [list(f) for f in files])
        return count

    async def show_files(self, project: str, files: list[api.FileRow]) -> int:
        (count,) = await self._worker("ShowFiles", project, [list(f) for f in files])
        return count

    async def remove_files(self, project: str, paths: list[str]) -> int:
        (count,) = await self._worker("RemoveFiles", project, paths)
        return count

    async def move_file(self, project: str, old: str, new: str, size: int, mtime_ns: int) -> bool:
        (moved,) = await self._worker("MoveFile", project, old, new, size, mtime_ns)
        return moved

    async def touch_files(self, project: str, stats: list[tuple[str, int, int]]) -> None:
        await self._worker("TouchFiles", project, [list(s) for s in stats])

    async def syntax_to_verify(self, project: str, limit: int, claimant: str) -> list[tuple[str, bytes, int]]:
        """(path, sha256, syntax nodes as indexed, 0: not counted) of files for ``claimant`` to verify."""
        (rows,) = await self._worker("SyntaxToVerify", project, limit, claimant)
        return [(path, bytes(sha), nodes) for path, sha, nodes in rows]

    async def record_syntax(self, project: str, verdicts: list[tuple[str, bytes, str]]) -> int:
        (count,) = await self._worker("RecordSyntax", project, [list(v) for v in verdicts])
        return count

    async def set_skipped(self, project: str, scope: str, entries: list[tuple[str, str]]) -> None:
        await self._worker("SetSkipped", project, scope, [list(e) for e in entries])

    async def set_project_state(self, project: str, state: str, reason: str) -> None:
        await self._worker("SetProjectState", project, state, reason)

    async def repair_paths(self, project: str) -> list[str]:
        (paths,) = await self._worker("RepairPaths", project)
        return list(paths)

    async def reconcile_files(self, project: str, entries: list[tuple[str, bool, int, int, bytes]],
                              looked_at: float) -> list[tuple[str, str]]:
        """Every action the repair rule takes on the batch, (path, action); ``looked_at`` is when
        (time.monotonic()) its reading from disk began."""
        (actions,) = await self._worker("ReconcileFiles", project, [list(e) for e in entries], looked_at)
        return [(path, action) for path, action in actions]

    async def watcher_has(self) -> set[str]:
        """The projects the watcher is indexing (or about to scan): not the repair worker's now."""
        (projects,) = await self._worker("WatcherHas")
        return set(projects)

    async def repair_files(self, project: str, files: list[api.FileRow]) -> int:
        (count,) = await self._worker("RepairFiles", project, [list(f) for f in files])
        return count

    async def repair_schedule(self) -> tuple[str, int, float]:
        """(project or "" for all, files per batch, seconds between batches); 0: the configured value."""
        project, batch_size, poll_interval = await self._worker("RepairSchedule")
        return project, batch_size, poll_interval

    async def report_repair(self, cycle: int, files: int, done: int, repaired: int, configured: tuple[int, float],
                            projects: list[api.RepairProjectRow]) -> None:
        await self._worker("ReportRepair", cycle, files, done, repaired, list(configured), [list(p) for p in projects])

    # ------------------------------------------------------------------ the vectorizer
    async def register_model(self, name: str, dim: int) -> tuple[int, int]:
        """(model id, vectors stored of it)."""
        ((model, stored),) = await self._worker("RegisterModel", name, dim)
        return model, stored

    async def pending_chunks(self, model: int, after: int, limit: int) -> tuple[list[tuple[bytes, str]], int]:
        ((rows, next_after),) = await self._worker("PendingChunks", model, after, limit)
        return [(bytes(key), text) for key, text in rows], next_after

    async def store_vectors(self, model: int, items: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes]]:
        (rows,) = await self._worker("StoreVectors", model, [list(i) for i in items])
        return [(i, bytes(key)) for i, key in rows]

    async def model_vectors(self, model: int, after: int, limit: int) -> list[tuple[int, bytes, bytes]]:
        (rows,) = await self._worker("ModelVectors", model, after, limit)
        return [(i, bytes(key), bytes(vector)) for i, key, vector in rows]

    async def finish_model(self, model: int) -> tuple[bool, int]:
        ((complete, count),) = await self._worker("FinishModel", model)
        return complete, count

    async def chunks_pending(self) -> int:
        (value,) = await call(self.bus, BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Properties", "Get", "ss",
                              [MANAGER_INTERFACE, "ChunksPending"])
        return int(value.value)

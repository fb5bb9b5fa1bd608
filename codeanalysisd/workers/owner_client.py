"""The calls a worker makes to the DB owner over the bus."""

from __future__ import annotations

from dataclasses import dataclass

from dbus_fast.aio import MessageBus

from codeanalysisd.bus.calls import call
from codeanalysisd.names import BUS_NAME, MANAGER_INTERFACE, OBJECT_PATH, WORKER_INTERFACE


@dataclass(frozen=True)
class ProjectInfo:
    id: str
    name: str
    root: str
    file_count: int
    state: str


class OwnerClient:
    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    async def list_projects(self) -> list[ProjectInfo]:
        (rows,) = await call(self.bus, BUS_NAME, OBJECT_PATH, MANAGER_INTERFACE, "ListProjects")
        return [ProjectInfo(*row) for row in rows]

    async def report_progress(self, worker: str, state: str, counters: dict[str, int]) -> None:
        await self._worker("ReportProgress", "ssa{st}", worker, state, counters)

    async def _worker(self, member: str, signature: str, *body: object) -> list:
        return await call(self.bus, BUS_NAME, OBJECT_PATH, WORKER_INTERFACE, member, signature, list(body))

    async def file_states(self, project: str) -> list[tuple[str, int, int, bytes, str]]:
        (rows,) = await self._worker("FileStates", "s", project)
        return [(path, size, mtime, bytes(sha), state) for path, size, mtime, sha, state in rows]

    async def index_files(self, project: str, files: list[tuple[str, int, int, bytes, str]]) -> int:
        (count,) = await self._worker("IndexFiles", "sa(sxxays)", project, [list(f) for f in files])
        return count

    async def remove_files(self, project: str, paths: list[str]) -> int:
        (count,) = await self._worker("RemoveFiles", "sas", project, paths)
        return count

    async def move_file(self, project: str, old: str, new: str, size: int, mtime_ns: int) -> bool:
        (moved,) = await self._worker("MoveFile", "sssxx", project, old, new, size, mtime_ns)
        return moved

    async def touch_files(self, project: str, stats: list[tuple[str, int, int]]) -> None:
        await self._worker("TouchFiles", "sa(sxx)", project, [list(s) for s in stats])

    async def syntax_pending(self, project: str, limit: int) -> list[tuple[str, bytes]]:
        (rows,) = await self._worker("SyntaxPending", "su", project, limit)
        return [(path, bytes(sha)) for path, sha in rows]

    async def record_syntax(self, project: str, verdicts: list[tuple[str, bytes, str]]) -> int:
        (count,) = await self._worker("RecordSyntax", "sa(says)", project, [list(v) for v in verdicts])
        return count

    async def set_skipped(self, project: str, scope: str, entries: list[tuple[str, str]]) -> None:
        await self._worker("SetSkipped", "ssa(ss)", project, scope, [list(e) for e in entries])

    async def set_project_state(self, project: str, state: str, reason: str) -> None:
        await self._worker("SetProjectState", "sss", project, state, reason)

    async def repair_paths(self, project: str) -> list[str]:
        (paths,) = await self._worker("RepairPaths", "s", project)
        return list(paths)

    async def reconcile_files(self, project: str, entries: list[tuple[str, bool, int, int, bytes]]
                              ) -> list[tuple[str, str]]:
        (needed,) = await self._worker("ReconcileFiles", "sa(sbxxay)", project, [list(e) for e in entries])
        return [(path, action) for path, action in needed]

    async def repair_files(self, project: str, files: list[tuple[str, int, int, bytes, str]]) -> int:
        (count,) = await self._worker("RepairFiles", "sa(sxxays)", project, [list(f) for f in files])
        return count

    # ------------------------------------------------------------------ the vectorizer
    async def register_model(self, name: str, dim: int) -> tuple[int, int]:
        """(model id, vectors stored of it)."""
        ((model, stored),) = await self._worker("RegisterModel", "su", name, dim)
        return model, stored

    async def pending_chunks(self, model: int, after: int, limit: int) -> tuple[list[tuple[bytes, str]], int]:
        ((rows, next_after),) = await self._worker("PendingChunks", "utu", model, after, limit)
        return [(bytes(key), text) for key, text in rows], next_after

    async def store_vectors(self, model: int, items: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes]]:
        (rows,) = await self._worker("StoreVectors", "ua(ayay)", model, [list(i) for i in items])
        return [(i, bytes(key)) for i, key in rows]

    async def model_vectors(self, model: int, after: int, limit: int) -> list[tuple[int, bytes, bytes]]:
        (rows,) = await self._worker("ModelVectors", "utu", model, after, limit)
        return [(i, bytes(key), bytes(vector)) for i, key, vector in rows]

    async def finish_model(self, model: int) -> tuple[bool, int]:
        ((complete, count),) = await self._worker("FinishModel", "u", model)
        return complete, count

    async def chunks_pending(self) -> int:
        (value,) = await call(self.bus, BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Properties", "Get", "ss",
                              [MANAGER_INTERFACE, "ChunksPending"])
        return value.value

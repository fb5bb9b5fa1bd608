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
        await call(
            self.bus, BUS_NAME, OBJECT_PATH, WORKER_INTERFACE, "ReportProgress", "ssa{st}",
            [worker, state, counters],
        )

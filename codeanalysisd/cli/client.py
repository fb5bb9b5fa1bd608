"""The Manager, as every client of it calls it: codeanalysisctl's commands and its MCP bridge.

Each call goes out with the in-signature of ``bus/api.py``'s table, so no client spells a
signature of its own.
"""

from __future__ import annotations

from typing import Any

from dbus_fast.aio import MessageBus

from codeanalysisd.bus import api
from codeanalysisd.bus.calls import call, get_all
from codeanalysisd.names import BUS_NAME, MANAGER_INTERFACE, OBJECT_PATH


def signature_of(member: str) -> str:
    """The in-signature of a Manager method, from the table (an older service that lacks one
    answers UnknownMethod, and the clients say so)."""
    found = api.MANAGER.get(member)
    if found is None:
        raise KeyError(f"{member} is not a method of {MANAGER_INTERFACE}")
    return found.args


class Client:
    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    async def __call__(self, member: str, *body: Any) -> list[Any]:
        return await call(self.bus, BUS_NAME, OBJECT_PATH, MANAGER_INTERFACE, member, signature_of(member), list(body))

    async def properties(self) -> dict[str, Any]:
        return await get_all(self.bus, BUS_NAME, OBJECT_PATH, MANAGER_INTERFACE)


async def every_row(client: Client, member: str, *body: Any) -> list[Any]:
    """Every row of a paged call (ListProjects, ListProblems): pages of api.LIST_PAGE rows,
    one after another, until one is shorter."""
    rows: list[Any] = []
    while True:
        (page,) = await client(member, *body, len(rows), api.LIST_PAGE)
        rows += page
        if len(page) < api.LIST_PAGE:
            return rows

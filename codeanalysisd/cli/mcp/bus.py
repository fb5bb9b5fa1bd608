"""The bridge's side of the bus: one connection to the Manager, made when first needed, and
every bus error turned into the tool error an agent reads (the error's name and message,
with what to do where the service's own message cannot say it)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dbus_fast import DBusError, Variant
from dbus_fast.aio import MessageBus

from codeanalysisd.cli.client import Client
from codeanalysisd.cli.mcp.args import ToolError
from codeanalysisd.names import BUS_NAME, TARGET_UNIT

T = TypeVar("T")
NOT_RUNNING = ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner")
UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
NO_BUS = "org.freedesktop.DBus.Error.NoServer"


def failure(exc: DBusError, member: str) -> ToolError:
    if exc.type == UNKNOWN_METHOD:
        return ToolError(exc.type, f"this codeanalysisd does not have {member}: the service is older than this "
                                   f"client and must be upgraded for it ({exc.text})")
    if exc.type in NOT_RUNNING:
        return ToolError(exc.type, f"{BUS_NAME} is not running; it is started with: systemctl start {TARGET_UNIT} "
                                   f"({exc.text})")
    if exc.type == "org.freedesktop.DBus.Error.AccessDenied":
        return ToolError(exc.type, f"the bus refused {member}: on the system bus only root and the members of group "
                                   f"codeanalysis-users may call {BUS_NAME} ({exc.text})")
    return ToolError(exc.type, exc.text)


def plain(value: Any) -> Any:
    """A reply's values without dbus-fast's Variants, as JSON holds them."""
    if isinstance(value, Variant):
        return plain(value.value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


def when(unix: float) -> str | None:
    """A time as agents read it (UTC, ISO 8601); None for 0, "never"."""
    if not unix:
        return None
    return datetime.datetime.fromtimestamp(unix, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Bus:
    """The Manager as the bridge calls it."""

    def __init__(self, connect: Callable[[], Awaitable[MessageBus]], where: str) -> None:
        self._connect = connect
        self._where = where  # "system" or "session", for messages
        self._bus: MessageBus | None = None
        self._connecting: asyncio.Lock | None = None

    async def client(self) -> Client:
        """The connection, made when first needed and again if it was lost (dbus-daemon restarted)."""
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._bus is None or not self._bus.connected:
                try:
                    self._bus = await self._connect()
                except (OSError, DBusError) as exc:
                    raise ToolError(NO_BUS, f"cannot connect to the {self._where} bus: {exc}") from None
            return Client(self._bus)

    async def __call__(self, member: str, *body: Any) -> list[Any]:
        client = await self.client()
        try:
            return await client(member, *body)
        except DBusError as exc:
            raise failure(exc, member) from None

    async def properties(self) -> dict[str, Any]:
        client = await self.client()
        try:
            return await client.properties()
        except DBusError as exc:
            raise failure(exc, "Properties.GetAll") from None

    def close(self) -> None:
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None

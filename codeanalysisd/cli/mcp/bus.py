"""The bridge's side of the bus: one connection to the Manager, made when first needed, and
every bus error turned into the tool error an agent reads (the error's name and message,
with what to do where the service's own message cannot say it)."""

from __future__ import annotations

import asyncio
import datetime
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dbus_fast import DBusError, Variant
from dbus_fast.aio import MessageBus

from codeanalysisd.bus.calls import call
from codeanalysisd.cli.client import Client
from codeanalysisd.cli.mcp.args import ToolError
from codeanalysisd.names import BUS_NAME, MANAGER_INTERFACE, OBJECT_PATH, TARGET_UNIT

T = TypeVar("T")
NOT_RUNNING = ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner")
UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
NO_BUS = "org.freedesktop.DBus.Error.NoServer"
BUS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"


def lacking(member: str, exc: DBusError) -> ToolError:
    return ToolError(UNKNOWN_METHOD, f"this codeanalysisd does not have {member}: the service is older than this "
                                     f"client and must be upgraded for it ({exc.text})")


def failure(exc: DBusError, member: str) -> ToolError:
    if exc.type == UNKNOWN_METHOD:
        return lacking(member, exc)
    if exc.type in NOT_RUNNING:
        return ToolError(exc.type, f"{BUS_NAME} is not running; it is started with: systemctl start {TARGET_UNIT} "
                                   f"({exc.text})")
    if exc.type == BUS_DENIED:
        return ToolError(exc.type, f"the bus refused {member}: its policy lets root and the members of group "
                                   f"codeanalysis-users call {BUS_NAME}, and worker control only root and "
                                   f"codeanalysis-admin ({exc.text})")
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
        self._members: frozenset[str] | None = None  # the Manager's methods, as the service introspects

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
            # The bus policy refuses a method it does not list before the service could say it
            # has none: the service's own introspection tells which it is.
            if exc.type == BUS_DENIED and not await self.serves(member):
                raise lacking(member, exc) from None
            raise failure(exc, member) from None

    async def serves(self, member: str) -> bool:
        """Whether the service has this Manager method (True if it cannot be told)."""
        if self._members is None:
            try:
                (xml,) = await call(await self._connected(), BUS_NAME, OBJECT_PATH,
                                    "org.freedesktop.DBus.Introspectable", "Introspect")
                found = ET.fromstring(xml).iterfind(f"interface[@name='{MANAGER_INTERFACE}']/method")
                self._members = frozenset(m.get("name", "") for m in found)
            except (DBusError, ET.ParseError):
                return True
        return member in self._members

    async def _connected(self) -> MessageBus:
        await self.client()
        assert self._bus is not None
        return self._bus

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

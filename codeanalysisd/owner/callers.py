"""Who is calling: the uid and groups behind every call the owner answers.

dbus-fast does not hand a method its message, so the bus connection's message handler (it
runs before the method, in the same turn of the event loop) notes each call's sender in a
context variable; a handler's task copies the context when it is created, so the sender is
the one of its own call. The credentials come from the bus daemon itself
(``GetConnectionCredentials``), never from the caller, and are kept per unique connection
name until that name leaves the bus.
"""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
from collections.abc import Callable
from contextvars import ContextVar

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from codeanalysisd.access import Caller
from codeanalysisd.bus.calls import call
from codeanalysisd.owner import failures

_sender: ContextVar[str | None] = ContextVar("codeanalysisd_caller", default=None)

DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
_GONE = ("type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
         "interface='org.freedesktop.DBus',member='NameOwnerChanged'")


def groups_of(uid: int, primary: int | None = None) -> frozenset[int]:
    """The user's groups as the system's group database has them (what the bus policy uses
    too, when the bus does not report a connection's groups itself)."""
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return frozenset({primary} if primary is not None else ())
    try:
        return frozenset(os.getgrouplist(entry.pw_name, entry.pw_gid))
    except OSError:
        return frozenset({entry.pw_gid})


def admin_gid(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


class Callers:
    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self._known: dict[str, Caller] = {}
        self._asking: dict[str, asyncio.Future[Caller]] = {}
        self._gone_hooks: list[Callable[[str], None]] = []

    def on_gone(self, hook: Callable[[str], None]) -> None:
        """Call ``hook(unique_name)`` when a connection leaves the bus."""
        self._gone_hooks.append(hook)

    async def start(self) -> None:
        self.bus.add_message_handler(self._on_message)
        await call(self.bus, *DBUS, "AddMatch", "s", [_GONE])

    def _on_message(self, msg: Message) -> bool:
        if msg.message_type is MessageType.METHOD_CALL:
            _sender.set(msg.sender)
        elif (msg.message_type is MessageType.SIGNAL and msg.member == "NameOwnerChanged"
              and msg.sender == DBUS[0] and msg.body and str(msg.body[0]).startswith(":") and not msg.body[2]):
            self._known.pop(msg.body[0], None)  # the connection left the bus: its name is never reused
            for hook in self._gone_hooks:
                hook(str(msg.body[0]))
        return False

    async def current(self) -> Caller:
        """The caller of the request being answered."""
        sender = _sender.get()
        if sender is None:
            raise failures.CouldNot("the caller of this request is not known")
        if (known := self._known.get(sender)) is not None:
            return known
        if sender not in self._asking:
            self._asking[sender] = asyncio.ensure_future(self._ask(sender))
        try:
            return await asyncio.shield(self._asking[sender])
        finally:
            if self._asking.get(sender) is not None and self._asking[sender].done():
                self._asking.pop(sender, None)

    async def _ask(self, sender: str) -> Caller:
        (found,) = await call(self.bus, *DBUS, "GetConnectionCredentials", "s", [sender])
        values = {k: (v.value if isinstance(v, Variant) else v) for k, v in found.items()}
        uid = int(values["UnixUserID"])
        # dbus-broker and newer dbus-daemons report the connection's own groups; else the user's
        reported = values.get("UnixGroupIDs")
        caller = Caller(uid, frozenset(int(g) for g in reported) if reported is not None else groups_of(uid))
        self._known[sender] = caller
        return caller

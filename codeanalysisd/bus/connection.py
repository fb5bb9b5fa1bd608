"""Connecting to the system or session bus, with dbus-fast's EAGAIN defect fixed.

dbus-fast (like dbus-next, python-dbus-next issue #153, PR #154 never merged) treats
``BlockingIOError`` from ``send()`` on its non-blocking socket as a fatal error: once more
than the socket's send buffer (~208 KiB here) is queued, every pending call fails and a
service loses its bus name. EAGAIN only means "the kernel buffer is full, try again when
writable", so the writer below hands dbus-fast a socket whose ``send`` reports 0 bytes
written in that case; dbus-fast then keeps the rest of the buffer and waits for the
writer callback, which is exactly the right behaviour. Every bus connection the suite
makes goes through :func:`connect`, so the fix applies everywhere.
"""

from __future__ import annotations

import os
import socket
from enum import Enum
from typing import Any

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.aio import message_bus as _aio_message_bus


class BusKind(Enum):
    SYSTEM = "system"
    SESSION = "session"

    @property
    def dbus_type(self) -> BusType:
        return BusType.SYSTEM if self is BusKind.SYSTEM else BusType.SESSION


class _EagainTolerantSocket:
    """Wraps the bus socket for dbus-fast's writer: EAGAIN on send means 0 bytes sent."""

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def send(self, data: Any) -> int:
        try:
            return self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            return 0

    def sendmsg(self, buffers: Any, ancdata: Any = ()) -> int:
        # The suite never negotiates Unix fd passing (see connect()), so dbus-fast never
        # takes this path; it is kept correct-by-refusal rather than silently dropping fds.
        return self._sock.sendmsg(buffers, ancdata)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _EagainTolerantWriter(_aio_message_bus._MessageWriter):
    def __init__(self, bus: MessageBus) -> None:
        super().__init__(bus)
        assert bus._sock is not None  # the writer is made for a connected bus
        # dbus-fast declares the attribute a socket; the wrapper answers every call it makes
        self.sock = _EagainTolerantSocket(bus._sock)  # type: ignore[assignment]


def install_eagain_fix() -> None:
    """Make dbus-fast's asyncio bus use the EAGAIN-tolerant writer (idempotent)."""
    # dbus-fast makes its writer from this module-level name: replacing the class is the fix
    _aio_message_bus._MessageWriter = _EagainTolerantWriter  # type: ignore[misc]


def eagain_fix_installed() -> bool:
    return _aio_message_bus._MessageWriter is _EagainTolerantWriter


async def connect(kind: BusKind, address: str | None = None) -> MessageBus:
    """Open a connection to the bus of the given kind (or an explicit address)."""
    install_eagain_fix()
    if address is None and kind is BusKind.SESSION and "DBUS_SESSION_BUS_ADDRESS" not in os.environ:
        runtime = os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}")
        address = f"unix:path={runtime}/bus"
    bus = MessageBus(bus_type=kind.dbus_type, bus_address=address, negotiate_unix_fd=False)
    return await bus.connect()

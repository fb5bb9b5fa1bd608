"""Plain method calls and property reads over dbus-fast, without introspecting the peer.

Proxies built from introspection cost a round trip and XML parsing per object; for the
handful of well-known calls the suite makes to systemd and to its own owner, a typed
call is simpler and faster.
"""

from __future__ import annotations

from typing import Any

from dbus_fast import DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus


async def call(
    bus: MessageBus,
    destination: str,
    path: str,
    interface: str,
    member: str,
    signature: str = "",
    body: list[Any] | None = None,
) -> list[Any]:
    reply = await bus.call(
        Message(
            destination=destination,
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=body or [],
        )
    )
    if reply is None:
        raise DBusError("org.freedesktop.DBus.Error.NoReply", f"no reply to {member}")
    if reply.message_type == MessageType.ERROR:
        raise DBusError(reply.error_name or "org.freedesktop.DBus.Error.Failed", *(reply.body or [""])[:1])
    return reply.body


async def get_all(bus: MessageBus, destination: str, path: str, interface: str) -> dict[str, Any]:
    (props,) = await call(
        bus, destination, path, "org.freedesktop.DBus.Properties", "GetAll", "s", [interface]
    )
    return {k: (v.value if isinstance(v, Variant) else v) for k, v in props.items()}

"""Call the path-taking Manager methods with each path read as JSON from stdin; print, as
JSON, the outcome of each call: "ok" or the D-Bus error name. Run inside the sandbox."""

from __future__ import annotations

import asyncio
import json
import sys

from dbus_fast import BusType, DBusError, Message, MessageType
from dbus_fast.aio import MessageBus

CALLS = (("GetFileSource", "sss", lambda p, path: [p, path, ""]),
         ("ListVersions", "ss", lambda p, path: [p, path]),
         ("RestoreFile", "sssb", lambda p, path: [p, path, "", False]))


async def main() -> None:
    project, paths = json.load(sys.stdin)
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    out = []
    for path in paths:
        for member, signature, body in CALLS:
            reply = await bus.call(Message(destination="org.codeanalysis1", path="/org/codeanalysis1",
                                           interface="org.codeanalysis1.Manager", member=member,
                                           signature=signature, body=body(project, path)))
            out.append("ok" if reply.message_type != MessageType.ERROR else reply.error_name)
    bus.disconnect()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except DBusError as exc:
        sys.exit(f"bus error: {exc}")

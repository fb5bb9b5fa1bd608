"""Many concurrent large calls and large replies over a real bus daemon.

Run with the suite's connection (``--fixed``, the default) or with dbus-fast's own
writer (``--unfixed``) to show the defect the suite works around: once more than the
socket buffer is queued, the unfixed writer drops the connection. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method

from codeanalysisd.bus.connection import BusKind, connect, eagain_fix_installed

NAME, PATH, IFACE = "org.codeanalysis1.Stress", "/org/codeanalysis1/Stress", "org.codeanalysis1.Stress"


class Echo(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(IFACE)

    @method()
    def Echo(self, data: ay) -> ay:  # noqa: F821
        return data


async def _bus(fixed: bool) -> MessageBus:
    if fixed:
        return await connect(BusKind.SESSION)
    return await MessageBus(bus_type=BusType.SESSION, negotiate_unix_fd=False).connect()


async def main(fixed: bool, calls: int, size: int) -> dict[str, object]:
    server = await _bus(fixed)
    server.export(PATH, Echo())
    await server.request_name(NAME)
    client = await _bus(fixed)
    payload = bytes(range(256)) * (size // 256)

    async def one() -> bool:
        reply = await client.call(Message(destination=NAME, path=PATH, interface=IFACE, member="Echo",
                                          signature="ay", body=[payload]))
        return reply.message_type == MessageType.METHOD_RETURN and reply.body[0] == payload

    results = await asyncio.gather(*(asyncio.wait_for(one(), 30) for _ in range(calls)),
                                   return_exceptions=True)
    ok = sum(1 for r in results if r is True)
    errors = sorted({type(r).__name__ for r in results if r is not True})
    return {"fixed": eagain_fix_installed(), "calls": calls, "bytes_each_way": size, "ok": ok,
            "failed": calls - ok, "errors": errors, "server_connected": server.connected,
            "client_connected": client.connected}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--unfixed", action="store_true")
    parser.add_argument("--calls", type=int, default=64)
    parser.add_argument("--size", type=int, default=64 * 1024)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(not args.unfixed, args.calls, args.size))))

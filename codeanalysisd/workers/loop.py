"""The loop every worker unit runs: connect, report READY, do a round of work, report progress.

A worker survives the DB owner's restarts: calls address the well-known name, so when the
owner is back (systemd restarts it) the next round simply succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from dbus_fast import DBusError, Message, MessageType
from dbus_fast.aio import MessageBus

from codeanalysisd.bus.calls import call
from codeanalysisd.bus.connection import connect
from codeanalysisd.bus.owner_client import OwnerClient
from codeanalysisd.names import BUS_NAME, MANAGER_INTERFACE, OBJECT_PATH, WORKER_INTERFACE
from codeanalysisd.notify import Notifier
from codeanalysisd.records import Counters
from codeanalysisd.service import Context

# While the DB owner does not answer, a worker tries again this often (seconds).
RETRY = 1.0


@dataclass
class RoundReport:
    """What a round of work reports: a status line and counters."""

    status: str
    counters: Counters = field(default_factory=Counters)


Round = Callable[[OwnerClient], Awaitable[RoundReport]]


class OwnerLink:
    """Whether the DB owner answered a worker's last attempt, and what follows from that:
    one warning when it stops answering, one note when it answers again, a status saying
    what the worker waits for, and a retry every RETRY seconds meanwhile."""

    def __init__(self, log: logging.Logger, notifier: Notifier, reason_in_status: bool = False) -> None:
        self.log = log
        self.notifier = notifier
        self.reason_in_status = reason_in_status  # the status also quotes the bus error
        self.answers = True

    def answered(self) -> None:
        """The attempt went through."""
        if not self.answers:
            self.log.info("the DB owner %s answers again", BUS_NAME)
        self.answers = True

    def failed(self, exc: DBusError) -> None:
        """The attempt failed with a bus error."""
        if self.answers:
            self.log.warning("the DB owner %s does not answer (%s); retrying", BUS_NAME, exc.text)
        self.answers = False
        status = f"waiting for the DB owner ({BUS_NAME})"
        self.notifier.set_status(f"{status}: {exc.text[:120]}" if self.reason_in_status else status)

    def pace(self, wait: float) -> float:
        """How long to wait before the next attempt: ``wait``, or RETRY while the owner does not answer."""
        return wait if self.answers else RETRY


_CHANGES = (f"type='signal',sender='{BUS_NAME}',path='{OBJECT_PATH}',"
            "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'")


def _worker_signal(member: str) -> str:
    return f"type='signal',sender='{BUS_NAME}',path='{OBJECT_PATH}',interface='{WORKER_INTERFACE}',member='{member}'"


async def wake_on_changes(bus: MessageBus, wake: asyncio.Event, also: asyncio.Event | None = None,
                          properties: tuple[str, ...] = ("Projects",), signals: tuple[str, ...] = ()) -> None:
    """Set ``wake`` (and ``also``) as soon as the owner announces a change of one of these
    properties (by default: a project added or removed) or sends one of these signals of the
    Worker interface."""

    def handler(msg: Message) -> bool:
        if msg.message_type != MessageType.SIGNAL:
            return False
        if ((msg.member == "PropertiesChanged" and msg.body and msg.body[0] == MANAGER_INTERFACE
                and any(name in msg.body[1] for name in properties))
                or (msg.interface == WORKER_INTERFACE and msg.member in signals)):
            wake.set()
            if also is not None:
                also.set()
        return False

    bus.add_message_handler(handler)
    # Each rule once per call: a call for signals alone asks the bus for no property changes.
    for rule in ((_CHANGES,) if properties else ()) + tuple(map(_worker_signal, signals)):
        await call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s",
                   [rule])


async def run_worker(ctx: Context, name: str, do_round: Round,
                     interval: Callable[[], float] | None = None,
                     on_connect: Callable[[MessageBus], Awaitable[None]] | None = None,
                     wake_on: tuple[str, ...] = ("Projects",), wake_on_signals: tuple[str, ...] = (),
                     report: bool = True) -> int:
    """Run rounds every ``interval()`` seconds (default: the report interval) until SIGTERM;
    asked each time, so a reloaded configuration applies from the next round. A change of
    an owner property named in ``wake_on``, or a Worker signal named in ``wake_on_signals``,
    starts the next round at once. With ``report`` each round's status and counters go to
    the owner (ReportProgress, for WorkerStatus); always to systemd (STATUS=)."""
    if interval is None:
        def interval() -> float:
            return ctx.config.report_interval
    bus = await connect(ctx.bus_kind)
    owner = OwnerClient(bus)
    wake = asyncio.Event()
    await wake_on_changes(bus, wake, properties=wake_on, signals=wake_on_signals)
    if on_connect is not None:
        await on_connect(bus)
    link = OwnerLink(ctx.log, ctx.notifier)
    ready = False
    try:
        while True:
            try:
                done = await do_round(owner)
                if report:
                    await owner.report_progress(name, done.status, done.counters)
                link.answered()
                ctx.notifier.set_status(done.status)
            except DBusError as exc:
                link.failed(exc)
            if not ready:
                ctx.notifier.ready(ctx.notifier.status)
                ctx.log.info("%s ready on the %s bus", name, ctx.bus_kind.value)
                ready = True
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), link.pace(interval()))
    finally:
        bus.disconnect()

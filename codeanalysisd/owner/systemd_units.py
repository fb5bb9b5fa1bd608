"""Starting, stopping, killing and reading worker units through systemd's own bus API, never by PID.

On the system bus the DB owner runs unprivileged; systemd asks polkit, and the rule the
package installs (packaging/polkit) lets the service user start, stop and restart the
suite's worker units, and kill the repair worker, and nothing else.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from codeanalysisd.bus.calls import call, get_all

SYSTEMD = "org.freedesktop.systemd1"
SYSTEMD_PATH = "/org/freedesktop/systemd1"
SYSTEMD_MANAGER = "org.freedesktop.systemd1.Manager"
SYSTEMD_UNIT = "org.freedesktop.systemd1.Unit"
JOB_TIMEOUT = 30.0
# How long a unit's ActiveState is believed without systemd announcing a change: the signals
# keep it current, and this bounds what a missed one (systemd re-executed) could cost.
STATE_TRUSTED = 5.0


# systemd's error for a job in mode "fail" that would reverse a queued one.
TRANSACTION_IS_DESTRUCTIVE = "org.freedesktop.systemd1.TransactionIsDestructive"


class JobFailed(RuntimeError):
    def __init__(self, message: str, result: str = "") -> None:
        super().__init__(message)
        self.result = result  # systemd's job result ("canceled", "failed", ...) when there was one


@dataclass(frozen=True)
class Job:
    """A job systemd has queued: its object path, and its result ("done", "canceled", ...)
    once systemd announces that it is over (JobRemoved)."""

    path: str
    result: asyncio.Future[str]


class SystemdUnits:
    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self._jobs: dict[str, asyncio.Future[str]] = {}
        self._early: dict[str, str] = {}
        # ActiveState by unit, as last read or announced (value, monotonic time), for the
        # questions asked on every query (IndexStatus): kept current by PropertiesChanged.
        self._active: dict[str, tuple[str, float]] = {}
        self._unit_paths: dict[str, str] = {}
        self._path_units: dict[str, str] = {}
        self._changes: dict[str, int] = {}  # per unit, signals seen: a read overtaken by one is not kept

    async def start(self) -> None:
        """Subscribe to job completion signals (JobRemoved)."""
        self.bus.add_message_handler(self._on_message)
        await call(
            self.bus,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "AddMatch",
            "s",
            [f"type='signal',sender='{SYSTEMD}',interface='{SYSTEMD_MANAGER}',member='JobRemoved'"],
        )
        await call(self.bus, SYSTEMD, SYSTEMD_PATH, SYSTEMD_MANAGER, "Subscribe")

    def _on_message(self, msg: Message) -> bool:
        if msg.message_type == MessageType.SIGNAL and msg.member == "PropertiesChanged":
            unit = self._path_units.get(msg.path or "")
            if unit is not None and msg.body and msg.body[0] == SYSTEMD_UNIT:
                self._changes[unit] = self._changes.get(unit, 0) + 1
                value = msg.body[1].get("ActiveState")
                if isinstance(value, Variant):
                    self._active[unit] = (value.value, time.monotonic())
                else:
                    self._active.pop(unit, None)
            return False
        if msg.message_type == MessageType.SIGNAL and msg.member == "JobRemoved":
            _id, job, _unit, result = msg.body
            future = self._jobs.pop(job, None)
            if future is not None and not future.done():
                future.set_result(result)
            elif future is None:
                # The signal can overtake the reply that names the job.
                self._early[job] = result
        return False

    async def submit(self, verb: str, unit: str, mode: str = "replace") -> Job:
        """Queue a job (StartUnit, StopUnit, RestartUnit) without waiting for it; the caller
        awaits ``Job.result`` and calls ``forget`` when it stops caring. ``mode`` is systemd's
        job mode: "replace" as systemctl does; "fail" refuses (TransactionIsDestructive) where
        the job would reverse one already queued."""
        (path,) = await call(self.bus, SYSTEMD, SYSTEMD_PATH, SYSTEMD_MANAGER, verb, "ss", [unit, mode])
        result: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if path in self._early:
            result.set_result(self._early.pop(path))
        else:
            self._jobs[path] = result
        return Job(path, result)

    def forget(self, job: Job) -> None:
        self._jobs.pop(job.path, None)

    async def _run_job(self, verb: str, unit: str, mode: str = "replace") -> None:
        job = await self.submit(verb, unit, mode)
        try:
            result = await asyncio.wait_for(job.result, JOB_TIMEOUT)
        except TimeoutError:
            raise JobFailed(f"{verb} {unit}: no result from systemd within {JOB_TIMEOUT:.0f} s") from None
        finally:
            self.forget(job)
        if result != "done":
            raise JobFailed(f"{verb} {unit} ended with job result {result!r}; see journalctl -u {unit}", result)

    async def start_unit(self, unit: str, mode: str = "replace") -> None:
        await self._run_job("StartUnit", unit, mode)

    async def stop_unit(self, unit: str) -> None:
        await self._run_job("StopUnit", unit)

    async def restart_unit(self, unit: str) -> None:
        await self._run_job("RestartUnit", unit)

    async def kill_unit(self, unit: str, signum: int = signal.SIGKILL) -> None:
        """Send a signal to every process of the unit, through systemd (polkit verb "kill")."""
        await call(self.bus, SYSTEMD, SYSTEMD_PATH, SYSTEMD_MANAGER, "KillUnit", "ssi", [unit, "all", int(signum)])

    async def loaded_units(self, pattern: str) -> dict[str, str]:
        """The units systemd has loaded whose names match ``pattern`` (a glob), with their ActiveState."""
        (rows,) = await call(self.bus, SYSTEMD, SYSTEMD_PATH, SYSTEMD_MANAGER, "ListUnitsByPatterns", "asas",
                             [[], [pattern]])
        return {str(row[0]): str(row[3]) for row in rows}

    async def active_state(self, unit: str) -> str:
        """The unit's ActiveState: from memory while systemd's PropertiesChanged signals keep it
        current (subscribed in start()), else asked of systemd."""
        known = self._active.get(unit)
        if known is not None and time.monotonic() - known[1] < STATE_TRUSTED:
            return known[0]
        path = self._unit_paths.get(unit)
        if path is None:
            (path,) = await call(self.bus, SYSTEMD, SYSTEMD_PATH, SYSTEMD_MANAGER, "LoadUnit", "s", [unit])
            # The match comes before the read: a change after the read is announced, not missed.
            await call(self.bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch",
                       "s", [f"type='signal',sender='{SYSTEMD}',path='{path}',"
                             "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'"])
            self._unit_paths[unit], self._path_units[path] = path, unit
        changes = self._changes.get(unit, 0)
        (value,) = await call(self.bus, SYSTEMD, path, "org.freedesktop.DBus.Properties", "Get", "ss",
                              [SYSTEMD_UNIT, "ActiveState"])
        state = str(value.value)
        if self._changes.get(unit, 0) == changes:  # no announcement overtook the answer
            self._active[unit] = (state, time.monotonic())
        return state

    async def unit_state(self, unit: str) -> dict[str, Any]:
        """ActiveState, SubState, MainPID, StatusText, NRestarts, as systemd reports them."""
        (path,) = await call(self.bus, SYSTEMD, SYSTEMD_PATH, SYSTEMD_MANAGER, "LoadUnit", "s", [unit])
        unit_props, service = await asyncio.gather(
            get_all(self.bus, SYSTEMD, path, "org.freedesktop.systemd1.Unit"),
            get_all(self.bus, SYSTEMD, path, "org.freedesktop.systemd1.Service"),
        )
        return {
            "ActiveState": unit_props.get("ActiveState", ""),
            "SubState": unit_props.get("SubState", ""),
            "LoadState": unit_props.get("LoadState", ""),
            "MainPID": int(service.get("MainPID", 0)),
            "StatusText": service.get("StatusText", ""),
            "NRestarts": int(service.get("NRestarts", 0)),
        }

"""Starting, stopping, killing and reading worker units through systemd's own bus API, never by PID.

On the system bus the DB owner runs unprivileged; systemd asks polkit, and the rule the
package installs (packaging/polkit) lets the service user start, stop and restart the
suite's worker units, and kill the repair worker, and nothing else.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from codeanalysisd.bus.calls import call, get_all

SYSTEMD = "org.freedesktop.systemd1"
SYSTEMD_PATH = "/org/freedesktop/systemd1"
SYSTEMD_MANAGER = "org.freedesktop.systemd1.Manager"
JOB_TIMEOUT = 30.0


class JobFailed(RuntimeError):
    pass


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
        if msg.message_type == MessageType.SIGNAL and msg.member == "JobRemoved":
            _id, job, _unit, result = msg.body
            future = self._jobs.pop(job, None)
            if future is not None and not future.done():
                future.set_result(result)
            elif future is None:
                # The signal can overtake the reply that names the job.
                self._early[job] = result
        return False

    async def submit(self, verb: str, unit: str) -> Job:
        """Queue a job (StartUnit, StopUnit, RestartUnit) without waiting for it; the caller
        awaits ``Job.result`` and calls ``forget`` when it stops caring."""
        (path,) = await call(self.bus, SYSTEMD, SYSTEMD_PATH, SYSTEMD_MANAGER, verb, "ss", [unit, "replace"])
        result: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if path in self._early:
            result.set_result(self._early.pop(path))
        else:
            self._jobs[path] = result
        return Job(path, result)

    def forget(self, job: Job) -> None:
        self._jobs.pop(job.path, None)

    async def _run_job(self, verb: str, unit: str) -> None:
        job = await self.submit(verb, unit)
        try:
            result = await asyncio.wait_for(job.result, JOB_TIMEOUT)
        except TimeoutError:
            raise JobFailed(f"{verb} {unit}: no result from systemd within {JOB_TIMEOUT:.0f} s") from None
        finally:
            self.forget(job)
        if result != "done":
            raise JobFailed(f"{verb} {unit} ended with job result {result!r}; see journalctl -u {unit}")

    async def start_unit(self, unit: str) -> None:
        await self._run_job("StartUnit", unit)

    async def stop_unit(self, unit: str) -> None:
        await self._run_job("StopUnit", unit)

    async def restart_unit(self, unit: str) -> None:
        await self._run_job("RestartUnit", unit)

    async def kill_unit(self, unit: str, signum: int = signal.SIGKILL) -> None:
        """Send a signal to every process of the unit, through systemd (polkit verb "kill")."""
        await call(self.bus, SYSTEMD, SYSTEMD_PATH, SYSTEMD_MANAGER, "KillUnit", "ssi", [unit, "all", int(signum)])

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

"""Starting, stopping and reporting the worker units, as the Manager's worker methods do it."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from dbus_fast import DBusError, Variant

from codeanalysisd.owner import failures
from codeanalysisd.owner.reports import WorkerReports, status_row, unit_of, units_shown
from codeanalysisd.owner.systemd_units import Job, JobFailed, SystemdUnits

log = logging.getLogger("codeanalysisd.owner")

_DONE = {"start": "started", "stop": "stopped", "restart": "restarted"}
INACTIVE = ("inactive", "failed")
# After SIGKILL the kernel and systemd need moments, not seconds: a unit still up after this
# is stuck where no signal reaches (uninterruptible sleep), and is reported as still stopping.
KILL_GRACE = 5.0


@dataclass(frozen=True)
class Stopped:
    """How a stop within a time went: ``stopped``, ``killed`` or ``still-stopping``."""

    result: str
    seconds: float


class WorkerControl:
    def __init__(self, units: SystemdUnits, reports: WorkerReports) -> None:
        self.units = units
        self.reports = reports
        # the query on its way, and the units it asks about
        self._states_in_flight: tuple[tuple[str, ...], asyncio.Future[list[Any]]] | None = None

    async def control(self, verb: str, name: str) -> None:
        """start, stop or restart a worker through systemd; returns when systemd's job is done."""
        unit = unit_of(name)
        try:
            await getattr(self.units, f"{verb}_unit")(unit)
        except JobFailed as exc:
            log.warning("%s of %s failed: %s", verb, unit, exc, extra={"unit": unit})
            raise
        except DBusError as exc:
            raise _refused(verb, unit, exc) from None
        log.info("%s %s through systemd", _DONE[verb], unit, extra={"unit": unit})

    async def stop_within(self, name: str, timeout: float, force: bool) -> Stopped:
        """Stop a worker through systemd and wait up to ``timeout`` seconds for it to be down;
        past that, with ``force``, have systemd SIGKILL every process of the unit. A stop
        left running goes on in systemd: its own TimeoutStopSec= ends it."""
        unit = unit_of(name)
        started = time.monotonic()
        try:
            job = await self.units.submit("StopUnit", unit)
        except DBusError as exc:
            raise _refused("stop", unit, exc) from None
        try:
            if await self._ended(job, unit, timeout):
                result = "stopped"
            elif not force:
                result = "still-stopping"
            else:
                try:
                    await self.units.kill_unit(unit)
                except DBusError as exc:
                    if not exc.type.endswith(".NoSuchProcess"):  # it went down meanwhile: nothing to kill
                        raise _refused("kill", unit, exc) from None
                result = "killed" if await self._ended(job, unit, KILL_GRACE) else "still-stopping"
        finally:
            self.units.forget(job)
        done = Stopped(result, time.monotonic() - started)
        if result == "stopped":
            log.info("stopped %s through systemd in %.2f s", unit, done.seconds, extra={"unit": unit})
        elif result == "killed":
            log.warning("%s did not stop within %g s: killed (SIGKILL through systemd) after %.2f s", unit, timeout,
                        done.seconds, extra={"unit": unit})
        else:
            log.warning("%s is still stopping after %.2f s%s", unit, done.seconds,
                        " and SIGKILL" if force else "; systemd kills it at its TimeoutStopSec=", extra={"unit": unit})
        return done

    async def _ended(self, job: Job, unit: str, within: float) -> bool:
        """Whether the stop job ended within ``within`` seconds (or the unit is down and
        systemd has not said so yet)."""
        try:
            result = await asyncio.wait_for(asyncio.shield(job.result), within)
        except TimeoutError:
            return (await self.units.unit_state(unit))["ActiveState"] in INACTIVE
        if result != "done":
            raise JobFailed(f"stopping {unit} ended with job result {result!r} (was it started again meanwhile?)")
        return True

    async def status(self, owner_calls: int, parsers: int) -> list[dict[str, Variant]]:
        shown = units_shown(parsers)
        states = await self._unit_states([unit for _, unit in shown])
        rows = []
        for (name, unit), state in zip(shown, states, strict=True):
            if isinstance(state, DBusError):
                raise failures.CouldNot(f"systemd did not report {unit}: {state.text}")
            if isinstance(state, BaseException):
                raise state
            rows.append(status_row(name, unit, state, self.reports, owner_calls))
        return rows

    async def _unit_states(self, units: list[str]) -> list[Any]:
        """The units' states from systemd. Callers that arrive while a query is on its way share
        its answer: under many concurrent callers systemd (one process for the whole machine)
        is asked once per round trip instead of once per caller (asking about the same units: a
        reload can change how many parser units there are)."""
        key = tuple(units)
        if self._states_in_flight is None or self._states_in_flight[0] != key:
            async def query() -> list[Any]:
                try:
                    return await asyncio.gather(*(self.units.unit_state(u) for u in units), return_exceptions=True)
                finally:
                    if self._states_in_flight is not None and self._states_in_flight[1] is future:
                        self._states_in_flight = None

            future = asyncio.ensure_future(query())
            self._states_in_flight = (key, future)
        return await asyncio.shield(self._states_in_flight[1])


def _refused(verb: str, unit: str, exc: DBusError) -> Exception:
    """What systemd's refusal of a unit operation is answered with (and logged as)."""
    log.warning("systemd refused to %s %s: %s", verb, unit, exc.text, extra={"unit": unit})
    if "AccessDenied" in exc.type or "InteractiveAuthorizationRequired" in exc.type:
        return failures.Forbidden(
            f"systemd refused to {verb} {unit} for the service user: {exc.text} "
            "(is the polkit rule installed and polkitd available?)")
    return failures.CouldNot(f"systemd could not {verb} {unit}: {exc.text}")

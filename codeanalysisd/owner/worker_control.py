"""Starting, stopping and reporting the worker units, as the Manager's worker methods do it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dbus_fast import DBusError, Variant

from codeanalysisd.owner import failures
from codeanalysisd.owner.reports import UNITS, WorkerReports, status_row, unit_of
from codeanalysisd.owner.systemd_units import JobFailed, SystemdUnits

log = logging.getLogger("codeanalysisd.owner")

_DONE = {"start": "started", "stop": "stopped", "restart": "restarted"}


class WorkerControl:
    def __init__(self, units: SystemdUnits, reports: WorkerReports) -> None:
        self.units = units
        self.reports = reports
        self._states_in_flight: asyncio.Future[list[Any]] | None = None

    async def control(self, verb: str, name: str) -> None:
        """start, stop or restart a worker through systemd; returns when systemd's job is done."""
        unit = unit_of(name)
        try:
            await getattr(self.units, f"{verb}_unit")(unit)
        except JobFailed as exc:
            log.warning("%s of %s failed: %s", verb, unit, exc, extra={"unit": unit})
            raise
        except DBusError as exc:
            log.warning("systemd refused to %s %s: %s", verb, unit, exc.text, extra={"unit": unit})
            if "AccessDenied" in exc.type or "InteractiveAuthorizationRequired" in exc.type:
                raise failures.Forbidden(
                    f"systemd refused to {verb} {unit} for the service user: {exc.text} "
                    "(is the polkit rule installed and polkitd available?)") from None
            raise failures.CouldNot(f"systemd could not {verb} {unit}: {exc.text}") from None
        log.info("%s %s through systemd", _DONE[verb], unit, extra={"unit": unit})

    async def status(self, owner_calls: int) -> list[dict[str, Variant]]:
        states = await self._unit_states([unit for _, unit in UNITS])
        rows = []
        for (name, unit), state in zip(UNITS, states, strict=True):
            if isinstance(state, DBusError):
                raise failures.CouldNot(f"systemd did not report {unit}: {state.text}")
            if isinstance(state, BaseException):
                raise state
            rows.append(status_row(name, unit, state, self.reports, owner_calls))
        return rows

    async def _unit_states(self, units: list[str]) -> list[Any]:
        """The units' states from systemd. Callers that arrive while a query is on its way share
        its answer: under many concurrent callers systemd (one process for the whole machine)
        is asked once per round trip instead of once per caller."""
        if self._states_in_flight is None:
            async def query() -> list[Any]:
                try:
                    return await asyncio.gather(*(self.units.unit_state(u) for u in units), return_exceptions=True)
                finally:
                    self._states_in_flight = None

            self._states_in_flight = asyncio.ensure_future(query())
        return await asyncio.shield(self._states_in_flight)

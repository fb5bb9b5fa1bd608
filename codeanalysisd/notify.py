"""sd_notify for the units: READY, STATUS, WATCHDOG, STOPPING.

sdnotify encodes as latin-1 and swallows every error unless ``debug=True``; a status
with other characters (a file name, say) would vanish silently. Status text is made
ASCII-safe here, and a failure to notify is logged once instead of being ignored.
"""

from __future__ import annotations

import asyncio
import logging
import os

import sdnotify

log = logging.getLogger(__name__)


def _safe(text: str) -> str:
    return text.replace("\n", " ").encode("ascii", "backslashreplace").decode("ascii")


class Notifier:
    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._notifier = sdnotify.SystemdNotifier(debug=True) if self.enabled else None
        self._failed = False
        self.status = ""

    def _send(self, message: str) -> None:
        if self._notifier is None:
            return
        try:
            self._notifier.notify(message)
        except Exception as exc:  # sdnotify raises whatever the socket raised
            if not self._failed:
                log.warning("cannot notify systemd (%s); status updates are lost", exc)
                self._failed = True

    def ready(self, status: str) -> None:
        self.status = _safe(status)
        self._send(f"READY=1\nSTATUS={self.status}\nMAINPID={os.getpid()}")

    def set_status(self, status: str) -> None:
        status = _safe(status)
        if status != self.status:
            self.status = status
            self._send(f"STATUS={status}")

    def extend_start(self, seconds: float) -> None:
        """Ask systemd for ``seconds`` more before the start times out (work before READY that
        may outlast TimeoutStartSec=, such as a schema migration of a large index)."""
        self._send(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")

    def reloading(self) -> None:
        self._send("RELOADING=1\nSTATUS=reloading the configuration")

    def stopping(self, status: str = "stopping") -> None:
        self.status = _safe(status)
        self._send(f"STOPPING=1\nSTATUS={self.status}")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def close(self) -> None:
        """Close the socket to systemd (a process that goes on without notifying)."""
        if self._notifier is not None:
            self._notifier.socket.close()
            self._notifier = None


def watchdog_interval() -> float | None:
    """Half of WatchdogSec= when systemd asked this process for keep-alives."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000


async def extend_start_while_running(notifier: Notifier, every: float = 20.0) -> None:
    """Until cancelled, keep the start from timing out: every ``every`` seconds ask for three
    times that again, so a start that hangs still fails within a minute of its last request."""
    while True:
        notifier.extend_start(3 * every)
        await asyncio.sleep(every)


async def keep_alive(notifier: Notifier) -> None:
    """Pings from the event loop itself, so a stuck loop stops the pings and systemd acts."""
    interval = watchdog_interval()
    if interval is None:
        return
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)

"""How far the watcher is with a project, as a person reads it: a bar redrawn in place on a
terminal, a plain line every few seconds elsewhere (a pipe, a log), and the waiting itself
for `codeanalysisctl add`.

The numbers are the owner's (IndexProgress: phase, files sent and files in all of the
watcher's current work, files indexed); the rate and the time left are worked out here from
successive answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO

# IndexProgress's phases (owner/reports.py says what each means).
WAITING, SCANNING, SHOWING, INDEXING, READY, STALE = "waiting", "scanning", "showing", "indexing", "ready", "stale"
WORKING = (WAITING, SCANNING, SHOWING, INDEXING)  # the watcher has the project: more is to come
KEYS = ("project", "phase", "done", "total", "indexed", "why")

ASK_EVERY = 0.25  # seconds between IndexProgress calls while waiting
PLAIN_EVERY = 3.0  # seconds between plain lines when the output is not a terminal
RATE_WINDOW = 10.0  # seconds of answers the rate is taken over: recent speed, not the whole run's
BAR_WIDTH = 24


@dataclass(frozen=True)
class Row:
    project: str
    phase: str
    done: int
    total: int
    indexed: int
    why: str

    @classmethod
    def of(cls, row: list[Any]) -> Row:
        return cls(*row)


class Rate:
    """Files per second over the last RATE_WINDOW seconds of (time, files done) samples. A
    count that goes back is new work: what came before it says nothing of it."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, done: int) -> None:
        if self.samples and done < self.samples[-1][1]:
            self.samples.clear()
        self.samples.append((at, done))
        while len(self.samples) > 2 and at - self.samples[1][0] >= self.window:
            self.samples.popleft()

    def per_second(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 and d1 > d0 else None


def clock(seconds: float) -> str:
    """0:07, 2:05, 1:02:03."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """[#########---------] with the share done filled (ASCII: any terminal, any locale)."""
    filled = width if total <= 0 else min(width, done * width // total)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


# The phases that count files (done of all), and what a line calls each: a large change's
# files are first made searchable (shown: definitions and text), then indexed whole.
COUNTING = {SHOWING: "making searchable", INDEXING: "indexing"}


def describe(row: Row, rate: float | None, with_bar: bool) -> str:
    """One line for a project's progress: its phase, and while its files are made searchable
    or indexed, files done of all, the share, the rate and the time left (when there is a
    rate to tell it by)."""
    if row.phase == READY:
        return f"{row.project}: indexed, {row.indexed} file(s)"
    if row.phase == SCANNING:
        return f"{row.project}: scanning (comparing the files on disk with the index)"
    if row.phase in COUNTING and row.total:
        share = 100 * row.done // row.total
        text = f"{row.done}/{row.total} files {share:3d}%"
        if with_bar:
            text = f"{bar(row.done, row.total)} {text}"
        if rate:
            text += f", {rate:.0f} files/s, {clock((row.total - row.done) / rate)} left"
        return f"{row.project}: {COUNTING[row.phase]} {text}"
    if row.phase == INDEXING:
        return f"{row.project}: indexing (counting the files to index)"
    return f"{row.project}: {row.phase}: {row.why}"


class Display:
    """Where progress goes: on a terminal one line redrawn in place (a carriage return and the
    line padded to the terminal's width less one: no escape sequence, so even TERM=dumb
    shows it right), elsewhere a plain line every ``plain_every`` seconds and at each new phase."""

    def __init__(self, out: TextIO, terminal: bool, width: int = 80, plain_every: float = PLAIN_EVERY) -> None:
        self.out, self.terminal, self.width, self.plain_every = out, terminal, width, plain_every
        self.rate = Rate()
        self.shown_at = -float("inf")
        self.last_phase = ""
        self.drawn = False

    def show(self, row: Row, now: float) -> None:
        self.rate.add(now, row.done)
        line = describe(row, self.rate.per_second(), self.terminal)
        if self.terminal:
            self.out.write("\r" + line[:self.width - 1].ljust(self.width - 1))
            self.drawn = True
        elif row.phase == READY:
            pass  # the end line says it, with the time it took
        elif row.phase != self.last_phase or now - self.shown_at >= self.plain_every:
            self.out.write(line + "\n")
            self.shown_at = now
        self.last_phase = row.phase
        self.out.flush()

    def end(self, text: str) -> None:
        """The last line: on a terminal it replaces the bar."""
        if self.terminal and self.drawn:
            self.out.write("\r" + " " * (self.width - 1) + "\r")
        self.out.write(text + "\n")
        self.out.flush()


@dataclass(frozen=True)
class Waited:
    row: Row | None  # the last answer
    interrupted: bool  # SIGINT stopped the waiting
    seconds: float


async def wait_indexed(ask: Callable[[], Awaitable[Row]], display: Display | None, every: float = ASK_EVERY
                       ) -> Waited:
    """Ask for the project's progress until it is READY or STALE (nothing will move it on by
    itself: the watcher is stopped or silent, the root is missing), showing each answer.
    SIGINT ends the waiting, not the indexing: the watcher goes on regardless."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    began = time.monotonic()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
    row: Row | None = None
    try:
        while not stop.is_set():
            row = await ask()
            if display is not None:
                display.show(row, time.monotonic())
            if row.phase in (READY, STALE):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
    return Waited(row, stop.is_set(), time.monotonic() - began)

"""The parser units: how many run, and which files each is given to verify with libcst.

libcst costs about ten times what the index's own parse does, so its verdicts come from
``[Parser] Units=`` instances of ``codeanalysisd-parser@.service`` side by side, one per
core by default. The DB owner starts and stops instances through systemd to match that
number (at its start and on reload), and hands files out: each file pending verification
goes to one instance at a time (``SyntaxClaims``), and none while the watcher has a backlog,
so that verification never takes a core the index or a save is waiting for. Embedding gives
way to verification in turn (``SyntaxClaims.verifying``): both are background work, and
verification is the shorter job by far, so run first with the cores to itself it ends
sooner, and embedding, which takes whatever is left, ends no later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable

from dbus_fast import DBusError

from codeanalysisd.names import parser_unit
from codeanalysisd.owner.reports import WorkerReports
from codeanalysisd.owner.systemd_units import TRANSACTION_IS_DESTRUCTIVE, JobFailed, SystemdUnits
from codeanalysisd.records import ProjectState

log = logging.getLogger("codeanalysisd.owner")

# A claim lapses after this long without a verdict, or at once when its instance leaves the bus
# (killed or stopped mid-batch). libcst takes up to ~10 s on the largest file it is given.
CLAIM_SECONDS = 120.0
# How long after the watcher's index settles, with files left to verify, the parser units are
# waited for: woken by the same signal as the vectorizer, they ask within moments if they run.
EXPECT_SECONDS = 10.0
PARSER_UNITS = "codeanalysisd-parser@*.service"


class SyntaxClaims:
    """Which parser instance holds which pending file, until it answers or the claim lapses;
    and which instances are verifying, by project: handed files there they will give
    verdicts on, and so ask again at once. ``on_settled`` is called when the last of those
    has nothing left."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], tuple[str, float]] = {}  # (project, path) -> (claimant, until)
        # (claimant, project) -> until when: an instance asks of every project in turn, and
        # one with nothing left in one project may still be verifying another. It lapses
        # with the claims (an instance hung on a file), and with the project (removed, or its
        # root gone: the instance asks no more of it).
        self._working: dict[tuple[str, str], float] = {}
        # Handed files of the project since its last verdict there. An instance answers for
        # a batch before it asks again, so one asking again of the project from here gave no
        # verdict on anything it was handed: it passed all of it over (changed on disk since
        # it was indexed, or the root gone) and verifies nothing there until it changes.
        self._unanswered: set[tuple[str, str]] = set()
        # Until when the parser units are expected to begin (monotonic; 0: not expected), and
        # the instances that have asked, while they are on the bus: with none, none is expected.
        self._expected_until = 0.0
        self._instances: set[str] = set()
        self.on_settled: Callable[[], None] = lambda: None

    def expect(self, now: float) -> None:
        """The watcher's index settled with files left to verify. The signal that says so
        wakes the parser units and the vectorizer alike, and the vectorizer, asking first,
        would take a batch beside verification; so verification counts as begun until an
        instance is handed files, or for ``EXPECT_SECONDS`` if none is. Not at all if no
        instance is on the bus (the units stopped): embedding would wait on nobody after
        every save."""
        if self._instances:
            self._expected_until = now + EXPECT_SECONDS

    def verifying(self, now: float, followed: Callable[[], Collection[str]]) -> bool:
        """Whether any instance is verifying now, in a project ``followed()`` names (asked
        only then: the vectorizer asks this before every batch): embedding waits meanwhile."""
        self._idle([k for k, until in self._working.items() if until <= now])
        if self._working:
            projects = followed()
            self._idle([k for k in self._working if k[1] not in projects])
        return bool(self._working) or now < self._expected_until

    def held_by_others(self, project: str, claimant: str, now: float) -> set[str]:
        return {path for (pid, path), (who, until) in self._held.items()
                if pid == project and who != claimant and until > now}

    def take(self, project: str, claimant: str, paths: Iterable[str], now: float) -> None:
        """The files of the project handed to ``claimant`` by one ask (none: it has nothing to
        do there)."""
        for key in [k for k, (_, until) in self._held.items() if until <= now]:
            del self._held[key]
        handed = 0
        for path in paths:
            self._held[(project, path)] = (claimant, now + CLAIM_SECONDS)
            handed += 1
        self._instances.add(claimant)
        asker = (claimant, project)
        if not handed or asker in self._unanswered:
            self._idle([asker])
        else:
            self._working[asker] = now + CLAIM_SECONDS
        if handed:
            self._unanswered.add(asker)
            self._expected_until = 0.0  # begun: verifying is told by who holds what from here

    def forget(self, claimant: str) -> None:
        """The claimant left the bus (its process ended): its files go to the others at once."""
        self._instances.discard(claimant)
        for key in [k for k, (who, _) in self._held.items() if who == claimant]:
            del self._held[key]
        self._unanswered = {k for k in self._unanswered if k[0] != claimant}
        self._idle([k for k in self._working if k[0] == claimant])

    def release(self, project: str, paths: Iterable[str], now: float) -> None:
        """Verdicts came for these files: whoever held them is verifying, and asks again at once."""
        for path in paths:
            held = self._held.pop((project, path), None)
            if held is not None:
                self._unanswered.discard((held[0], project))
                self._working[(held[0], project)] = now + CLAIM_SECONDS

    def _idle(self, askers: list[tuple[str, str]]) -> None:
        ended = [k for k in askers if k in self._working]
        for key in ended:
            del self._working[key]
        if ended and not self._working:
            self.on_settled()


def verified_in(state: str) -> bool:
    """Whether the parser units verify a project's files in this state: not while its root is
    missing (workers/parser.py asks nothing of such a project)."""
    return state != ProjectState.MISSING


def watcher_busy(reports: WorkerReports, now: float, max_age: float) -> bool:
    """Whether the watcher has files to index or a tree to scan, in any project, by its last
    report (``now`` monotonic). A report older than ``max_age`` seconds (the watcher stopped
    or hung) holds nothing back: verification does not wait for a watcher that is not there."""
    if not reports.backlog_at or now - reports.backlog_at > max_age:
        return False
    return any(b.pending or b.scanning for b in reports.backlog.values())


async def match_parser_units(units: SystemdUnits, count: int) -> None:
    """Start instances 1..count and stop those above it that run, through systemd. A failure
    is a journal line; the others go on."""
    wanted = {parser_unit(n) for n in range(1, count + 1)}
    try:
        loaded = await units.loaded_units(PARSER_UNITS)
    except Exception as exc:  # the bus error says why
        log.error("cannot list the parser units: %s", exc)
        loaded = {}
    extra = sorted(u for u, state in loaded.items() if u not in wanted and state not in ("inactive", "failed"))
    # Mode "fail": an instance requires the DB owner, so in mode "replace" its start would turn
    # a stop of the owner queued meanwhile (the suite stopped just after it started) into a
    # start, and the owner would come back against the administrator's will.
    jobs = [("start", u, units.start_unit(u, mode="fail")) for u in sorted(wanted)]
    jobs += [("stop", u, units.stop_unit(u)) for u in extra]
    results = await asyncio.gather(*(job for _, _, job in jobs), return_exceptions=True)
    for (verb, unit, _), result in zip(jobs, results, strict=True):
        if isinstance(result, DBusError) and result.type == TRANSACTION_IS_DESTRUCTIVE:
            log.info("not starting %s: a stop of the suite is queued (%s)", unit, result.text)
        elif isinstance(result, JobFailed) and result.result == "canceled":
            log.info("the start of %s was canceled: a stop of the suite came after it", unit)
        elif isinstance(result, BaseException):  # polkit, a missing unit file: the message says which
            log.error("cannot %s %s: %s", verb, unit, result)
    if extra:
        log.info("stopped %s: [Parser] Units=%d", ", ".join(extra), count)

"""Every bus handler's way out: domain exceptions to named bus errors, in one table.

``guarded`` wraps each handler of both faces. A bus error raised on purpose passes; an
exception of the table becomes its bus error with the exception's message; anything else
is unexpected: it is logged with its traceback and answered as ``Failed``, naming the
journal. A corrupt database file anywhere in the exception's chain also tells the owner
to restart and rebuild, and a full disk is said once a minute, not once per retry.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import apsw
from dbus_fast import DBusError

from codeanalysisd.bus import errors
from codeanalysisd.db.migrations import MigrationError
from codeanalysisd.db.queries import BadQuery
from codeanalysisd.db.store import ReadTimeout, RootTaken, StoreClosed, UnknownProject
from codeanalysisd.db.vectors import BadVector
from codeanalysisd.index.wire import BadFacts
from codeanalysisd.owner import failures
from codeanalysisd.owner.systemd_units import JobFailed
from codeanalysisd.paths import PathRejected

log = logging.getLogger("codeanalysisd.owner")

# Domain exception -> bus error. The first class the exception is an instance of wins, so
# a subclass stands before its base.
ERRORS: tuple[tuple[type[BaseException], type[errors.ServiceError]], ...] = (
    (UnknownProject, errors.NotFound),
    (failures.Unknown, errors.NotFound),
    (RootTaken, errors.Exists),
    (failures.AlreadyThere, errors.Exists),
    (PathRejected, errors.InvalidArgument),
    (BadQuery, errors.InvalidArgument),
    (BadFacts, errors.InvalidArgument),
    (BadVector, errors.InvalidArgument),
    (failures.Refused, errors.InvalidArgument),
    (failures.Occupied, errors.Busy),
    (ReadTimeout, errors.Busy),
    (StoreClosed, errors.Unavailable),
    (failures.NotRunning, errors.Unavailable),
    (failures.Forbidden, errors.AccessDenied),
    (JobFailed, errors.Failed),
    (MigrationError, errors.Failed),
    (failures.CouldNot, errors.Failed),
)

DISK_FULL_LOG_EVERY = 60.0


def bus_error(exc: BaseException) -> errors.ServiceError | None:
    """The bus error a domain exception is answered with, or None if it is unexpected."""
    for kind, error in ERRORS:
        if isinstance(exc, kind):
            return error(str(exc))
    return None


def _in_chain(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of these kinds in exc's chain. SQLite rolls a transaction back by
    itself on some errors (a full disk): apsw's rollback then fails with "no transaction is
    active", and the error that matters is the one it happened during."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class Guard:
    """The owner's reaction to what goes wrong in a handler: one per owner, shared by both faces."""

    def __init__(self, on_corrupt: Callable[[BaseException], None] = lambda exc: None) -> None:
        self._on_corrupt = on_corrupt
        self._full_logged_at: float | None = None

    def answer(self, handler: str, exc: Exception) -> DBusError:
        if isinstance(exc, DBusError):
            return exc
        if (known := bus_error(exc)) is not None:
            return known
        if (corrupt := _in_chain(exc, (apsw.CorruptError, apsw.NotADBError))) is not None:
            self._on_corrupt(corrupt)
        if _in_chain(exc, (apsw.FullError,)) is not None:
            return self._disk_full(handler)
        log.error("%s failed unexpectedly: %s: %s", handler, type(exc).__name__, exc, exc_info=exc)
        return errors.Failed(f"{handler} failed: {type(exc).__name__}: {exc} "
                             "(details: journalctl -u codeanalysisd-db.service)")

    def _disk_full(self, what: str) -> errors.Failed:
        """The transaction was rolled back: nothing committed is lost, reads go on, and the
        writer retries. Said at error priority, once a minute while it lasts."""
        now = time.monotonic()
        if self._full_logged_at is None or now - self._full_logged_at >= DISK_FULL_LOG_EVERY:
            self._full_logged_at = now
            log.error("the disk holding the database is full: %s could not be written (rolled back; queries are "
                      "still answered; writing resumes when space returns)", what)
        return errors.Failed(f"{what}: the disk holding the database is full; nothing was written, try again "
                             "when there is space")


_UNGUARDED = Guard()  # for a handler whose object has no guard of its own (never in the owner)

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def _answering(args: tuple[Any, ...], handler: str) -> Iterator[None]:
    """Around one call of a face's handler: count it (the Manager face counts the calls it
    answers, WorkerStatus shows them), and answer its exception by the face's guard."""
    face = args[0] if args else None
    if (count := getattr(face, "count_call", None)) is not None:
        count()
    try:
        yield
    except Exception as exc:
        guard = getattr(face, "guard", None)
        answer = (guard if isinstance(guard, Guard) else _UNGUARDED).answer(handler, exc)
        if answer is exc:
            raise
        raise answer from exc


def guarded(handler: F) -> F:
    """Answer every exception of ``handler`` (a method of a face with a ``guard``) by the table."""
    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            with _answering(args, handler.__name__):
                return await handler(*args, **kwargs)
        return run_async  # type: ignore[return-value]

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _answering(args, handler.__name__):
            return handler(*args, **kwargs)
    return run  # type: ignore[return-value]

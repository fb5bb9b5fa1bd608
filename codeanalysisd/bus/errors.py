"""Named bus errors: ``org.codeanalysis1.Error.<Name>`` with a message a person can act on."""

from __future__ import annotations

from dbus_fast import DBusError

from codeanalysisd.names import ERROR_PREFIX


class ServiceError(DBusError):
    """Base of the suite's errors; the class name is the bus error's last component."""

    name = "Failed"

    def __init__(self, message: str) -> None:
        super().__init__(ERROR_PREFIX + self.name, message)


class InvalidArgument(ServiceError):
    name = "InvalidArgument"


class NotFound(ServiceError):
    name = "NotFound"


class Exists(ServiceError):
    name = "Exists"


class AccessDenied(ServiceError):
    name = "AccessDenied"


class Busy(ServiceError):
    name = "Busy"


class Failed(ServiceError):
    name = "Failed"


class Unavailable(ServiceError):
    """A part the call needs is not running (the vectorizer, for semantic search)."""

    name = "Unavailable"


_BY_NAME: dict[str, type[ServiceError]] = {
    ERROR_PREFIX + cls.name: cls
    for cls in (InvalidArgument, NotFound, Exists, AccessDenied, Busy, Failed, Unavailable)
}


def of(exc: DBusError) -> ServiceError | None:
    """A bus error a client received, as the suite's class (``None`` if it is not one of
    the suite's): callers match errors with ``isinstance``, never by comparing names."""
    if isinstance(exc, ServiceError):
        return exc
    cls = _BY_NAME.get(exc.type)
    return cls(exc.text) if cls is not None else None

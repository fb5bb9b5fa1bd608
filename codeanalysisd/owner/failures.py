"""What the owner's core raises when it refuses a request or cannot carry it out.

The core never raises bus errors: it raises these (or a lower layer's own exceptions),
and ``owner/guard.py`` maps each class to exactly one ``org.codeanalysis1.Error.*``.
The message is the one the caller reads: it says what to do.
"""

from __future__ import annotations


class Refused(ValueError):
    """The request is wrong as given: an argument the caller must change."""


class Unknown(LookupError):
    """What the request names (a project, a version, a model) does not exist."""


class AlreadyThere(Exception):
    """Doing it would replace or duplicate something that exists."""


class Occupied(RuntimeError):
    """Another operation holds what this one needs; the same request succeeds later."""


class NotRunning(RuntimeError):
    """A part of the suite the request needs is not running or not ready."""


class Forbidden(Exception):
    """The request was refused by a party that decides who may do what (systemd, polkit)."""


class CouldNot(RuntimeError):
    """The request was valid but could not be carried out; the message says why."""

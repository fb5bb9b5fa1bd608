"""Logging to the journal with real priorities and structured fields.

Under systemd, records go over journald's native protocol, so each line carries its
PRIORITY, the code location and, where the caller passes them, the project and path
(``log.info("...", extra={"project": pid, "path": p})`` becomes CODEANALYSIS_PROJECT= and
CODEANALYSIS_PATH=; ``journalctl CODEANALYSIS_PROJECT=x`` finds them). Outside systemd,
or when the journal socket refuses a datagram, the record goes to stderr with a
``<N>`` syslog prefix, which journald would also parse for the priority.
"""

from __future__ import annotations

import logging
import os
import socket
import sys

JOURNAL_SOCKET = "/run/systemd/journal/socket"
# journald accepts datagrams up to its socket buffer; keep messages well below it rather
# than implementing the memfd path for rare huge messages.
_MAX_MESSAGE = 32 * 1024

_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
# logging has no "notice"; NOTICE sits between INFO and WARNING and maps to syslog 5.
NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")
_PRIORITY[NOTICE] = 5

_EXTRA_FIELDS = {"project": "CODEANALYSIS_PROJECT", "path": "CODEANALYSIS_PATH", "unit": "CODEANALYSIS_UNIT"}


def priority_of(levelno: int) -> int:
    for level in sorted(_PRIORITY, reverse=True):
        if levelno >= level:
            return _PRIORITY[level]
    return 7


def _field(name: str, value: str) -> bytes:
    data = value.encode("utf-8", "backslashreplace")
    if b"\n" in data:
        return name.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


class JournalHandler(logging.Handler):
    """Sends records to journald's native socket; falls back to stderr per record."""

    def __init__(self, identifier: str) -> None:
        super().__init__()
        self.identifier = identifier
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if len(message) > _MAX_MESSAGE:
                message = message[:_MAX_MESSAGE] + " [truncated]"
            fields = [
                _field("MESSAGE", message),
                _field("PRIORITY", str(priority_of(record.levelno))),
                _field("SYSLOG_IDENTIFIER", self.identifier),
                _field("CODE_FILE", record.pathname),
                _field("CODE_LINE", str(record.lineno)),
                _field("CODE_FUNC", record.funcName),
            ]
            for attr, name in _EXTRA_FIELDS.items():
                value = getattr(record, attr, None)
                if value is not None:
                    fields.append(_field(name, str(value)))
            self._sock.sendto(b"".join(fields), JOURNAL_SOCKET)
        except OSError:
            # A full or missing journal must never take the service down (a failure of the
            # earlier system: it died logging inside an error handler on a full disk).
            _stderr_line(record, self.format(record))
        except Exception:
            self.handleError(record)


def _stderr_line(record: logging.LogRecord, message: str) -> None:
    try:
        sys.stderr.write(f"<{priority_of(record.levelno)}>{message}\n")
        sys.stderr.flush()
    except OSError:
        pass


class _StderrHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _stderr_line(record, self.format(record))


def setup(identifier: str, debug: bool = False) -> logging.Logger:
    """Route the root logger to the journal (under systemd) or stderr."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    under_journal = "JOURNAL_STREAM" in os.environ or "INVOCATION_ID" in os.environ
    if under_journal and os.path.exists(JOURNAL_SOCKET):
        handler: logging.Handler = JournalHandler(identifier)
    else:
        handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    return logging.getLogger(identifier)

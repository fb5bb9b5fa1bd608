"""How a path that arrives from outside (the bus, the command line) is checked and normalized.

One place for the rule, so every entry point agrees: absolute, no ``..`` component, no NUL,
canonical (symlinks resolved), and, for a path inside a project, still inside the project
root after resolution (a symlink must not lead out of it).
"""

from __future__ import annotations

import os
import stat

MAX_PATH = 4096


class PathRejected(ValueError):
    """The path is not acceptable; the message says why in words a user can act on."""


def _check_text(raw: str, what: str) -> None:
    if not raw:
        raise PathRejected(f"{what} is empty")
    if "\0" in raw:
        raise PathRejected(f"{what} contains a NUL byte")
    if len(raw.encode("utf-8", "surrogateescape")) > MAX_PATH:
        raise PathRejected(f"{what} is longer than {MAX_PATH} bytes")
    if ".." in raw.split("/"):
        raise PathRejected(f"{what} must not contain '..': {raw!r}")


def _check_syntax(raw: str, what: str) -> None:
    _check_text(raw, what)
    if not raw.startswith("/"):
        raise PathRejected(f"{what} must be an absolute path, got {raw!r}")


def relative(raw: str, what: str = "path") -> str:
    """A path relative to a project root, in the one canonical spelling the index stores:
    POSIX components, none of them empty, ``.`` or ``..``, and no NUL. Workers send paths
    this way; anything else is refused, never normalized. (Length is checked where a path
    comes from a person: a tree may be deeper than one PATH_MAX, and is read with openat.)"""
    if not raw:
        raise PathRejected(f"{what} is empty")
    if "\0" in raw:
        raise PathRejected(f"{what} contains a NUL byte")
    if raw.startswith("/") or any(part in ("", ".", "..") for part in raw.split("/")):
        raise PathRejected(f"{what} must be relative to the project root, in canonical form: {raw!r}")
    return raw


def absolute(raw: str, what: str = "project root") -> str:
    """An absolute path from outside, checked (no NUL, no ``..``, not too long) and with
    repeated or trailing slashes and ``.`` components folded; nothing on disk is looked at."""
    _check_syntax(raw, what)
    return "/" + "/".join(p for p in raw.split("/") if p not in ("", "."))


def project_root(raw: str) -> str:
    """Canonical form of a directory to register as a project root."""
    _check_syntax(raw, "project root")
    resolved = os.path.realpath(raw)
    try:
        st = os.stat(resolved)
    except FileNotFoundError:
        raise PathRejected(f"project root {raw!r} does not exist (as seen by the service)") from None
    except PermissionError:
        raise PathRejected(f"project root {raw!r} is not accessible to the service user") from None
    except OSError as exc:  # a symlink loop, a name too long for the filesystem, ...
        raise PathRejected(f"project root {raw!r} cannot be used: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise PathRejected(f"project root {raw!r} is not a directory")
    if not os.access(resolved, os.R_OK | os.X_OK):
        raise PathRejected(f"project root {raw!r} is not readable by the service user")
    return resolved


def roots_overlap(a: str, b: str) -> bool:
    """True when one root is the other or contains it (a file may belong to one project only)."""
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def project_relpath(root: str, raw: str) -> str:
    """A file path from outside, as the POSIX path relative to the project root it must lie in.

    Accepts a path relative to the root or an absolute one under it; never touches the disk
    (the file may exist only in the index or its history).
    """
    _check_text(raw, "path")
    if raw.startswith("/"):
        prefix = root.rstrip("/") + "/"
        if not raw.startswith(prefix):
            raise PathRejected(f"{raw!r} is outside the project root {root}")
        raw = raw[len(prefix):]
    rel = "/".join(p for p in raw.split("/") if p not in ("", "."))
    if not rel:
        raise PathRejected(f"{raw!r} names the project root, not a file")
    return relative(rel)

"""Checking a tool's arguments against the tool's own input schema.

The schema an agent reads (``tools/list``) is the one the arguments are checked against, so
the two cannot disagree. Only what the tools' schemas use is understood: an object of
string, integer, number and boolean properties with ``enum``, ``minimum``/``maximum``,
``minLength``/``maxLength``, ``default``, ``required`` and no other properties. A bad
argument is a tool error naming the argument and what it must be, never a failure of the
server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codeanalysisd.names import ERROR_PREFIX

INVALID_ARGUMENT = ERROR_PREFIX + "InvalidArgument"
SHOWN = 60  # characters of a bad value quoted back


class ToolError(Exception):
    """A tool's answer is an error: the bus error's name (the bridge's own refusals use the
    service's names for the same thing) and a message that says what to do."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def invalid(message: str) -> ToolError:
    return ToolError(INVALID_ARGUMENT, message)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def _integer(name: str, value: Any) -> int:
    # JSON has one number type: 5.0 is 5, but true is not 1 and "5" is not a number
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"{name} must be an integer, not {_shown(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise invalid(f"{name} must be a whole number, not {_shown(value)}")
        return int(value)
    return value


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN
        raise invalid(f"{name} must be a number, not {_shown(value)}")
    return float(value)


def _one(name: str, spec: Mapping[str, Any], value: Any) -> Any:
    kind = spec.get("type")
    if kind == "string":
        if not isinstance(value, str):
            raise invalid(f"{name} must be a string, not {_shown(value)}")
        if "\0" in value:
            raise invalid(f"{name} must not hold a NUL character")
        if len(value) < spec.get("minLength", 0):
            raise invalid(f"{name} must not be empty" if spec.get("minLength") == 1
                          else f"{name} must be at least {spec['minLength']} characters")
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            raise invalid(f"{name} must be at most {spec['maxLength']} characters, not {len(value)}")
        checked: Any = value
    elif kind == "integer":
        checked = _integer(name, value)
    elif kind == "number":
        checked = _number(name, value)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise invalid(f"{name} must be true or false, not {_shown(value)}")
        checked = value
    else:  # a schema this module does not understand is a mistake here, not the caller's
        raise TypeError(f"argument {name}: unsupported schema type {kind!r}")
    if "enum" in spec and checked not in spec["enum"]:
        raise invalid(f"{name} must be one of {', '.join(map(str, spec['enum']))}, not {_shown(value)}")
    low, high = spec.get("minimum"), spec.get("maximum")
    if (low is not None and checked < low) or (high is not None and checked > high):
        bounds = f"from {low} to {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        raise invalid(f"{name} must be {bounds}, not {_shown(value)}")
    return checked


def check(schema: Mapping[str, Any], arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    """The arguments, checked, with every default filled in. An argument given as null is
    taken as not given (some clients send every optional argument). With a cursor, the
    required ones may be left out: the cursor holds them."""
    given = {k: v for k, v in (arguments or {}).items() if v is not None}
    properties: Mapping[str, Mapping[str, Any]] = schema.get("properties", {})
    unknown = sorted(set(given) - set(properties))
    if unknown:
        raise invalid(f"unknown argument(s) {', '.join(unknown)}; this tool takes "
                      f"{', '.join(properties) or 'no arguments'}")
    # a cursor carries the query it continues: what it needs was given on the first page
    missing = [name for name in schema.get("required", ()) if name not in given and "cursor" not in given]
    if missing:
        raise invalid(f"{', '.join(missing)} must be given")
    out: dict[str, Any] = {}
    for name, spec in properties.items():
        if name in given:
            out[name] = _one(name, spec, given[name])
        elif "default" in spec:
            out[name] = spec["default"]
    return out

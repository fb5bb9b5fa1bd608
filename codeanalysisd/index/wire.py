"""The facts of one file as the watcher and the repair worker send them to the DB owner: compact JSON.

JSON (C-speed both ways) rather than a nested D-Bus signature keeps the request for a
whole batch of files to one string per file; ``ensure_ascii`` keeps it valid UTF-8 even
for a docstring holding a lone surrogate.

The object has the keys of ``IndexedFacts`` (the module docstring as "docstring", and
"unreadable" only when true; "bindings" and "uses" may be missing, as from a worker that
came before them); each row is an array in the field order of its named tuple.
``decode`` checks every field and every row (type, length, integer range) before anything of
the file is written: a malformed request is refused whole with ``BadFacts``, its batch's
transaction rolled back, never a file half written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from codeanalysisd.index.facts import (
    REFERENCE_KINDS,
    USE_KINDS,
    Binding,
    Definition,
    Import,
    IndexedFacts,
    Reference,
    Use,
)


def encode(facts: IndexedFacts) -> str:
    fields: dict[str, object] = {
        "encoding": facts.encoding,
        "parsed": facts.parsed,
        "problems": facts.problems,
        "docstring": facts.docstring,
        # named tuples are JSON arrays: each row in its field order
        "definitions": facts.definitions,
        "imports": facts.imports,
        "references": facts.references,
        "bindings": facts.bindings,
        "uses": facts.uses,
    }
    if facts.unreadable:
        fields["unreadable"] = True
    return json.dumps(fields, separators=(",", ":"))


class BadFacts(ValueError):
    pass


_KEYS = ("encoding", "parsed", "problems", "docstring", "definitions", "imports", "references")
# bindings and uses came later: facts without them (an unparsed file, a worker from before) have none
_OPTIONAL_KEYS = ("unreadable", "bindings", "uses")


def decode(text: str) -> IndexedFacts:
    """The facts a worker sent, checked field by field and row by row; BadFacts says what is wrong."""
    try:
        facts = json.loads(text)
    except ValueError as exc:
        raise BadFacts(f"facts are not valid JSON: {exc}") from None
    if not isinstance(facts, dict) or any(k not in facts for k in _KEYS):
        raise BadFacts(f"facts must be an object with keys {', '.join(_KEYS)}")
    unknown = sorted(k for k in facts if k not in _KEYS and k not in _OPTIONAL_KEYS)
    if unknown:
        raise BadFacts(f"facts have unknown keys: {', '.join(unknown)}")
    return IndexedFacts(
        encoding=_text_or_none(facts["encoding"], "encoding"),
        parsed=_flag(facts["parsed"], "parsed"),
        problems=_texts(facts["problems"], "problems"),
        docstring=_text_or_none(facts["docstring"], "docstring"),
        definitions=_rows(facts["definitions"], "definitions", _definition, _DEFINITION_SHAPE),
        imports=_rows(facts["imports"], "imports", _import, _IMPORT_SHAPE),
        references=_rows(facts["references"], "references", _reference, _REFERENCE_SHAPE),
        bindings=_rows(facts.get("bindings", []), "bindings", _binding, _BINDING_SHAPE),
        uses=_rows(facts.get("uses", []), "uses", _use, _USE_SHAPE),
        unreadable=_flag(facts.get("unreadable", False), "unreadable"),
    )


def _shown(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _flag(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise BadFacts(f"facts: {key} must be true or false, not {_shown(value)}")
    return value


def _text_or_none(value: object, key: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise BadFacts(f"facts: {key} must be a string or null, not {_shown(value)}")


def _texts(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadFacts(f"facts: {key} must be a list of strings, not {_shown(value)}")
    return tuple(value)


# ---------------------------------------------------------------------------- rows

# A row arrives as a JSON array: json.loads gives list[Any]. Its items are checked below
# (the type of every field at once against the allowed combinations) before a row is made.
_JsonArray = list[Any]
_Row = TypeVar("_Row")

_S, _N = str, type(None)
_DEFINITION_TYPES = frozenset((_S, _S, _S, int, int, int, list, list, _S, doc, parent)
                              for doc in (_S, _N) for parent in (_S, _N))
_IMPORT_TYPES = frozenset((_S, name, alias, int, int, int) for name in (_S, _N) for alias in (_S, _N))
_REFERENCE_TYPES = frozenset({(_S, _S, int, int, _S)})
_BINDING_TYPES = frozenset({(_S, _S, _S, _S, int, int)})
_USE_TYPES = frozenset({(_S, _S, _S, int, int, _S, _S)})
_DEFINITION_SHAPE = ("[qualname, name, kind, line, column, end_line, [decorator, ...], [base, ...], signature, "
                     "docstring or null, parent or null]")
_IMPORT_SHAPE = "[module, name or null, alias or null, level, line, column]"
_REFERENCE_SHAPE = "[name, kind (name, attribute or call), line, column, scope]"
_BINDING_SHAPE = "[scope, name, kind, value, line, column]"
_USE_SHAPE = "[key, expr, kind (name, attribute, call or import), line, column, scope, text]"
# SQLite's integers: a larger one could not be stored.
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 63) - 1


def _rows(value: object, key: str, row: Callable[[_JsonArray], _Row | None], shape: str) -> tuple[_Row, ...]:
    """Each item of a list as a typed row; ``row`` gives None for an item of the wrong shape."""
    if not isinstance(value, list):
        raise BadFacts(f"facts: {key} must be a list, not {_shown(value)}")
    out = []
    for index, item in enumerate(value):
        made = row(item) if type(item) is list else None
        if made is None:
            raise BadFacts(f"facts: {key}[{index}] must be {shape}, not {_shown(item)}")
        out.append(made)
    return tuple(out)


def _definition(item: _JsonArray) -> Definition | None:
    if tuple(map(type, item)) not in _DEFINITION_TYPES:
        return None
    qualname, name, kind, line, column, end_line, decorators, bases, signature, docstring, parent = item
    if not (_INT_MIN <= line <= _INT_MAX and _INT_MIN <= column <= _INT_MAX and _INT_MIN <= end_line <= _INT_MAX):
        return None
    if not all(type(d) is str for d in decorators) or not all(type(b) is str for b in bases):
        return None
    return Definition(qualname, name, kind, line, column, end_line, tuple(decorators), tuple(bases), signature,
                      docstring, parent)


def _import(item: _JsonArray) -> Import | None:
    if tuple(map(type, item)) not in _IMPORT_TYPES:
        return None
    if not (_INT_MIN <= item[3] <= _INT_MAX and _INT_MIN <= item[4] <= _INT_MAX and _INT_MIN <= item[5] <= _INT_MAX):
        return None
    return Import._make(item)


def _reference(item: _JsonArray) -> Reference | None:
    if tuple(map(type, item)) not in _REFERENCE_TYPES or not (_INT_MIN <= item[2] <= _INT_MAX and
                                                              _INT_MIN <= item[3] <= _INT_MAX):
        return None
    return Reference._make(item) if item[1] in REFERENCE_KINDS else None


def _binding(item: _JsonArray) -> Binding | None:
    if tuple(map(type, item)) not in _BINDING_TYPES or not (_INT_MIN <= item[4] <= _INT_MAX and
                                                            _INT_MIN <= item[5] <= _INT_MAX):
        return None
    return Binding._make(item)


def _use(item: _JsonArray) -> Use | None:
    if tuple(map(type, item)) not in _USE_TYPES or not (_INT_MIN <= item[3] <= _INT_MAX and
                                                        _INT_MIN <= item[4] <= _INT_MAX):
        return None
    return Use._make(item) if item[2] in USE_KINDS else None

"""The facts of one file as the watcher and the repair worker send them to the DB owner: compact JSON.

JSON (C-speed both ways) rather than a nested D-Bus signature keeps the request for a
whole batch of files to one string per file; ``ensure_ascii`` keeps it valid UTF-8 even
for a docstring holding a lone surrogate.

The object has the keys of ``IndexedFacts`` (the module docstring as "docstring",
"unreadable" only when true, "nodes" only when counted). Definitions and imports, a few
rows a file, are arrays in the field order of their named tuples. References, bindings and
uses, a row for about every name in the source, go as columns (``"form": 2``): one array
per field, each text as its number in the file's "strings", where every distinct text is
once. A scope, a kind or a name repeats on row after row; written once, the standard
library's facts are 51 MB instead of 117 (``bench/index_cost.py``), and the owner, on whose
write thread they are decoded, builds the rows from columns checked a column at a time
(``map`` at C speed) instead of row by row. Facts without "form" are the rows form older
workers sent (references, bindings and uses as arrays per row, like definitions; "bindings"
and "uses" possibly missing): they are read as before, so a worker not yet restarted after
an upgrade is still heard.

``decode`` checks every field and every row (type, length, integer range, a text's number)
before anything of the file is written: a malformed request is refused whole with
``BadFacts``, its batch's transaction rolled back, never a file half written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any, NamedTuple, TypeVar

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

FORM = 2  # the columns form; facts without "form" are the rows form


class _Columns(NamedTuple):
    """How rows of one kind go as columns."""

    make: Callable[..., Any]  # the row from its fields
    texts: tuple[bool, ...]  # per field: a text (sent as its number in "strings") or an integer
    kind: int | None  # the field holding the row's kind, checked against kinds
    kinds: frozenset[str]
    shape: str  # the fields, for a person reading an error


_COLUMNS: dict[str, _Columns] = {
    "references": _Columns(Reference, (True, True, False, False, True), 1, REFERENCE_KINDS,
                           "[name], [kind], [line], [column], [scope]"),
    "bindings": _Columns(Binding, (True, True, True, True, False, False), None, frozenset(),
                         "[scope], [name], [kind], [value], [line], [column]"),
    "uses": _Columns(Use, (True, True, True, False, False, True, True), 2, USE_KINDS,
                     "[key], [expr], [kind], [line], [column], [scope], [text]"),
}


def encode(facts: IndexedFacts) -> str:
    columns = {key: list(zip(*getattr(facts, key), strict=True)) or [()] * len(spec.texts)
               for key, spec in _COLUMNS.items()}
    # Every text of every text column, in order of first appearance: dict keeps it.
    strings = list(dict.fromkeys(chain.from_iterable(
        column for key, spec in _COLUMNS.items()
        for column, text in zip(columns[key], spec.texts, strict=True) if text)))
    number = dict(zip(strings, range(len(strings)), strict=True)).__getitem__
    fields: dict[str, object] = {
        "encoding": facts.encoding,
        "parsed": facts.parsed,
        "problems": facts.problems,
        "docstring": facts.docstring,
        # named tuples are JSON arrays: each row in its field order
        "definitions": facts.definitions,
        "imports": facts.imports,
        "form": FORM,
        "strings": strings,
    }
    for key, spec in _COLUMNS.items():
        fields[key] = [list(map(number, column)) if text else column
                       for column, text in zip(columns[key], spec.texts, strict=True)]
    if facts.unreadable:
        fields["unreadable"] = True
    if facts.nodes is not None:
        fields["nodes"] = facts.nodes
    return json.dumps(fields, separators=(",", ":"))


class BadFacts(ValueError):
    pass


_KEYS = ("encoding", "parsed", "problems", "docstring", "definitions", "imports", "references")
# bindings and uses came later: facts in rows without them (from a worker before them) have
# none; nor have facts from a worker before the count of nodes
_OPTIONAL_KEYS = ("unreadable", "bindings", "uses", "form", "strings", "nodes")


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
    if "form" in facts:
        if facts["form"] != FORM or type(facts["form"]) is not int:
            raise BadFacts(f"facts: form must be {FORM} (columns) or missing (rows), not {_shown(facts['form'])}")
        strings = _texts(facts.get("strings"), "strings")
        references, bindings, uses = (_columns(facts.get(key), key, spec, strings) for key, spec in _COLUMNS.items())
    elif "strings" in facts:
        raise BadFacts(f"facts: strings come only with form {FORM}")
    else:
        references = _rows(facts["references"], "references", _reference, _REFERENCE_SHAPE)
        bindings = _rows(facts.get("bindings", []), "bindings", _binding, _BINDING_SHAPE)
        uses = _rows(facts.get("uses", []), "uses", _use, _USE_SHAPE)
    return IndexedFacts(
        encoding=_text_or_none(facts["encoding"], "encoding"),
        parsed=_flag(facts["parsed"], "parsed"),
        problems=_texts(facts["problems"], "problems"),
        docstring=_text_or_none(facts["docstring"], "docstring"),
        definitions=_rows(facts["definitions"], "definitions", _definition, _DEFINITION_SHAPE),
        imports=_rows(facts["imports"], "imports", _import, _IMPORT_SHAPE),
        references=references,
        bindings=bindings,
        uses=uses,
        unreadable=_flag(facts.get("unreadable", False), "unreadable"),
        nodes=_count(facts["nodes"], "nodes") if "nodes" in facts else None,
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


def _count(value: object, key: str) -> int:
    # type() rather than isinstance: a boolean is no count
    if type(value) is int and 0 <= value <= _INT_MAX:
        return value
    raise BadFacts(f"facts: {key} must be a count (an integer from 0 to {_INT_MAX}) or missing, not {_shown(value)}")


def _texts(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not set(map(type, value)) <= {str}:
        raise BadFacts(f"facts: {key} must be a list of strings, not {_shown(value)}")
    return tuple(value)


# ---------------------------------------------------------------------------- columns

def _columns(value: object, key: str, spec: _Columns, strings: Sequence[str]) -> tuple[Any, ...]:
    """Rows sent as columns: each column checked whole, then the rows made from them."""
    width = len(spec.texts)
    if (not isinstance(value, list) or len(value) != width or not all(type(c) is list for c in value)
            or len({len(c) for c in value}) != 1):
        raise BadFacts(f"facts: {key} must be {width} columns of equal length, {spec.shape}, not {_shown(value)}")
    get = strings.__getitem__
    fields: list[Any] = []
    for index, (column, text) in enumerate(zip(value, spec.texts, strict=True)):
        # type() rather than isinstance: a boolean is no integer here
        if not set(map(type, column)) <= {int}:
            raise BadFacts(f"facts: {key} column {index} must hold only integers, not {_shown(column)}")
        low, high = (0, len(strings) - 1) if text else (_INT_MIN, _INT_MAX)
        if column and not (low <= min(column) and max(column) <= high):
            what = f"numbers of strings (0 to {len(strings) - 1})" if text else "integers SQLite can store"
            raise BadFacts(f"facts: {key} column {index} must hold {what}, not {_shown(column)}")
        fields.append(list(map(get, column)) if text else column)
    if spec.kind is not None and not set(fields[spec.kind]) <= spec.kinds:
        odd = sorted(set(fields[spec.kind]) - spec.kinds)
        raise BadFacts(f"facts: {key} hold a kind other than {', '.join(sorted(spec.kinds))}: {_shown(odd)}")
    return tuple(map(spec.make, *fields))


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

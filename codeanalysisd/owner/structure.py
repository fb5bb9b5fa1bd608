"""The Manager's structure questions: outlines, imports, class hierarchies, calls and usages.

Every answer is worked out when asked, on a read thread with the read deadline, from the
files' facts as the index holds them now (``index/resolve.py``): a saved file changes the
answers as soon as its rows are written, and a repair that brings the rows in line with disk
brings these answers with them. What is kept between questions is a ``Model`` per project: the
facts read so far and what was worked out from them, valid while the project's generation
(moved by every change of its file rows, in the writing transaction) stays the same.

Each answer is filtered for its caller like every other (``permissions.View``): rows only
from files they could read, and nothing followed through a file they could not. A reply
holds at most ``MAX_ROWS`` rows (FindUsages: its limit); one cut short ends with a row whose
first field is empty, whose first number says how many rows were left out (at least), and
whose text says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from codeanalysisd import paths
from codeanalysisd.db.store import Reads
from codeanalysisd.index.resolve import (
    CLASS,
    FUNCTION,
    MODULE,
    VARIABLE,
    CallRow,
    ClassRow,
    ImportRow,
    Model,
    Unknown,
    UsageRow,
    Val,
)
from codeanalysisd.owner import failures
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.lookup import MAX_LIMIT, projects_of
from codeanalysisd.owner.permissions import View
from codeanalysisd.records import ProjectInfo

T = TypeVar("T")

MAX_ROWS = MAX_LIMIT  # rows of one reply, at most (and FindUsages's largest limit)
DEFAULT_USAGES = 100
MAX_COUNTED = 10_000  # rows beyond the limit counted for the last row; past this it says "at least"
MAX_DEPTH = 64  # levels a transitive question (depth 0) follows
MAX_NAME = 1000  # characters of a module, class, symbol or target asked for
DIRECTIONS = {"imports": ("out", "in"), "hierarchy": ("up", "down"), "calls": ("callers", "callees", "both")}


# ---------------------------------------------------------------------------- arguments


def _name(text: str, what: str, example: str) -> str:
    text = text.strip()
    if not text:
        raise failures.Refused(f"{what} is empty: give {example}")
    if len(text) > MAX_NAME or "\0" in text:
        raise failures.Refused(f"{what} must be at most {MAX_NAME} characters, without NUL")
    return text


def _dotted(text: str, what: str, example: str) -> str:
    text = _name(text, what, example)
    # Python's own qualified names: a definition inside a function is f.<locals>.g
    if not all(part.isidentifier() or (part == "<locals>" and 0 < n < text.count(".")) for n, part in
               enumerate(text.split("."))):
        raise failures.Refused(f"{what} {text!r} is not a dotted name: give {example}")
    return text


def _direction(kind: str, given: str) -> str:
    allowed = DIRECTIONS[kind]
    if given not in allowed:
        raise failures.Refused(f"direction must be {', '.join(allowed[:-1])} or {allowed[-1]}, not {given!r}")
    return given


def _depth(depth: int) -> int:
    return MAX_DEPTH if depth == 0 or depth > MAX_DEPTH else int(depth)


def _unknown(project: ProjectInfo, what: str) -> failures.Unknown:
    return failures.Unknown(f"{what} is not in project {project.id!r}")


def _visible(view: View, project: ProjectInfo) -> Callable[[str], bool]:
    if view.all_seeing:
        return lambda path: True
    return lambda path: not path or view.sees_file(project, path)


def _cut(rows: Iterable[T], limit: int) -> tuple[list[T], int]:
    """The first ``limit`` rows, and how many more there are (counted up to MAX_COUNTED)."""
    it = iter(rows)
    kept = list(itertools.islice(it, limit))
    more = sum(1 for _ in itertools.islice(it, MAX_COUNTED))
    return kept, more


def more_text(more: int, what: str, hint: str = "") -> str:
    counted = f"at least {more}" if more >= MAX_COUNTED else str(more)
    return f"{counted} more {what} not shown{hint}"


def _unique(rows: Iterable[T]) -> Iterator[T]:
    seen: set[T] = set()
    for row in rows:
        if row not in seen:
            seen.add(row)
            yield row


# ---------------------------------------------------------------------------- the questions


@dataclass(frozen=True)
class OutlineRow:
    qualname: str
    kind: str
    line: int
    end_line: int
    depth: int
    signature: str


async def outline(core: OwnerCore, view: View, project: str, path: str) -> tuple[list[OutlineRow], int]:
    """A file's definitions in source order, each with how deeply it is nested."""
    found = await core.visible_project(project, view)
    rel = paths.project_relpath(found.root, path)

    def run(reads: Reads) -> tuple[list[OutlineRow], int]:
        rows = reads.structure.outline(found.id, rel) if view.sees_file(found, rel) else None
        if rows is None:
            raise failures.Unknown(f"{rel} is not a live file of project {found.id!r}")
        depth: dict[str, int] = {}
        out = []
        for qualname, kind, line, end_line, parent, signature in rows:
            depth[qualname] = level = depth.get(parent, -1) + 1 if parent is not None else 0
            out.append(OutlineRow(qualname, kind, line, end_line, level, signature))
        return out[:MAX_ROWS], max(len(out) - MAX_ROWS, 0)

    return await core.store.read(run)


async def imports(core: OwnerCore, view: View, project: str, module: str, direction: str, depth: int
                  ) -> tuple[list[ImportRow], int]:
    found = await core.visible_project(project, view)
    direction, module = _direction("imports", direction), _name(module, "module", "a dotted name or a path")
    levels = _depth(depth)

    def question(model: Model) -> tuple[list[ImportRow], int]:
        try:
            start = model.module_named(module)
        except Unknown as exc:
            raise failures.Unknown(str(exc)) from None
        visible = _visible(view, found)
        if not visible(model.path_of(start)):
            raise _unknown(found, f"module {module!r}")
        return _cut(_unique(model.imports(start, direction, levels, visible)), MAX_ROWS)

    return await core.store.read(lambda r: core.structure.run(r, found, question))


async def import_chain(core: OwnerCore, view: View, project: str, importer: str, imported: str) -> list[str]:
    found = await core.visible_project(project, view)
    importer = _name(importer, "importer", "a dotted module name or a path")
    imported = _name(imported, "imported", "a dotted module name or a path")

    def question(model: Model) -> list[str]:
        try:
            start, end = model.module_named(importer), model.module_named(imported)
        except Unknown as exc:
            raise failures.Unknown(str(exc)) from None
        return model.import_chain(start, end, _visible(view, found))

    return await core.store.read(lambda r: core.structure.run(r, found, question))


async def class_hierarchy(core: OwnerCore, view: View, project: str, name: str, direction: str
                          ) -> tuple[list[ClassRow], int]:
    found = await core.visible_project(project, view)
    direction = _direction("hierarchy", direction)
    name = _dotted(name, "class", "a class by qualified (email.message.Message) or plain name (Message)")

    def question(model: Model) -> tuple[list[ClassRow], int]:
        visible = _visible(view, found)
        starts = [c for c in model.classes(name) if visible(model.path_of(c.module))]
        if not starts:
            raise _unknown(found, f"class {name!r}")
        walk = model.superclasses if direction == "up" else model.subclasses
        return _cut(itertools.chain.from_iterable(walk(start, visible) for start in starts), MAX_ROWS)

    return await core.store.read(lambda r: core.structure.run(r, found, question))


def _callable(model: Model, symbol: str) -> Val | None:
    value = model.find(symbol)
    if value is not None and value.kind == VARIABLE:
        value = model.value(value.expr, value.module) if value.expr and value.expr[0] != "?" else None
    return value if value is not None and value.kind in (FUNCTION, CLASS, MODULE) else None


def _call_walk(model: Model, start: Val, direction: str, levels: int, visible: Callable[[str], bool]
               ) -> Iterator[CallRow]:
    """Calls breadth first from ``start``, following what was resolved, each function once."""
    seen = {start}
    frontier = [start]
    for _level in range(levels):
        following: list[Val] = []
        for current in frontier:
            if direction == "callers":
                for row in model.callers(current, visible):
                    yield row
                    caller = model.find(row.caller) if row.resolution == "resolved" else None
                    if caller is not None and caller.kind in (FUNCTION, MODULE) and caller not in seen:
                        seen.add(caller)
                        following.append(caller)
            else:
                for row, callee in model.callees(current, visible):
                    yield row
                    if callee is not None and callee.kind == FUNCTION and callee.module and callee not in seen:
                        seen.add(callee)
                        following.append(callee)
        if not following:
            return
        frontier = following


async def call_graph(core: OwnerCore, view: View, project: str, symbol: str, direction: str, depth: int
                     ) -> tuple[list[CallRow], int]:
    found = await core.visible_project(project, view)
    direction = _direction("calls", direction)
    symbol = _dotted(symbol, "symbol", "a function or method by qualified name (pkg.mod.Class.method)")
    levels = _depth(depth)

    def question(model: Model) -> tuple[list[CallRow], int]:
        visible = _visible(view, found)
        start = _callable(model, symbol)
        if start is None or not visible(model.path_of(start.module)):
            raise _unknown(found, f"function {symbol!r}")
        ways = ("callers", "callees") if direction == "both" else (direction,)
        rows = itertools.chain.from_iterable(_call_walk(model, start, way, levels, visible) for way in ways)
        return _cut(rows, MAX_ROWS)

    return await core.store.read(lambda r: core.structure.run(r, found, question))


@dataclass(frozen=True)
class Usage:
    project: str
    row: UsageRow


async def find_usages(core: OwnerCore, view: View, target: str, project: str, limit: int
                      ) -> tuple[list[Usage], int]:
    """The uses of a qualified name in one project or in every project the caller sees."""
    target = _dotted(target, "target", "a qualified name (os.path.join, json.JSONEncoder.default, pkg.mod.func)")
    wanted = DEFAULT_USAGES if limit == 0 else min(int(limit), MAX_ROWS)
    if project:
        chosen = [await core.visible_project(project, view)]
    else:
        listed = await core.store.read(lambda r: r.projects.list())
        chosen = [p for p in listed if view.sees_project(p)]

    def rows_of(reads: Reads, one: ProjectInfo) -> list[Usage]:
        def question(model: Model) -> list[Usage]:
            visible = _visible(view, one)
            value = model.find(target)
            found = model.usages(value, visible) if value is not None else model.external_usages(target, visible)
            return [Usage(one.id, row) for row in itertools.islice(found, wanted + MAX_COUNTED)]

        return core.structure.run(reads, one, question)

    def run(reads: Reads) -> tuple[list[Usage], int]:
        projects = projects_of(reads)
        rows: list[Usage] = []
        for one in chosen:
            if projects(one.id) is None:
                continue  # removed since it was listed
            rows.extend(rows_of(reads, one))
            if len(rows) > wanted + MAX_COUNTED:
                break
        return rows[:wanted], min(len(rows) - min(len(rows), wanted), MAX_COUNTED)

    return await core.store.read(run)

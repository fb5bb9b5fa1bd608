"""Following names across a project's files: the other half of ``scopes.py``.

Each file's facts say what its names denote as far as that file can tell (``expressions.py``).
This finishes the job over the whole project, when a question is asked: an import is
followed to the module it names (``modules.py``), a module's name to what its namespace
binds (definitions, imports, assignments, then its star imports, honouring ``__all__``), an
attribute of a class or an instance along the class's bases in method resolution order, a
call to what a class or a function returns (its annotation, or its ``return``), and an
assignment of a name (``Charset = _charset.Charset``) to what it is an alias of.

Nothing here is stored: the answers are worked out from the files' facts as they are now,
so a saved file changes them at once, and a repaired index is right by construction. What
is kept in memory (``Model``) is a cache of those facts, each file's dropped when its row
changes, and what was worked out from them, dropped on any change of the project.

Pure: the facts come from a ``Source`` (the database's rows in the owner, a dictionary in the
tests), and whether the caller may see a file from a predicate on its path.
"""

from __future__ import annotations

import builtins
import json
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from codeanalysisd.index import expressions as ex
from codeanalysisd.index.facts import Binding, Import, Use
from codeanalysisd.index.modules import ModuleMap, is_package, resolve_relative

__all__ = [
    "CallRow", "ClassRow", "DefinitionRow", "ImportRow", "Model", "Skeleton", "Source", "UsageRow",
]

# Kinds of what an expression evaluates to.
MODULE, CLASS, INSTANCE, FUNCTION = "module", "class", "instance", "function"
VARIABLE, EXTERNAL = "variable", "external"
ITEMS = "items"  # a collection of what its expr says: "<kind>|<expr>" of the item (with module and name)
_DEPTH = 24  # steps of following one name through others before it counts as unknown
_PROPERTIES = frozenset({"property", "functools.cached_property", "cached_property"})
# Definitions a name may denote when an outline or a qualified name is asked for.
FUNCTION_KINDS = frozenset({"function", "async_function", "method", "async_method"})
# What the builtin types answer to: `x.append` on an x nobody knows is as likely a list's.
_BUILTIN_ATTRIBUTES = frozenset(
    name for kind in vars(builtins).values() if isinstance(kind, type) for name in dir(kind))


class DefinitionRow(NamedTuple):
    qualname: str
    kind: str
    line: int
    end_line: int
    decorators: tuple[str, ...]
    parent: str | None


@dataclass
class Skeleton:
    """What other files need to know of one file: its definitions and its bindings."""

    definitions: dict[str, DefinitionRow] = field(default_factory=dict)
    namespace: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)  # name -> (line, kind, payload)
    members: dict[str, dict[str, list[tuple[int, str, str]]]] = field(default_factory=dict)  # class -> name -> ...
    bases: dict[str, list[str]] = field(default_factory=dict)  # class qualname -> base expressions in order
    returns: dict[str, str] = field(default_factory=dict)  # function qualname -> what a call gives
    stars: list[str] = field(default_factory=list)
    exports: frozenset[str] | None = None

    @classmethod
    def of(cls, definitions: Iterable[DefinitionRow], bindings: Iterable[Binding]) -> Skeleton:
        made = cls()
        exports: set[str] = set()
        for d in definitions:
            made.definitions[d.qualname] = d
            entry = (d.line, "def", d.qualname)
            if d.parent is None:
                made.namespace.setdefault(d.qualname, []).append(entry)
            else:  # a class's methods and nested classes (and a function's own, never looked up)
                made.members.setdefault(d.parent, {}).setdefault(d.qualname[len(d.parent) + 1:], []).append(entry)
        for b in sorted(bindings, key=lambda b: (b.line, b.column)):
            if b.kind in ("import", "assign") and not b.scope:
                made.namespace.setdefault(b.name, []).append((b.line, b.kind, b.value))
            elif b.kind in ("import", "assign", "attr"):
                made.members.setdefault(b.scope, {}).setdefault(b.name, []).append((b.line, b.kind, b.value))
            elif b.kind == "base":
                made.bases.setdefault(b.scope, []).append(b.value)
            elif b.kind == "return":
                made.returns.setdefault(b.scope, b.value)
            elif b.kind == "star":
                made.stars.append(b.value)
            elif b.kind == "export":
                exports.add(b.name)
        for entries in made.namespace.values():
            entries.sort()
        for names in made.members.values():
            for entries in names.values():
                entries.sort()
        made.exports = frozenset(exports) if exports else None
        return made


class Source(Protocol):
    """Where a project's facts are read from, for the duration of one question."""

    def skeleton(self, file_id: int) -> Skeleton: ...

    def imports(self) -> Iterable[tuple[int, Import]]:
        """Every import of every live file of the project."""
        ...

    def bindings_keyed(self, keys: Collection[str], kinds: Collection[str]) -> Iterable[tuple[int, Binding]]:
        """The bindings of these kinds whose value's last name is one of ``keys``."""
        ...

    def uses_keyed(self, keys: Collection[str], kinds: Collection[str]) -> Iterable[tuple[int, Use]]:
        """The uses of these kinds under one of ``keys``, by path and position."""
        ...

    def uses_in(self, file_id: int, scope: str) -> Iterable[Use]:
        """The uses written directly in one definition (``""``: at module level)."""
        ...

    def classes_named(self, name: str) -> Iterable[tuple[int, str]]:
        """(file, qualname) of the classes with this plain name."""
        ...

    def definers(self, name: str) -> Iterable[tuple[int, str]]:
        """(file, scope) of every definition and binding of ``name`` ("" for a module's own)."""
        ...


class Val(NamedTuple):
    """What an expression evaluates to."""

    kind: str
    module: str  # the module (key) it lives in; "" for something outside the project
    name: str  # qualname in its module; a module's own name; the dotted name of something outside
    expr: str = ""  # a variable's value

    @property
    def qualified(self) -> str:
        if self.kind == MODULE or not self.module:
            return self.name
        return f"{self.module}.{self.name}" if self.name else self.module


class ImportRow(NamedTuple):
    importer: str
    imported: str
    path: str  # the importer's
    line: int


class ClassRow(NamedTuple):
    name: str  # qualified
    module: str
    path: str  # "" outside the project
    line: int
    depth: int


class CallRow(NamedTuple):
    caller: str  # qualified: module and the calling definition (the module itself at its top level)
    callee: str  # qualified when resolved, else as written
    path: str  # of the call
    scope: str  # the calling definition's qualname in its file ("" at module level)
    line: int
    resolution: str  # resolved, name


class UsageRow(NamedTuple):
    path: str
    scope: str
    kind: str
    text: str
    line: int
    column: int
    resolution: str  # resolved, name


class Denoted(NamedTuple):
    resolved: bool  # the expression was followed to something (in the project or outside it)
    names: tuple[str, ...]  # qualified names of what it denotes: the name itself, then what it aliases


Visible = Callable[[str], bool]


class Unknown(LookupError):
    """A module, class or definition the question names is not in the project."""


def definition_rows(rows: Iterable[tuple[str, str, int, int, str, str | None]]) -> list[DefinitionRow]:
    """Definitions as stored (decorators a JSON list) as the resolver takes them."""
    return [DefinitionRow(q, k, line, end, tuple(json.loads(dec)), parent) for q, k, line, end, dec, parent in rows]


class Model:
    """A project's modules and the facts read of its files so far.

    ``refresh`` takes the project's live files as they are now; a file whose row changed is
    read again when next needed, and everything worked out from the facts is dropped. One
    question at a time (the owner holds a lock around each).
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.stamps: dict[int, tuple[str, float]] = {}  # file id -> (path, when indexed)
        self.modules = ModuleMap((), root)
        self.file_of: dict[str, int] = {}  # module key -> file id
        self.key_of: dict[int, str] = {}  # file id -> module key (its name, or its path if it names none)
        self._skeletons: dict[int, Skeleton] = {}
        self._source: Source | None = None
        self._check: Callable[[], None] = lambda: None
        self._forget()

    # ------------------------------------------------------------------ keeping current
    def refresh(self, files: Mapping[int, tuple[str, float]]) -> bool:
        """Bring the model to the project's live files (id -> (path, indexed at)); True if anything changed."""
        if files == self.stamps:
            return False
        for file_id, stamp in self.stamps.items():
            if files.get(file_id) != stamp:
                self._skeletons.pop(file_id, None)
        paths_before = {path for path, _ in self.stamps.values()}
        self.stamps = dict(files)
        if {path for path, _ in files.values()} != paths_before or not self.key_of:
            self.modules = ModuleMap((path for path, _ in files.values()), self.root)
        by_path = {path: file_id for file_id, (path, _) in files.items()}
        self.key_of = {by_path[path]: key for path, key in self.modules.name_of.items()}
        self.file_of = {key: file_id for file_id, key in self.key_of.items()}
        self._forget()
        return True

    def _forget(self) -> None:
        self._values: dict[tuple[str, str], Val | None] = {}
        self._attrs: dict[tuple[str, str], Val | None] = {}
        self._mros: dict[tuple[str, str], list[Val | None]] = {}
        self._busy: set[object] = set()
        self._graph: dict[str, list[tuple[str, int]]] | None = None  # module -> (imported, line)
        self._unambiguous: dict[Val, bool] = {}
        self._reverse: dict[str, list[tuple[str, int]]] | None = None

    def using(self, source: Source, check: Callable[[], None] = lambda: None) -> Model:
        """Read facts from ``source`` (calling ``check`` now and then, which may raise to stop)."""
        self._source = source
        self._check = check
        return self

    def cached_files(self) -> int:
        return len(self._skeletons)

    def drop_facts(self) -> None:
        """Forget the facts read so far (they are read again when needed): to bound memory."""
        self._skeletons.clear()
        self._forget()

    def _skeleton(self, module: str) -> Skeleton | None:
        file_id = self.file_of.get(module)
        if file_id is None:
            return None
        found = self._skeletons.get(file_id)
        if found is None:
            if self._source is None:
                raise RuntimeError("Model.using(source) first")
            self._check()
            found = self._skeletons[file_id] = self._source.skeleton(file_id)
        return found

    def path_of(self, module: str) -> str:
        file_id = self.file_of.get(module)
        return self.stamps[file_id][0] if file_id is not None else ""

    def module_of_path(self, path: str) -> str | None:
        return self.modules.name_of.get(path)

    # ------------------------------------------------------------------ evaluating expressions
    def denotes(self, expr: str, module: str) -> Denoted:
        """What an expression written in ``module`` names: the thing itself, and, for a variable
        that is an alias of a definition (``Charset = _charset.Charset``), that definition too.
        A variable holding a value (an instance, a literal, another variable's value) is only
        itself: a use of it is no use of where the value came from."""
        value = self.value(expr, module)
        if value is None:
            return Denoted(False, ())
        if value.kind != VARIABLE:
            return Denoted(True, (value.qualified,))
        aliased = self._deref(value, 0)
        if aliased is None or not (aliased.kind in (CLASS, FUNCTION, MODULE) or (
                aliased.kind == EXTERNAL and not aliased.name.endswith("()"))):
            return Denoted(True, (value.qualified,))
        return Denoted(True, (value.qualified, aliased.qualified))

    def value(self, expr: str, module: str, depth: int = 0) -> Val | None:
        """What an expression written in ``module`` evaluates to; a variable stays a variable."""
        memo = (expr, module)
        if memo in self._values:
            return self._values[memo]
        if depth > _DEPTH or memo in self._busy:
            return None
        self._busy.add(memo)
        try:
            found = self._evaluate(expr, module, depth)
        finally:
            self._busy.discard(memo)
        self._values[memo] = found
        return found

    def _evaluate(self, expr: str, module: str, depth: int) -> Val | None:
        root = expr[0]
        if root == ex.UNKNOWN:
            return None
        value: Val | None
        if root == ex.MODULE:
            body = expr[1:]
            level = len(body) - len(body.lstrip("."))
            steps = ex.steps(body[level:])
            value, steps = self._module_path(module, level, steps)
        elif root == ex.GLOBAL:
            steps = ex.steps(expr[1:])
            value, steps = self.module_attr(module, steps[0], depth + 1), steps[1:]
        elif root == ex.DEF:
            value, steps = self._definition(module, ex.steps(expr[1:]))
        elif root == ex.SUPER:
            # &Q.name: the longest prefix that is a class of the file is Q (a nested class has dots)
            cls, steps = self._definition(module, ex.steps(expr[1:]), CLASS)
            if cls is None or not steps or steps[0] in (ex.CALL, ex.ITEM, ex.ITEMS):
                return None
            value = self.class_attr(cls, steps[0], depth + 1, after_self=True)
            steps = steps[1:]
        else:
            return None
        for index, step in enumerate(steps):
            if value is None:
                return None
            value = self._step(value, step, depth + 1, last=index == len(steps) - 1)
        return value

    def _module_path(self, module: str, level: int, steps: list[str]) -> tuple[Val | None, list[str]]:
        """A module path (``^a.b.c``, ``^..a``): the longest prefix that is a module of the
        project, and the steps left; something outside the project keeps its dotted name."""
        names = _leading_names(steps)
        if level:
            package = resolve_relative(module, is_package(self.path_of(module)), level, "")
            if package is None:
                return None, []
            names = [*package.split("."), *names] if package else names
        if not names:
            return None, []
        dotted = ".".join(names)
        inside = self.modules.longest_module(dotted)
        rest = steps[len(_leading_names(steps)):]
        if inside is None:
            return Val(EXTERNAL, "", dotted), rest
        attrs = names[len(inside.split(".")):]
        return Val(MODULE, inside, inside), [*attrs, *rest]

    def _definition(self, module: str, steps: list[str], kind: str = "") -> tuple[Val | None, list[str]]:
        """``@Q...``: the longest prefix that is a definition (of this kind) of the module's file."""
        skeleton = self._skeleton(module)
        if skeleton is None:
            return None, []
        names = _leading_names(steps)
        for n in range(len(names), 0, -1):
            qualname = ".".join(names[:n])
            found = skeleton.definitions.get(qualname)
            if found is not None and (not kind or _of_definition(module, found).kind == kind):
                return _of_definition(module, found), steps[n:]
        return None, []

    def _step(self, value: Val, step: str, depth: int, last: bool) -> Val | None:
        if value.kind == VARIABLE:
            value = self._deref(value, depth)  # type: ignore[assignment]  # checked just below
            if value is None:
                return None
        if step == ex.ITEMS:
            return Val(ITEMS, value.module, value.name, f"{value.kind}|{value.expr}")
        if step == ex.ITEM:
            if value.kind != ITEMS:
                return None
            kind, _, expr = value.expr.partition("|")
            return Val(kind, value.module, value.name, expr)
        if value.kind == ITEMS:
            return None
        if step == ex.CALL:
            if value.kind == CLASS:
                return Val(INSTANCE, value.module, value.name)
            if value.kind == FUNCTION:
                return self._result(value, depth)
            if value.kind == EXTERNAL:
                return value if value.name.endswith("()") else Val(EXTERNAL, "", value.name + "()")
            return None
        if step == "__class__":
            return Val(CLASS, value.module, value.name) if value.kind == INSTANCE else None
        if value.kind == MODULE:
            found = self.module_attr(value.module, step, depth)
        elif value.kind in (CLASS, INSTANCE):
            found = self.class_attr(value, step, depth)
        elif value.kind == EXTERNAL:
            # an instance of something outside is looked up on what made it
            base = value.name[:-2] if value.name.endswith("()") else value.name
            return Val(EXTERNAL, "", f"{base}.{step}")
        else:
            return None
        if found is not None and not last and found.kind == FUNCTION and self._is_property(found):
            return self._result(found, depth)
        return found

    def _deref(self, value: Val, depth: int) -> Val | None:
        """A variable's value (followed through other variables)."""
        seen = 0
        current: Val | None = value
        while current is not None and current.kind == VARIABLE and seen < _DEPTH:
            if not current.expr or current.expr[0] == ex.UNKNOWN:
                return None
            current = self.value(current.expr, current.module, depth + 1)
            seen += 1
        return None if current is not None and current.kind == VARIABLE else current

    def _result(self, function: Val, depth: int) -> Val | None:
        skeleton = self._skeleton(function.module)
        expr = skeleton.returns.get(function.name) if skeleton is not None else None
        if expr is None:
            return None
        found = self.value(expr, function.module, depth + 1)
        return self._deref(found, depth) if found is not None else None

    def _is_property(self, function: Val) -> bool:
        skeleton = self._skeleton(function.module)
        found = skeleton.definitions.get(function.name) if skeleton is not None else None
        return found is not None and any(
            d in _PROPERTIES or d.endswith((".setter", ".getter")) for d in found.decorators)

    # ------------------------------------------------------------------ namespaces
    def module_attr(self, module: str, name: str, depth: int = 0) -> Val | None:
        """``module.name``: what the module's namespace binds, a submodule, or a star import's name."""
        memo = (module, name)
        if memo in self._attrs:
            return self._attrs[memo]
        if depth > _DEPTH or ("m", memo) in self._busy:
            return None
        self._busy.add(("m", memo))
        try:
            found = self._module_attr(module, name, depth)
        finally:
            self._busy.discard(("m", memo))
        self._attrs[memo] = found
        return found

    def _module_attr(self, module: str, name: str, depth: int) -> Val | None:
        skeleton = self._skeleton(module)
        if skeleton is not None:
            entries = skeleton.namespace.get(name)
            if entries:
                return self._entry(module, "", name, _last_known(entries), depth)
        submodule = f"{module}.{name}"
        if self.modules.is_module(submodule):
            return Val(MODULE, submodule, submodule)
        if skeleton is None:
            return None
        for star in reversed(skeleton.stars):
            source = self.value(star, module, depth + 1)
            if source is None or source.kind != MODULE:
                continue
            exported = self._skeleton(source.module)
            if exported is not None and exported.exports is not None:
                if name not in exported.exports:
                    continue
            elif name.startswith("_"):
                continue
            found = self.module_attr(source.module, name, depth + 1)
            if found is not None:
                return found
        return None

    def _entry(self, module: str, scope: str, name: str, entry: tuple[int, str, str], depth: int) -> Val | None:
        _line, kind, payload = entry
        if kind == "def":
            skeleton = self._skeleton(module)
            found = skeleton.definitions.get(payload) if skeleton is not None else None
            return _of_definition(module, found) if found is not None else None
        if kind == "import":
            return self.value(payload, module, depth + 1)
        return Val(VARIABLE, module, f"{scope}.{name}" if scope else name, payload)

    def class_attr(self, cls: Val, name: str, depth: int = 0, after_self: bool = False) -> Val | None:
        """An attribute of a class (or of an instance of it) along its bases, in method resolution order."""
        mro = self.mro(cls.module, cls.name)
        if after_self:
            mro = mro[1:]
        for klass in mro:
            if klass is None:
                return None  # a base that could not be followed: it may define anything
            if klass.kind == EXTERNAL:
                return Val(EXTERNAL, "", f"{klass.name}.{name}")
            skeleton = self._skeleton(klass.module)
            members = skeleton.members.get(klass.name, {}) if skeleton is not None else {}
            entries = members.get(name)
            if not entries:
                continue
            on_class = [e for e in entries if e[1] != "attr"]
            # an instance attribute is what __init__ (written first, usually) makes it; a
            # placeholder (`self._x = None`) says nothing of what is assigned later
            chosen = _last_known(on_class) if on_class else _first_known(entries)
            return self._entry(klass.module, klass.name, name, chosen, depth)
        return None

    def bases(self, module: str, qualname: str) -> list[Val | None]:
        """A class's bases in order: classes of the project, things outside it, or None where
        the base could not be followed."""
        skeleton = self._skeleton(module)
        found: list[Val | None] = []
        for expr in skeleton.bases.get(qualname, []) if skeleton is not None else []:
            value = self.value(expr, module)
            if value is not None and value.kind == VARIABLE:
                value = self._deref(value, 0)
            if value is not None and value.kind not in (CLASS, EXTERNAL):
                value = None
            if value is not None and value.kind == EXTERNAL and value.name == "builtins.object":
                continue
            found.append(value)
        return found

    def mro(self, module: str, qualname: str) -> list[Val | None]:
        """The class and its bases in method resolution order (C3; depth first where C3 fails)."""
        memo = (module, qualname)
        if memo in self._mros:
            return self._mros[memo]
        me = Val(CLASS, module, qualname)
        if ("mro", memo) in self._busy:
            return [me]
        self._busy.add(("mro", memo))
        try:
            lines: list[list[Val | None]] = []
            direct = self.bases(module, qualname)
            for base in direct:
                if base is not None and base.kind == CLASS:
                    lines.append(list(self.mro(base.module, base.name)))
                else:
                    lines.append([base])
            merged = _c3([*lines, list(direct)])
            order: list[Val | None] = [me, *merged]
        finally:
            self._busy.discard(("mro", memo))
        self._mros[memo] = order
        return order

    # ------------------------------------------------------------------ finding definitions by name
    def find(self, qualified: str) -> Val | None:
        """A module, class, function or variable of the project by its qualified name: a module,
        then what its file defines under the rest of the name (``pkg.mod.Class.method``,
        ``pkg.mod.f.<locals>.g``, ``pkg.mod.Class.attribute``), else what its namespace binds
        there (``asyncio.sleep``, a name a package re-exports)."""
        if self.modules.is_module(qualified):
            return Val(MODULE, qualified, qualified)
        parts = qualified.split(".")
        for n in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:n])
            if not self.modules.is_module(module):
                continue
            rest = ".".join(parts[n:])
            skeleton = self._skeleton(module)
            if skeleton is not None:
                found = skeleton.definitions.get(rest)
                if found is not None:
                    return _of_definition(module, found)
                owner, _, name = rest.rpartition(".")
                if owner in skeleton.definitions and name in skeleton.members.get(owner, {}):
                    return Val(VARIABLE, module, rest, _last_known(skeleton.members[owner][name])[2])
                if not owner and name in skeleton.namespace:
                    return self._entry(module, "", name, _last_known(skeleton.namespace[name]), 0)
            value: Val | None = Val(MODULE, module, module)
            steps = parts[n:]
            for index, step in enumerate(steps):
                value = self._step(value, step, 0, last=index == len(steps) - 1) if value is not None else None
            if value is not None:
                return value
        return None

    def aliases(self, target: Val) -> set[str]:
        """The names ``target`` is known by anywhere in the project: its own, and every name
        bound to it by an import or an assignment (``from .x import f as g``, ``G = f``), and
        to those in turn."""
        own = target.name.rsplit(".", 1)[-1]
        names = {own}
        if self._source is None:
            return names
        wanted = target.qualified
        frontier = {own}
        for _ in range(_DEPTH):
            found: set[str] = set()
            for file_id, binding in self._source.bindings_keyed(frontier, ("import", "assign", "attr")):
                self._check()
                if binding.name in names:
                    continue
                module = self.key_of.get(file_id)
                if module is None:
                    continue
                if wanted in self.denotes(binding.value, module).names:
                    found.add(binding.name)
            if not found:
                break
            names |= found
            frontier = found
        return names

    # ------------------------------------------------------------------ imports
    def import_graph(self) -> dict[str, list[tuple[str, int]]]:
        """What each module imports (a module of the project, or a name outside it), by line."""
        if self._graph is None:
            if self._source is None:
                raise RuntimeError("Model.using(source) first")
            graph: dict[str, list[tuple[str, int]]] = {}
            for file_id, row in self._source.imports():
                importer = self.key_of.get(file_id)
                if importer is None:
                    continue
                path = self.stamps[file_id][0]
                imported = self.modules.imported(importer, path, row.module, row.name, row.level)
                if imported is not None:
                    graph.setdefault(importer, []).append((imported, row.line))
            for edges in graph.values():
                edges.sort(key=lambda e: (e[1], e[0]))
            self._graph = graph
        return self._graph

    def _importers(self) -> dict[str, list[tuple[str, int]]]:
        if self._reverse is None:
            reverse: dict[str, list[tuple[str, int]]] = {}
            for importer, edges in self.import_graph().items():
                for imported, line in edges:
                    reverse.setdefault(imported, []).append((importer, line))
            for edges in reverse.values():
                edges.sort()
            self._reverse = reverse
        return self._reverse

    def module_named(self, given: str) -> str:
        """A module of the project by dotted name or by path; Unknown otherwise."""
        if given in self.file_of or self.modules.is_module(given):
            return given
        key = self.modules.name_of.get(given.lstrip("/"))
        if key is not None:
            return key
        raise Unknown(f"no module {given!r} in the project (a dotted name, or a path relative to its root)")

    def imports(self, module: str, direction: str, depth: int, visible: Visible) -> Iterator[ImportRow]:
        """Import rows breadth first from ``module``: ``out`` what it imports, ``in`` who imports
        it; ``depth`` 1 the direct ones, n up to n steps, 0 all. Only modules of the project
        are followed, and only through files the caller may see."""
        graph = self.import_graph() if direction == "out" else self._importers()
        seen = {module}
        frontier = [module]
        level = 0
        while frontier and (depth == 0 or level < depth):
            level += 1
            following: list[str] = []
            for current in frontier:
                self._check()
                for other, line in graph.get(current, []):
                    importer, imported = (current, other) if direction == "out" else (other, current)
                    path = self.path_of(importer)
                    if not visible(path):
                        continue
                    yield ImportRow(importer, imported, path, line)
                    if other not in seen and other in self.file_of:
                        seen.add(other)
                        following.append(other)
            frontier = following

    def import_chain(self, importer: str, imported: str, visible: Visible) -> list[str]:
        """A shortest chain of imports from ``importer`` to ``imported`` (both included), through
        files the caller may see; empty if there is none."""
        graph = self.import_graph()
        came: dict[str, str | None] = {importer: None}
        queue = deque([importer])
        while queue:
            current = queue.popleft()
            self._check()
            if current == imported:
                chain = [current]
                while (step := came[chain[-1]]) is not None:
                    chain.append(step)
                return chain[::-1]
            if not visible(self.path_of(current)):
                continue
            for other, _line in graph.get(current, []):
                if other not in came:
                    came[other] = current
                    queue.append(other)
        return []

    # ------------------------------------------------------------------ classes
    def classes(self, name: str) -> list[Val]:
        """The classes a name means: a qualified name, else every class with that plain name."""
        found = self.find(name) if "." in name else None
        if found is not None and found.kind == VARIABLE:
            found = self._deref(found, 0)
        if found is not None and found.kind == CLASS:
            return [found]
        if self._source is None:
            return []
        plain = name.rsplit(".", 1)[-1]
        out = []
        for file_id, qualname in self._source.classes_named(plain):
            module = self.key_of.get(file_id)
            if module is not None and ("." not in name or f"{module}.{qualname}".endswith("." + name)):
                out.append(Val(CLASS, module, qualname))
        return sorted(out)

    def class_row(self, value: Val | None, depth: int) -> ClassRow:
        if value is None:
            return ClassRow("?", "", "", 0, depth)
        if value.kind == EXTERNAL:
            module, _, _ = value.name.rpartition(".")
            return ClassRow(value.name, module, "", 0, depth)
        skeleton = self._skeleton(value.module)
        found = skeleton.definitions.get(value.name) if skeleton is not None else None
        return ClassRow(value.qualified, value.module, self.path_of(value.module), found.line if found else 0, depth)

    def superclasses(self, start: Val, visible: Visible) -> Iterator[ClassRow]:
        """The class, then its bases breadth first with their depth (each once)."""
        yield self.class_row(start, 0)
        seen: set[Val | None] = {start}
        frontier: list[Val] = [start]
        depth = 0
        while frontier:
            depth += 1
            following: list[Val] = []
            for cls in frontier:
                self._check()
                if not visible(self.path_of(cls.module)):
                    continue
                for base in self.bases(cls.module, cls.name):
                    if base in seen:
                        continue
                    seen.add(base)
                    yield self.class_row(base, depth)
                    if base is not None and base.kind == CLASS:
                        following.append(base)
            frontier = following

    def subclasses(self, start: Val, visible: Visible) -> Iterator[ClassRow]:
        """The class, then the classes of the project deriving from it, breadth first with their depth."""
        yield self.class_row(start, 0)
        seen = {start}
        frontier = [start]
        depth = 0
        while frontier:
            depth += 1
            following: list[Val] = []
            for cls in frontier:
                for sub in self._direct_subclasses(cls):
                    if sub in seen or not visible(self.path_of(sub.module)):
                        continue
                    seen.add(sub)
                    yield self.class_row(sub, depth)
                    following.append(sub)
            frontier = following

    def _direct_subclasses(self, cls: Val) -> list[Val]:
        if self._source is None:
            return []
        found = []
        for file_id, binding in self._source.bindings_keyed(self.aliases(cls), ("base",)):
            self._check()
            module = self.key_of.get(file_id)
            if module is None:
                continue
            if cls in self.bases(module, binding.scope):
                found.append(Val(CLASS, module, binding.scope))
        return sorted(set(found))

    # ------------------------------------------------------------------ uses and calls
    def by_name_only(self, target: Val) -> bool:
        """Whether a use of the target's name that could not be followed (``x.get_content_type``
        on an ``x`` of unknown type) is worth listing as a possible use: only where the target
        is the one thing of that name it could be. Not if a builtin type has an attribute of
        that name (``x.append``), nor if anything outside the target's class and its bases
        defines or binds it: another class, or a subclass overriding it (whose own uses by name
        these are then, being the most specific definition)."""
        if target in self._unambiguous:
            return self._unambiguous[target]
        name = target.name.rsplit(".", 1)[-1]
        allowed = name not in _BUILTIN_ATTRIBUTES and self._source is not None
        if allowed and self._source is not None:
            owner = target.name.rpartition(".")[0] if target.kind != MODULE else ""
            family: set[tuple[str, str]] = {(target.module, owner)}
            skeleton = self._skeleton(target.module) if owner else None
            if skeleton is not None and owner in skeleton.definitions:
                family |= {(c.module, c.name) for c in self.mro(target.module, owner) if c is not None}
            for file_id, scope in self._source.definers(name):
                module = self.key_of.get(file_id)
                if module is not None and (module, scope) not in family:
                    allowed = False
                    break
        self._unambiguous[target] = allowed
        return allowed

    def _denoted_uses(self, keys: Collection[str], visible: Visible) -> Iterator[tuple[str, Use, Denoted]]:
        """The uses of those names in files the caller may see, each with what it denotes."""
        if self._source is None:
            return
        for file_id, use in self._source.uses_keyed(keys, ("name", "attribute", "call", "import")):
            self._check()
            module = self.key_of.get(file_id)
            path = self.stamps[file_id][0] if file_id in self.stamps else ""
            if module is None or not visible(path):
                continue
            yield path, use, self.denotes(use.expr, module)

    def usages(self, target: Val, visible: Visible) -> Iterator[UsageRow]:
        """Every use in the project that denotes ``target`` (resolved), then, for its own name,
        the uses that could not be followed to anything, where the name is the target's alone
        (name: ``by_name_only``)."""
        wanted = target.qualified
        own = target.name.rsplit(".", 1)[-1]
        for path, use, denoted in self._denoted_uses(self.aliases(target), visible):
            if wanted in denoted.names:
                yield UsageRow(path, use.scope, use.kind, use.text, use.line, use.column, "resolved")
            elif not denoted.resolved and use.key == own and self.by_name_only(target):
                yield UsageRow(path, use.scope, use.kind, use.text, use.line, use.column, "name")

    def external_usages(self, wanted: str, visible: Visible) -> Iterator[UsageRow]:
        """Uses of something outside the project (``os.path.join``), through the project's imports."""
        for path, use, denoted in self._denoted_uses([wanted.rsplit(".", 1)[-1]], visible):
            if wanted in denoted.names:
                yield UsageRow(path, use.scope, use.kind, use.text, use.line, use.column, "resolved")
            elif not denoted.resolved:
                yield UsageRow(path, use.scope, use.kind, use.text, use.line, use.column, "name")

    def callers(self, target: Val, visible: Visible) -> Iterator[CallRow]:
        wanted = target.qualified
        own = target.name.rsplit(".", 1)[-1]
        if self._source is None:
            return
        for file_id, use in self._source.uses_keyed(self.aliases(target), ("call",)):
            self._check()
            module = self.key_of.get(file_id)
            path = self.stamps[file_id][0] if file_id in self.stamps else ""
            if module is None or not visible(path):
                continue
            denoted = self.denotes(use.expr, module)
            caller = f"{module}.{use.scope}" if use.scope else module
            if wanted in denoted.names:
                yield CallRow(caller, wanted, path, use.scope, use.line, "resolved")
            elif not denoted.resolved and use.key == own and self.by_name_only(target):
                yield CallRow(caller, wanted, path, use.scope, use.line, "name")

    def callees(self, caller: Val, visible: Visible) -> Iterator[tuple[CallRow, Val | None]]:
        """What a function (or a module at its top level) calls, in the order written, with what
        each call was followed to (None: only its name is known)."""
        if self._source is None:
            return
        file_id = self.file_of.get(caller.module)
        if file_id is None:
            return
        path = self.stamps[file_id][0]
        if not visible(path):
            return
        scope = "" if caller.kind == MODULE else caller.name
        for use in self._source.uses_in(file_id, scope):
            if use.kind != "call":
                continue
            self._check()
            value = self.value(use.expr, caller.module)
            if value is not None and value.kind == VARIABLE:
                value = self._deref(value, 0) or value
            if value is not None:
                yield CallRow(caller.qualified, value.qualified, path, scope, use.line, "resolved"), value
            else:
                yield CallRow(caller.qualified, use.text, path, scope, use.line, "name"), None


def _of_definition(module: str, found: DefinitionRow) -> Val:
    return Val(CLASS if found.kind == "class" else FUNCTION, module, found.qualname)


def _leading_names(steps: list[str]) -> list[str]:
    out = []
    for step in steps:
        if step in (ex.CALL, ex.ITEM, ex.ITEMS):
            break
        out.append(step)
    return out


def _last_known(entries: list[tuple[int, str, str]]) -> tuple[int, str, str]:
    """Of a name's bindings in line order, the last whose value is known (else the last):
    `try: import x / except ImportError: x = None` binds x to the module."""
    for entry in reversed(entries):
        if not (entry[1] == "assign" and entry[2].startswith(ex.UNKNOWN)):
            return entry
    return entries[-1]


def _first_known(entries: list[tuple[int, str, str]]) -> tuple[int, str, str]:
    for entry in entries:
        if not entry[2].startswith(ex.UNKNOWN):
            return entry
    return entries[0]


def _c3(lines: list[list[Val | None]]) -> list[Val | None]:
    """C3 linearization of the bases' orders; where it has no answer (an inconsistent
    hierarchy), depth first from the left without repeats."""
    pending = [list(line) for line in lines if line]
    out: list[Val | None] = []
    while pending:
        for line in pending:
            head = line[0]
            if not any(head in other[1:] for other in pending):
                break
        else:
            flat: list[Val | None] = []
            for line in pending:
                flat.extend(x for x in line if x not in flat and x not in out)
            return out + flat
        out.append(head)
        pending = [[x for x in line if x != head] for line in pending]
        pending = [line for line in pending if line]
    return out

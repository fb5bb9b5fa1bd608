"""Binding the names of one file, scope by scope: what the extractor can tell without the project.

The walk (``extract.py``) records in each scope the names it binds (imports, definitions,
assignments, parameters, loop and ``with`` targets, ``global``) and the names and
attribute chains it reads, each as a *raw* text: the chain as written, with ``()`` for a
call's result (``loop.call_soon``, ``events.get_event_loop().time``). When a scope's walk is
done, ``Scope.finish`` binds each raw text's first name the way Python would (this scope,
then enclosing functions, skipping class bodies, then the module, then builtins) and
writes the rest as an expression (``expressions.py``) for the owner to finish.

Binding is by position, not by control flow: a read sees the last binding of its name
written above it in the same scope (the first below, if none is above); a read from an
inner function sees the scope as it is once it has run (its last binding with a value
known). That is what a reader of the code assumes too, and it needs no flow analysis.
"""

from __future__ import annotations

import ast
import builtins

from codeanalysisd.index import expressions as ex
from codeanalysisd.index.facts import Binding, Use

__all__ = ["CLASS", "FUNCTION", "MODULE", "Scope", "annotation_raw", "raw", "split_raw"]

MODULE, CLASS, FUNCTION = 0, 1, 2

# How a name is bound (Scope.names): what its binding's text is.
IMPORTED = 0  # an expression already (^a.b)
DEFINED = 1  # @qualname of a definition in this file
ASSIGNED = 2  # a raw text, bound where it was written
PARAMETER = 3  # an expression already (the instance of a class, for self and annotated ones)
ANNOTATED = 4  # a parameter's raw annotation, bound in the scope enclosing the function
UNBOUND = 5  # bound, to something this file cannot tell (a loop variable, a tuple's item)
WEAK = 6  # a lambda's parameter or a comprehension's variable: counts only where nothing else binds

_BUILTINS = frozenset(dir(builtins))
_DEPTH = 12  # bindings followed through each other before giving up (x = y; y = x)
# A literal is an instance of its builtin type.
_LITERALS: dict[type, str] = {
    str: "^builtins.str()", bytes: "^builtins.bytes()", int: "^builtins.int()", float: "^builtins.float()",
    complex: "^builtins.complex()", bool: "^builtins.bool()",
}
_CONTAINERS: dict[type, str] = {
    ast.List: "^builtins.list()", ast.ListComp: "^builtins.list()", ast.Dict: "^builtins.dict()",
    ast.DictComp: "^builtins.dict()", ast.Set: "^builtins.set()", ast.SetComp: "^builtins.set()",
    ast.Tuple: "^builtins.tuple()", ast.JoinedStr: "^builtins.str()",
}
# Generic collections whose items are their (first) parameter.
_COLLECTIONS = frozenset({
    "List", "list", "Sequence", "MutableSequence", "Iterable", "Iterator", "Collection", "Set", "set", "FrozenSet",
    "frozenset", "AbstractSet", "MutableSet", "Deque", "deque", "Tuple", "tuple", "Generator", "AsyncIterator",
    "AsyncIterable", "AsyncGenerator", "Reversible", "KeysView", "ValuesView",
})
# Subscripted typing constructs that name no class of their own to be an instance of.
_NOT_A_CLASS = frozenset({"Union", "Callable", "Literal", "Annotated", "ClassVar", "Final", "Dict", "dict", "Mapping",
                          "MutableMapping", "DefaultDict", "OrderedDict", "Counter", "ChainMap", "TypeGuard"})
# Implicit class methods: their first parameter is the class, not an instance.
_CLASS_FIRST = frozenset({"__new__", "__init_subclass__", "__class_getitem__"})

Bound = tuple[int, int, int, str]  # line, column, how (IMPORTED ...), text


def raw(node: ast.AST) -> str:
    """The raw text of an expression: a chain of names and calls as written, a literal's
    builtin type, or ``?`` with the attributes that follow an expression it cannot write."""
    suffix: list[str] = []
    head: str
    while True:
        kind = type(node)
        if kind is ast.Attribute:
            suffix.append("." + node.attr)  # type: ignore[attr-defined]  # narrowed by the type test
            node = node.value  # type: ignore[attr-defined]
        elif kind is ast.Call:
            args = node.args  # type: ignore[attr-defined]
            if type(node.func) is ast.Name and node.func.id == "type" and len(args) == 1:  # type: ignore[attr-defined]
                suffix.append(".__class__")  # type(x): the class of x
                node = args[0]
                continue
            suffix.append("()")
            node = node.func  # type: ignore[attr-defined]
        elif kind is ast.Subscript:
            suffix.append("[]")
            node = node.value  # type: ignore[attr-defined]
        elif kind is ast.Name:
            head = node.id  # type: ignore[attr-defined]
            break
        elif kind is ast.Constant:
            head = _LITERALS.get(type(node.value), ex.UNKNOWN)  # type: ignore[attr-defined]
            break
        else:
            head = _CONTAINERS.get(kind, ex.UNKNOWN)
            break
    suffix.reverse()
    return head + "".join(suffix)


def annotation_raw(node: ast.expr | None) -> str:
    """An annotation's raw text, as an instance of what it names: ``Optional[X]``, ``X | None``
    and ``"X"`` are X; ``List[X]`` (and the other collections, ``Iterator[X]``, ``tuple[X, ...]``)
    a collection of X; ``Type[X]`` the class X; a generic class ``G[T]`` G; anything else it
    cannot name (a union, a mapping, a callable) is ``?``."""
    for _ in range(8):
        if node is None:
            return ex.UNKNOWN
        kind = type(node)
        if kind is ast.Subscript and isinstance(node, ast.Subscript):
            head = raw(node.value).rsplit(".", 1)[-1]
            inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) and node.slice.elts else node.slice
            if head in _COLLECTIONS:
                item = annotation_raw(inner)
                return ex.UNKNOWN if item == ex.UNKNOWN else item + ex.ITEMS
            if head in ("Type", "type"):  # the class itself, not an instance of it
                item = annotation_raw(inner)
                return item[:-2] if item.endswith("()") else ex.UNKNOWN
            if head in _NOT_A_CLASS:
                return ex.UNKNOWN
            if head != "Optional":
                node = node.value  # a generic class (Future[T]): an instance of the class
                continue
            node = inner
        elif kind is ast.BinOp and isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            if isinstance(node.right, ast.Constant) and node.right.value is None:
                node = node.left
            elif isinstance(node.left, ast.Constant) and node.left.value is None:
                node = node.right
            else:
                return ex.UNKNOWN
        elif kind is ast.Constant and isinstance(node, ast.Constant) and type(node.value) is str:
            text = node.value.strip()
            try:
                node = ast.parse(text, mode="eval").body if text else None
            except (SyntaxError, ValueError, RecursionError, MemoryError):  # whatever a string may hold
                return ex.UNKNOWN
        else:
            text = raw(node)
            return ex.UNKNOWN if text[0] in ex.ROOTS or text.endswith((")", "]")) else text + "()"
    return ex.UNKNOWN


def split_raw(text: str) -> tuple[str, str]:
    """A raw text's first name and the rest ("a.b()" -> "a", ".b()"); ("", text) for a root."""
    if text[0] in ex.ROOTS:
        return "", text
    cut = len(text)
    for sep in ".([":
        at = text.find(sep)
        if 0 <= at < cut:
            cut = at
    return text[:cut], text[cut:]


class Scope:
    """One module, class or function body as the walk meets it."""

    __slots__ = ("annotated", "attrs", "bases", "bindings_out", "generator", "globals", "in_class", "kind", "links",
                 "names", "nonlocals", "parent", "prefix", "qualname", "result_types", "returns", "stars")

    def __init__(self, qualname: str, prefix: str, kind: int, parent: Scope | None) -> None:
        self.qualname = qualname
        self.prefix = prefix  # what the qualnames of definitions directly inside start with
        self.kind = kind
        self.in_class = kind == CLASS
        self.parent = parent
        self.names: dict[str, list[Bound]] = {}
        self.globals: set[str] = set()  # declared global: read and bound in the module
        self.nonlocals: set[str] = set()  # declared nonlocal: read and bound in an enclosing function
        # what is read: first name ("" when the text starts with a root) and the rest of the raw
        # text, kind, line, column
        self.links: list[tuple[str, str, str, int, int]] = []
        self.attrs: list[tuple[str, str, str, int, int]] = []  # x.attr = value: x, attr, raw value, line, column
        self.bases: list[tuple[str, int, str, int, int]] = []  # class qualname, position, raw, line, column
        self.returns: list[tuple[int, str]] = []  # line, raw value of a `return`
        self.stars: list[tuple[str, int, int]] = []  # expression of the module, line, column
        self.result_types: list[tuple[str, str, int]] = []  # a function defined here: qualname, raw annotation, line
        self.generator = False
        self.annotated = False  # a function whose return is annotated: its `return`s say nothing more
        self.bindings_out: list[Binding] = []

    def bind(self, name: str, line: int, column: int, how: int, text: str) -> None:
        found = self.names.get(name)
        if found is None:
            self.names[name] = [(line, column, how, text)]
        else:
            found.append((line, column, how, text))

    # ------------------------------------------------------------------ looking names up
    def _owner(self, name: str) -> tuple[Scope | None, bool]:
        """The scope that binds ``name`` for a read here, and whether that is this one."""
        scope: Scope | None = self
        if name in self.globals:
            scope = self
            while scope.parent is not None:
                scope = scope.parent
            return (scope if name in scope.names else None), scope is self
        first = True
        while scope is not None:
            if (first or scope.kind != CLASS) and name in scope.names:
                return scope, first
            first = False
            scope = scope.parent
        return None, False

    def lookup(self, name: str, line: int | None, depth: int = 0) -> tuple[str, bool]:
        """What ``name`` denotes, read at ``line`` (None: once the scope has run), as an
        expression; and whether it is a variable of a function (a local, a parameter), which
        is nobody's qualified name."""
        owner, here = self._owner(name)
        if owner is None:
            return ("^builtins." + name if name in _BUILTINS else ex.GLOBAL + name), False
        bound = _pick(owner.names[name], line if here else None)
        line_at, _column, how, text = bound
        if how == IMPORTED:
            return text, False
        if how == DEFINED:
            return text, False
        if owner.kind == MODULE:
            return ex.GLOBAL + name, False
        if owner.kind == CLASS:
            return f"{ex.DEF}{owner.qualname}.{name}", False
        if how == PARAMETER:
            return text, True
        if how == ANNOTATED:
            parent = owner.parent
            return (parent.expression(text, None, depth + 1) if parent is not None else ex.UNKNOWN), True
        if how == ASSIGNED:
            return owner.expression(text, line_at, depth + 1), True
        return ex.UNKNOWN, True

    def expression(self, text: str, line: int | None, depth: int = 0) -> str:
        """A raw text as an expression, its first name bound here."""
        head, rest = split_raw(text)
        if not head:
            return text
        if depth > _DEPTH:
            return ex.UNKNOWN + rest
        value, _local = self.lookup(head, line, depth)
        if value[0] == ex.UNKNOWN:
            return ex.UNKNOWN + rest
        if value == "^builtins.super" and rest.startswith("()"):
            return self.super_of() + rest[2:]
        return value + rest

    def super_of(self) -> str:
        """What ``super()`` (without arguments) is in this scope: the class of the method it is
        written in, whose bases attributes are then looked up in."""
        scope: Scope | None = self
        while scope is not None and scope.kind == FUNCTION:
            if scope.parent is not None and scope.parent.kind == CLASS:
                return ex.SUPER + scope.parent.qualname
            scope = scope.parent
        return ex.UNKNOWN

    # ------------------------------------------------------------------ the scope's results
    def finish(self, uses: list[Use]) -> None:
        """Bind what the walk recorded here: uses into ``uses``, facts other files need into
        ``bindings_out``."""
        for name in self.globals | self.nonlocals:
            if self.kind != MODULE:
                self.names.pop(name, None)
        for bound in self.names.values():
            bound.sort()
        add = uses.append
        where = self.qualname
        # What a first name denotes, for the names whose binding here does not depend on the line
        # (bound once, or elsewhere): most reads in a scope name a few such names many times.
        known: dict[str, tuple[str, bool]] = {}
        for head, rest, kind, line, column in self.links:
            if head:
                found = known.get(head)
                if found is None:
                    owner, here = self._owner(head)
                    found = self.lookup(head, line)
                    if not here or owner is None or len(owner.names[head]) == 1:
                        known[head] = found
                value, local = found
                if not rest and local:
                    continue  # a function's own variable: nobody's qualified name
                written = head + rest
                if value[0] == ex.UNKNOWN:
                    value = ex.UNKNOWN
                elif value == "^builtins.super" and rest.startswith("()"):
                    value, rest = self.super_of(), rest[2:]
            else:
                value = ""
                written = "…" + rest[1:] if rest[0] == ex.UNKNOWN else rest
            if value.startswith("^builtins.") or rest.startswith("^builtins."):
                continue  # the builtins' own names: every program's, nobody's usage to find
            expr = value + rest
            name = rest[rest.rfind(".") + 1:] if rest and rest[-1] != ")" else ex.key(expr)
            add(Use(name, expr, kind, line, column, where, written))
        out = self.bindings_out
        if self.kind != FUNCTION:
            scope = "" if self.kind == MODULE else self.qualname
            for name, bound in self.names.items():
                for line, column, how, text in bound:
                    if how == DEFINED:
                        continue  # a definition: the definitions table says so
                    if how == IMPORTED:
                        out.append(Binding(scope, name, "import", text, line, column))
                    else:
                        value = self.expression(text, line) if how == ASSIGNED else ex.UNKNOWN
                        out.append(Binding(scope, name, "assign", value, line, column))
        for module, line, column in self.stars:
            out.append(Binding("", "*", "star", module, line, column))
        for qualname, position, text, line, column in self.bases:
            out.append(Binding(qualname, str(position), "base", self.expression(text, line), line, column))
        for target, attr, text, line, column in self.attrs:
            what, _local = self.lookup(target, line)
            if what.startswith(ex.DEF) and what.endswith("()"):
                out.append(Binding(what[1:-2], attr, "attr", self.expression(text, line), line, column))
            elif what.startswith(ex.DEF) and "(" not in what:
                out.append(Binding(what[1:], attr, "assign", self.expression(text, line), line, column))
        for qualname, text, line in self.result_types:
            value = self.expression(text, line)
            if value[0] != ex.UNKNOWN:
                out.append(Binding(qualname, "", "return", value, line, 0))
        if self.kind == FUNCTION and self.returns and not self.generator and not self.annotated:
            for line, text in sorted(self.returns):
                value = self.expression(text, line)
                if value[0] != ex.UNKNOWN:
                    out.append(Binding(self.qualname, "", "return", value, line, 0))
                    break


def _pick(bound: list[Bound], line: int | None) -> Bound:
    """The binding a read sees: at ``line``, the last one above it whose value is known (a
    placeholder, `x = None` in one branch, says nothing of what x is in the other), else the
    last above, else the first below; with no line (read from an inner function, after the
    scope ran), the last one whose value is known (else the last)."""
    if len(bound) == 1:
        return bound[0]
    strong = [b for b in bound if b[2] != WEAK] or bound
    if line is None:
        for b in reversed(strong):
            if _known(b):
                return b
        return strong[-1]
    before = [b for b in strong if b[0] < line]
    for b in reversed(before):
        if _known(b):
            return b
    return before[-1] if before else strong[0]


def _known(bound: Bound) -> bool:
    return bound[2] != UNBOUND and bound[3] != ex.UNKNOWN


def first_parameter(node: ast.FunctionDef | ast.AsyncFunctionDef, class_qualname: str) -> tuple[str, str] | None:
    """The parameter a method's instance (or class) arrives in, and what it is."""
    positional = [*node.args.posonlyargs, *node.args.args]
    if not positional:
        return None
    first = positional[0]
    decorators = {raw(d) for d in node.decorator_list}
    if "staticmethod" in decorators:
        return None
    if "classmethod" in decorators or node.name in _CLASS_FIRST:
        return first.arg, f"{ex.DEF}{class_qualname}"
    return first.arg, f"{ex.DEF}{class_qualname}()"

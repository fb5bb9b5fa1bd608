"""The facts the index keeps about one Python source file, taken from its exact bytes.

Pure and total: the same bytes always give the same facts and no input makes it raise.
A file that cannot be decoded or parsed is data, not an error, so every failure is kept
as a human-readable reason in ``FileFacts.problems`` alongside whatever could be had (the
decoded text still feeds full-text search when the parse fails).

``ast`` rather than libcst: about ten times faster on large trees and it gives lines and
columns directly. Columns are ``ast``'s: 0-based offsets in the UTF-8 encoding of the line.

Every text a row carries is bounded, whatever the file holds: a signature (a default value
may be a string of megabytes) at SIGNATURE_MAX characters, a docstring at DOCSTRING_MAX, a
name at NAME_MAX, each cut with CUT appended; a qualified name (and so a reference's scope)
keeps its last NAME_MAX characters, its own name, behind a leading "… ". Otherwise a 1 MB
file could give a FindSymbol reply over the bus's 32 MiB message limit, and an outer name
repeated in every qualified name under it would multiply the file's size by the number of
definitions and references inside.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from inspect import cleandoc
from operator import attrgetter
from typing import Any

from codeanalysisd.index.facts import Binding, Definition, Import, Reference, Use
from codeanalysisd.index.scopes import (
    ANNOTATED,
    ASSIGNED,
    CLASS,
    DEFINED,
    FUNCTION,
    IMPORTED,
    MODULE,
    PARAMETER,
    UNBOUND,
    WEAK,
    Scope,
    annotation_raw,
    first_parameter,
    raw,
    split_raw,
)
from codeanalysisd.index.syntax import count_nodes

__all__ = ["CUT", "DOCSTRING_MAX", "NAME_MAX", "SIGNATURE_MAX", "Definition", "FileFacts", "Import", "Parsed",
           "Reference", "extract", "facts", "outline", "parse"]

SIGNATURE_MAX = 1000  # characters of a signature (a class's: its bases) kept
DOCSTRING_MAX = 4000  # characters of a docstring (a definition's or the module's) kept
NAME_MAX = 1000  # characters of a name, a qualified name, or a reference's (dotted) name kept
CUT = " …"  # after a text cut short
_CUT_BEFORE = "… "  # before a qualified name cut short (its end is kept)
_TOO_DEEP = "too deeply nested to index completely: some definitions and references are missing"


@dataclass(frozen=True)
class FileFacts:
    text: str | None
    encoding: str | None
    definitions: tuple[Definition, ...]
    imports: tuple[Import, ...]
    references: tuple[Reference, ...]
    module_docstring: str | None
    problems: tuple[str, ...]
    parsed: bool
    bindings: tuple[Binding, ...] = ()
    uses: tuple[Use, ...] = ()
    nodes: int | None = None  # of the ast tree walked (syntax.count_nodes); None: not parsed


@dataclass(frozen=True)
class Parsed:
    """A file decoded and parsed once, for ``outline`` and ``facts`` to walk."""

    text: str | None
    encoding: str | None
    tree: ast.Module | None
    problem: str  # why text or tree is None


def parse(source: bytes) -> Parsed:
    text, encoding, problem = _decode(source)
    if text is None:
        return Parsed(None, encoding, None, problem)
    tree, problem = _parse(text)
    return Parsed(text, encoding, tree, problem)


def extract(source: bytes) -> FileFacts:
    return facts(parse(source))


def facts(parsed: Parsed) -> FileFacts:
    text, encoding, tree = parsed.text, parsed.encoding, parsed.tree
    if text is None or tree is None:
        return FileFacts(text, encoding, (), (), (), None, (parsed.problem,), False)
    walk = _Walk(text)
    problems: tuple[str, ...] = ()
    try:
        walk.run(tree)
    except (RecursionError, MemoryError):
        # The walk is iterative, so this is only a safety net; what was found so far is still true.
        problems = (_TOO_DEEP,)
    by_position = attrgetter("line", "column")
    # A reference's name is as long as the identifier or chain written: cut here, once per
    # file, rather than in the walk's hot loop. (Its scope is a qualified name, cut already.)
    references = [r if len(r.name) <= NAME_MAX else r._replace(name=_cut(r.name, NAME_MAX)) for r in walk.references]
    uses = [u if len(u.expr) <= NAME_MAX and len(u.text) <= NAME_MAX else
            u._replace(expr=_cut(u.expr, NAME_MAX), text=_cut(u.text, NAME_MAX)) for u in walk.uses]
    bindings = [b if len(b.value) <= NAME_MAX else b._replace(value=_cut(b.value, NAME_MAX)) for b in walk.bindings]
    return FileFacts(
        text=text,
        encoding=encoding,
        definitions=tuple(sorted(walk.definitions, key=by_position)),
        imports=tuple(sorted(walk.imports, key=by_position)),
        references=tuple(sorted(references, key=by_position)),
        module_docstring=_docstring(tree.body),
        problems=problems,
        parsed=True,
        bindings=tuple(sorted(bindings, key=by_position)),
        uses=tuple(sorted(uses, key=by_position)),
        # for the parser units' bound on libcst's memory (syntax.py), counted here on the tree
        # at hand rather than by a parse of their own
        nodes=count_nodes(tree),
    )


# The statements that hold statements, and their fields that do (a definition can be nowhere
# else; a try's handlers and a match's cases hold theirs one level down). Looked up by type:
# most statements hold none, and are passed over without a getattr.
_BODIES: dict[type, tuple[str, ...]] = {
    ast.If: ("body", "orelse"), ast.For: ("body", "orelse"), ast.AsyncFor: ("body", "orelse"),
    ast.While: ("body", "orelse"), ast.With: ("body",), ast.AsyncWith: ("body",),
    ast.Try: ("body", "orelse", "finalbody"), ast.TryStar: ("body", "orelse", "finalbody"), ast.Match: (),
}


def outline(parsed: Parsed) -> FileFacts:
    """The file's definitions alone (no imports, references, bindings or uses), by a walk over
    its statements: a tenth to a fifth of the time of the parse, where ``facts`` takes about
    as long as the parse again. What a saved file shows first (``index/reading.outline_facts``);
    its definitions are ``facts``' own, as ``tests/unit/test_show_first.py`` checks over the
    standard library."""
    if parsed.text is None or parsed.tree is None:
        return facts(parsed)
    walk = _Walk(parsed.text)
    try:
        _outline(walk, parsed.tree)
    except (RecursionError, MemoryError):
        # A definition's signature may nest deeper than the stack (`x: a | a | ...` a
        # thousand times over) where the parse did not: nothing is shown first, as for a
        # file that did not parse (``reading.outline_facts``).
        return FileFacts(parsed.text, parsed.encoding, (), (), (), None, (_TOO_DEEP,), True)
    return FileFacts(parsed.text, parsed.encoding, tuple(sorted(walk.definitions, key=attrgetter("line", "column"))),
                     (), (), _docstring(parsed.tree.body), (), True)


def _outline(walk: _Walk, tree: ast.Module) -> None:
    pending: list[tuple[list[ast.stmt], Scope]] = [(tree.body, Scope("", "", MODULE, None))]
    while pending:
        nodes, scope = pending.pop()
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                pending.append((node.body, walk._define(node, scope)))
                continue
            fields = _BODIES.get(type(node))
            if fields is None:
                continue
            for name in fields:
                body = getattr(node, name)
                if body:
                    pending.append((body, scope))
            if isinstance(node, ast.Try | ast.TryStar):
                pending.extend((handler.body, scope) for handler in node.handlers)
            elif isinstance(node, ast.Match):
                pending.extend((case.body, scope) for case in node.cases)


# ---------------------------------------------------------------------------- decoding and parsing


def _decode(source: bytes) -> tuple[str | None, str | None, str]:
    """(text, encoding, problem); text is None when the bytes are not text in any encoding we can tell."""
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except SyntaxError as exc:
        # Either the cookie is unusable (unknown, or contradicting a BOM) or one of the first two
        # lines is not UTF-8; in the second case the codec's own message says where.
        try:
            source.decode("utf-8")
        except UnicodeDecodeError as codec_error:
            return None, None, f"cannot decode as utf-8: {codec_error}"
        return None, None, f"cannot decode: {exc.msg}"
    try:
        return source.decode(encoding), encoding, ""
    except Exception as exc:  # any codec a cookie names may fail in its own way
        return None, encoding, f"cannot decode as {encoding}: {exc}"


def _parse(text: str) -> tuple[ast.Module | None, str]:
    if "\0" in text:
        # Checked first because CPython refuses NUL with ValueError up to 3.11 and SyntaxError after.
        return None, "contains a NUL byte: full text only, not parsed"
    try:
        # Parsing warns about things like invalid escape sequences: printed, that would go to the
        # journal once per file, and under -W error it would turn valid code into a "syntax error".
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        message = exc.msg or ""
        # The tokenizer's own nesting limits ("too many nested parentheses") report as syntax errors.
        if "nested" in message or "too complex" in message:
            return None, f"too deeply nested to parse{where}: {message}"
        return None, f"syntax error{where}: {message}"
    except (RecursionError, MemoryError):
        # Deep nesting exhausts the parser's stack or the recursion guard of the conversion to ast nodes.
        return None, "too deeply nested to parse"
    except Exception as exc:  # e.g. a lone surrogate (from a codec like utf-7) cannot be encoded for the parser
        return None, f"cannot parse: {type(exc).__name__}: {exc}"
    return tree, ""


# ---------------------------------------------------------------------------- source text of expressions


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # RecursionError on deep expressions, ValueError on huge ints
        return "..."


def _expr(node: ast.expr) -> str:
    """ast.unparse(node), exactly, without its cost for the shapes annotations and defaults usually have."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        dotted = _dotted(node)
        if dotted is not None:
            return dotted
    elif isinstance(node, ast.Constant):
        value = node.value
        if value is None or value is True or value is False:
            return str(value)
        if value is Ellipsis:
            return "..."
        if node.kind is None and type(value) is str:
            return repr(value)
        if type(value) is int and value.bit_length() < 64:  # a huge int's repr may exceed the digit limit
            return repr(value)
    elif isinstance(node, ast.Subscript):
        # X[...] with simple parts: unparse writes the tuple of a subscript without parentheses.
        base, index = node.value, node.slice
        if isinstance(base, ast.Name | ast.Attribute):
            if isinstance(index, ast.Tuple):
                if len(index.elts) > 1 and not any(isinstance(e, ast.Starred) for e in index.elts):
                    return f"{_expr(base)}[{', '.join(_expr(e) for e in index.elts)}]"
            elif not isinstance(index, ast.Slice):
                return f"{_expr(base)}[{_expr(index)}]"
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and type(node.right) in _ATOMS:
        # `X | Y | Z` as annotations spell unions: the left operand may be another such union, since
        # `|` is left-associative; anything binding looser would need the parentheses unparse adds.
        left = node.left
        if type(left) in _ATOMS or (isinstance(left, ast.BinOp) and isinstance(left.op, ast.BitOr)):
            return f"{_expr(left)} | {_expr(node.right)}"
    return _unparse(node)


# Operands that unparse never parenthesizes next to `|`.
_ATOMS = frozenset({ast.Name, ast.Attribute, ast.Constant, ast.Subscript})


def _dotted(node: ast.Attribute) -> str | None:
    """The dotted name ("a.b.c") of an attribute chain rooted at a plain name, else None."""
    parts = [node.attr]
    base = node.value
    while type(base) is ast.Attribute:
        parts.append(base.attr)
        base = base.value
    if type(base) is not ast.Name:
        return None
    parts.append(base.id)
    parts.reverse()
    return ".".join(parts)


def _arg(arg: ast.arg) -> str:
    if arg.annotation is None:
        return arg.arg
    return f"{arg.arg}: {_expr(arg.annotation)}"


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The same text as "(" + ast.unparse(node.args) + ")" plus " -> R", built piecewise so that
    only unusual annotations and defaults pay for the general unparser."""
    args = node.args
    parts: list[str] = []
    positional = args.posonlyargs + args.args
    first_default = len(positional) - len(args.defaults)
    slash_after = len(args.posonlyargs) - 1
    for index, arg in enumerate(positional):
        text = _arg(arg)
        if index >= first_default:
            text = f"{text}={_expr(args.defaults[index - first_default])}"
        parts.append(text)
        if index == slash_after:
            parts.append("/")
    if args.vararg is not None:
        parts.append("*" + _arg(args.vararg))
    elif args.kwonlyargs:
        parts.append("*")
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=False):
        parts.append(_arg(arg) if default is None else f"{_arg(arg)}={_expr(default)}")
    if args.kwarg is not None:
        parts.append("**" + _arg(args.kwarg))
    signature = f"({', '.join(parts)})"
    if node.returns is not None:
        signature = f"{signature} -> {_expr(node.returns)}"
    return _cut(signature, SIGNATURE_MAX)


def _keyword(keyword: ast.keyword) -> str:
    value = _expr(keyword.value)
    return f"**{value}" if keyword.arg is None else f"{keyword.arg}={value}"


def _docstring(body: list[ast.stmt]) -> str | None:
    """ast.get_docstring, without its isinstance check against the deprecated ast.Str."""
    if body and type(body[0]) is ast.Expr:
        value = body[0].value
        if type(value) is ast.Constant and type(value.value) is str:
            return _cut(_storable(cleandoc(value.value)), DOCSTRING_MAX)
    return None


def _cut(text: str, limit: int) -> str:
    """The text, or its first ``limit`` characters and CUT."""
    return text if len(text) <= limit else text[:limit] + CUT


def _qualname(prefix: str, name: str) -> str:
    """prefix + name, or "… " and its last NAME_MAX characters (its own name stays readable);
    a name at module level is its qualified name, cut as a name.
    The prefix is a qualified name made here, so already bounded: this costs the same for any
    depth and any length of the names written in the file."""
    qualname = prefix + name
    return qualname if len(qualname) <= NAME_MAX or not prefix else _CUT_BEFORE + qualname[-NAME_MAX:]


def _storable(text: str) -> str:
    """Text that UTF-8 can hold. A docstring may spell a lone surrogate ("\\ud800"), which
    neither SQLite nor a bus message can carry: it is kept as that escape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# ---------------------------------------------------------------------------- the walk


# Fields never holding nodes worth visiting: names as strings, and the context and operator
# singletons that hang off almost every expression.
_NOT_CHILDREN = frozenset({
    "ctx", "op", "ops", "id", "attr", "arg", "name", "names", "module", "level", "is_async", "conversion",
    "kind", "simple", "type_comment", "type_ignores", "tag", "kwd_attrs", "rest",
})
# Per node class, the fields to walk into; computed once so the walk mutates nothing shared.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {
    kind: tuple(f for f in kind._fields if f not in _NOT_CHILDREN)
    for kind in vars(ast).values()
    if isinstance(kind, type) and issubclass(kind, ast.AST)
}


# The node types _Walk._binder handles.
_BINDERS = frozenset({
    ast.For, ast.AsyncFor, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.withitem, ast.ExceptHandler,
    ast.comprehension, ast.Lambda, ast.Return, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal, ast.FunctionDef,
    ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
})


class _Walk:
    """One iterative pass over the tree: no recursion limit to hit, and every node is looked at once.

    Each scope's nodes are walked with the scope fixed; the bodies of nested definitions are queued
    with their own scope, while their decorators, defaults, annotations and bases stay in the
    enclosing scope, where Python evaluates them. A scope's names are bound when its walk is done
    (``scopes.Scope.finish``), before any scope nested in it is walked.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.definitions: list[Definition] = []
        self.imports: list[Import] = []
        self.references: list[Reference] = []
        self.uses: list[Use] = []
        self.bindings: list[Binding] = []
        self._line_starts = [0]  # offsets in text of the lines found so far (from-import positions)

    def run(self, tree: ast.Module) -> None:
        module = Scope("", "", MODULE, None)
        pending: list[tuple[list[ast.stmt], Scope]] = [(tree.body, module)]
        while pending:
            nodes, scope = pending.pop()
            self._scope(nodes, scope, pending)
            scope.finish(self.uses)
            self.bindings.extend(scope.bindings_out)
            if scope.kind == MODULE:
                self._exports(tree.body, scope)

    def _scope(self, nodes: list[ast.stmt], scope: Scope, pending: list[tuple[list[ast.stmt], Scope]]) -> None:
        # Locals, not module attributes: this loop runs once per node of every file.
        Name, Attribute, Call, Constant, Load = ast.Name, ast.Attribute, ast.Call, ast.Constant, ast.Load
        references = self.references
        add = references.append
        link = scope.links.append
        bind = scope.bind
        where = scope.qualname
        # Any: the loop dispatches on type(node) held in a local (for speed), which mypy does not narrow.
        stack: list[Any] = list(nodes)
        push, extend, pop = stack.append, stack.extend, stack.pop
        while stack:
            node = pop()
            kind = type(node)
            if kind is Name:
                if type(node.ctx) is Load:
                    add(Reference(node.id, "name", node.lineno, node.col_offset, where))
                    link((node.id, "", "name", node.lineno, node.col_offset))
                else:
                    bind(node.id, node.lineno, node.col_offset, UNBOUND, "?")
            elif kind is Constant:
                pass  # the commonest leaf after names: settled here rather than by the generic field lookup
            elif kind is Attribute:
                if type(node.ctx) is Load:
                    self._chain(node, "attribute", scope, push)
                else:
                    push(node.value)  # the object of `a.b = x` is itself read
            elif kind is Call:
                func = node.func
                if type(func) is Name:
                    add(Reference(func.id, "call", func.lineno, func.col_offset, where))
                    link((func.id, "", "call", func.lineno, func.col_offset))
                elif type(func) is Attribute:
                    self._chain(func, "call", scope, push)
                else:
                    push(func)
                extend(node.args)
                extend(node.keywords)
            elif kind in _BINDERS:
                self._binder(node, kind, scope, push, extend, pending)
            else:
                for field in _CHILD_FIELDS.get(kind, ()):
                    value = getattr(node, field, None)
                    if value is None:
                        continue
                    if type(value) is list:
                        extend(value)  # may hold None (`**d` in a dict, kw-only args without default): a no-op node
                    else:
                        push(value)

    def _binder(self, node: Any, kind: type, scope: Scope, push: Callable[[Any], None],
                extend: Callable[[Any], None], pending: list[tuple[list[ast.stmt], Scope]]) -> None:
        """The nodes that bind names (and ``return``, ``yield``, ``global``): off the walk's hot
        loop, which meets them far less often than the expressions around them."""
        bind, Name, Attribute, Constant = scope.bind, ast.Name, ast.Attribute, ast.Constant
        if kind is ast.For or kind is ast.AsyncFor:
            # a loop's variable is an item of what it iterates
            target = node.target
            if type(target) is Name:
                bind(target.id, target.lineno, target.col_offset, ASSIGNED, raw(node.iter) + "[]")
            else:
                push(target)
            push(node.iter)
            extend(node.body)
            extend(node.orelse)
        elif kind is ast.Assign:
            value = node.value
            text = None
            for target in node.targets:
                if type(target) is Name:
                    text = text or raw(value)
                    bind(target.id, target.lineno, target.col_offset, ASSIGNED, text)
                else:
                    if type(target) is Attribute and type(target.value) is Name:
                        text = text or raw(value)
                        scope.attrs.append((target.value.id, target.attr, text, target.lineno,
                                            target.col_offset))
                    push(target)
            push(value)
        elif kind is ast.AnnAssign:
            target = node.target
            typed = annotation_raw(node.annotation)
            if typed == "?" and node.value is not None:
                typed = raw(node.value)
            if type(target) is Name:
                bind(target.id, target.lineno, target.col_offset, ASSIGNED, typed)
            else:
                if type(target) is Attribute and type(target.value) is Name:
                    scope.attrs.append((target.value.id, target.attr, typed, target.lineno, target.col_offset))
                push(target)
            push(node.annotation)
            if node.value is not None:
                push(node.value)
        elif kind is ast.AugAssign:
            # `x += 1` rebinds x to what it already is, as far as a name's meaning goes
            if type(node.target) is not Name:
                push(node.target)
            push(node.value)
        elif kind is ast.NamedExpr:
            bind(node.target.id, node.target.lineno, node.target.col_offset, ASSIGNED, raw(node.value))
            push(node.value)
        elif kind is ast.withitem:
            target = node.optional_vars
            if type(target) is Name:
                bind(target.id, target.lineno, target.col_offset, ASSIGNED, raw(node.context_expr))
            elif target is not None:
                push(target)
            push(node.context_expr)
        elif kind is ast.ExceptHandler:
            if node.name is not None:
                caught = annotation_raw(node.type) if node.type is not None else "?"
                bind(node.name, node.lineno, node.col_offset, ASSIGNED, caught)
            if node.type is not None:
                push(node.type)
            extend(node.body)
        elif kind is ast.comprehension:
            found, only_names = _names_in(node.target)
            for name in found:
                bind(name.id, name.lineno, name.col_offset, WEAK, "?")
            if not only_names:
                push(node.target)
            push(node.iter)
            extend(node.ifs)
        elif kind is ast.Lambda:
            for arg in _arguments(node.args):
                bind(arg.arg, arg.lineno, arg.col_offset, WEAK, "?")
            push(node.args)
            push(node.body)
        elif kind is ast.Return:
            if node.value is not None:
                if scope.kind == FUNCTION and type(node.value) is not Constant:
                    scope.returns.append((node.lineno, raw(node.value)))
                push(node.value)
        elif kind is ast.Yield or kind is ast.YieldFrom:
            scope.generator = True
            if node.value is not None:
                push(node.value)
        elif kind is ast.Global:
            scope.globals.update(node.names)
        elif kind is ast.Nonlocal:
            scope.nonlocals.update(node.names)
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
            inner = self._define(node, scope)
            bind(node.name, node.lineno, node.col_offset, DEFINED, "@" + inner.qualname)
            pending.append((node.body, inner))
            extend(node.decorator_list)
            extend(getattr(node, "type_params", ()))
            if kind is ast.ClassDef:
                extend(node.bases)
                extend(node.keywords)
            else:
                push(node.args)
                if node.returns is not None:
                    push(node.returns)
        elif kind is ast.Import:
            for a in node.names:
                self.imports.append(Import(a.name, None, a.asname, 0, a.lineno, a.col_offset))
                self._import(a, scope)
        elif kind is ast.ImportFrom:
            module, level = node.module or "", node.level or 0
            self.imports.extend(
                Import(module, a.name, a.asname, level, a.lineno, a.col_offset) for a in node.names)
            self._import_from(node, module, level, scope)

    def _chain(self, node: ast.Attribute, kind: str, scope: Scope, push: Callable[[ast.AST], None]) -> None:
        """One reference for a chain rooted at a name; else one per attribute, and walk on into its base.
        Every name of the chain is also a use, each placed where its own name is written."""
        links = [node]
        base = node.value
        while type(base) is ast.Attribute:
            links.append(base)
            base = base.value
        where = scope.qualname
        add = self.references.append
        record = scope.links.append
        links.reverse()
        if type(base) is ast.Name:
            names = [base.id]
            names.extend(a.attr for a in links)
            add(Reference(".".join(names), kind, base.lineno, base.col_offset, where))
            record((base.id, "", "name", base.lineno, base.col_offset))
            head, text = base.id, ""
        else:
            # `f().x` has no name to anchor to, so each attribute is placed where its own name is written
            # (in a fluent chain spread over lines, that is its own line, not the line the chain starts on).
            head, text = split_raw(raw(base))
        last = len(links) - 1
        for index, attribute in enumerate(links):
            attr = attribute.attr
            width = len(attr) if attr.isascii() else len(attr.encode("utf-8", "surrogatepass"))
            line, column = attribute.end_lineno, attribute.end_col_offset
            if line is None or column is None:
                line, column = attribute.lineno, attribute.col_offset
            else:
                column = max(column - width, 0)
            text = f"{text}.{attr}"
            link_kind = kind if index == last else "attribute"  # only the outermost link of a callee is the call
            record((head, text, link_kind, line, column))
            if type(base) is not ast.Name:
                add(Reference(attr, "call" if index == last and kind == "call" else "attribute", line, column,
                              where))
        if type(base) is not ast.Name:
            push(base)

    # ------------------------------------------------------------------ imports
    def _import(self, alias: ast.alias, scope: Scope) -> None:
        name, line, column = alias.name, alias.lineno, alias.col_offset
        parts = name.split(".")
        if alias.asname:
            scope.bind(alias.asname, line, column, IMPORTED, "^" + name)
        else:
            scope.bind(parts[0], line, column, IMPORTED, "^" + parts[0])
        # each module of the dotted name is used where it is written (`import a.b` uses a and a.b)
        at = column
        for n, part in enumerate(parts):
            dotted = ".".join(parts[:n + 1])
            self.uses.append(Use(part, "^" + dotted, "import", line, at, scope.qualname, dotted))
            at += len(part.encode("utf-8")) + 1

    def _import_from(self, node: ast.ImportFrom, module: str, level: int, scope: Scope) -> None:
        base = "^" + "." * level + module
        joined = base if base.endswith(".") or base == "^" else base + "."
        for alias in node.names:
            if alias.name == "*":
                if scope.kind == MODULE:
                    scope.stars.append((base, alias.lineno, alias.col_offset))
                continue
            target = joined + alias.name
            scope.bind(alias.asname or alias.name, alias.lineno, alias.col_offset, IMPORTED, target)
            self.uses.append(Use(alias.name, target, "import", alias.lineno, alias.col_offset, scope.qualname,
                                 alias.name))
        if module:
            at = self._module_column(node, level)
            if at is not None:
                line, column = at
                parts = module.split(".")
                for n, part in enumerate(parts):
                    dotted = ".".join(parts[:n + 1])
                    self.uses.append(Use(part, "^" + "." * level + dotted, "import", line, column, scope.qualname,
                                         "." * level + dotted))
                    column += len(part.encode("utf-8")) + 1

    def _module_column(self, node: ast.ImportFrom, level: int) -> tuple[int, int] | None:
        """Where the module of `from <module> import ...` is written (ast does not say): on the
        statement's own line, after `from`, its dots and the blanks between."""
        line = self._line(node.lineno)
        if line is None:
            return None
        data = line.encode("utf-8", "surrogatepass") if not line.isascii() else None
        text = line if data is None else data.decode("latin-1")  # one character per byte: columns are bytes
        at = node.col_offset + 4  # past "from"
        dots = 0
        while at < len(text) and (text[at] in " \t\\" or (text[at] == "." and dots < level)):
            dots += text[at] == "."
            at += 1
        if dots != level or not text.startswith((node.module or "").split(".", 1)[0], at):
            return None
        return node.lineno, at

    def _line(self, number: int) -> str | None:
        starts, text = self._line_starts, self.text
        while len(starts) < number:
            at = text.find("\n", starts[-1])
            if at < 0:
                return None
            starts.append(at + 1)
        end = text.find("\n", starts[number - 1])
        return text[starts[number - 1]:end if end >= 0 else len(text)]

    def _exports(self, body: list[ast.stmt], module: Scope) -> None:
        """``__all__`` written as a literal list or tuple of strings: the names a star import takes."""
        for statement in body:
            if (type(statement) is ast.Assign and len(statement.targets) == 1
                    and type(statement.targets[0]) is ast.Name and statement.targets[0].id == "__all__"
                    and type(statement.value) in (ast.List, ast.Tuple)):
                items = statement.value.elts  # type: ignore[attr-defined]  # a List or Tuple, tested above
                if all(type(i) is ast.Constant and type(i.value) is str for i in items):
                    self.bindings.extend(Binding("", i.value, "export", "", i.lineno, i.col_offset) for i in items)

    # ------------------------------------------------------------------ definitions
    def _define(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, scope: Scope) -> Scope:
        name = _cut(node.name, NAME_MAX)
        qualname = _qualname(scope.prefix, name)
        decorators = tuple(_expr(d) for d in node.decorator_list)
        if isinstance(node, ast.ClassDef):
            bases = (*(_expr(b) for b in node.bases), *(_keyword(k) for k in node.keywords))
            self.definitions.append(Definition(
                qualname, name, "class", node.lineno, node.col_offset, node.end_lineno or node.lineno,
                decorators, bases, _cut(f"({', '.join(bases)})", SIGNATURE_MAX) if bases else "",
                _docstring(node.body), scope.qualname or None))
            for position, base in enumerate(node.bases):
                # a generic's base is the class it parametrizes: Generic[T] is Generic
                while isinstance(base, ast.Subscript):
                    base = base.value
                scope.bases.append((qualname, position, raw(base), node.lineno, node.col_offset))
            return Scope(qualname, qualname + ".", CLASS, scope)
        kind = "function" if type(node) is ast.FunctionDef else "async_function"
        if scope.in_class:
            kind = "method" if kind == "function" else "async_method"
        self.definitions.append(Definition(
            qualname, name, kind, node.lineno, node.col_offset, node.end_lineno or node.lineno,
            decorators, (), _signature(node), _docstring(node.body), scope.qualname or None))
        inner = Scope(qualname, qualname + ".<locals>.", FUNCTION, scope)
        first = first_parameter(node, scope.qualname) if scope.in_class else None
        defaults = _defaults(node.args)
        for arg in _arguments(node.args):
            if first is not None and arg.arg == first[0]:
                inner.bind(arg.arg, arg.lineno, arg.col_offset, PARAMETER, first[1])
                first = None
                continue
            typed = annotation_raw(arg.annotation)
            if typed == "?" and arg.arg in defaults:
                typed = defaults[arg.arg]  # an unannotated parameter is what its default is, when one is named
            inner.bind(arg.arg, arg.lineno, arg.col_offset, ANNOTATED if typed != "?" else UNBOUND, typed)
        if node.returns is not None:
            inner.annotated = True
            typed = annotation_raw(node.returns)
            if typed != "?":
                scope.result_types.append((qualname, typed, node.lineno))
        return inner


def _arguments(args: ast.arguments) -> list[ast.arg]:
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg is not None:
        found.append(args.vararg)
    if args.kwarg is not None:
        found.append(args.kwarg)
    return found


def _defaults(args: ast.arguments) -> dict[str, str]:
    """Parameters whose default is a name or an attribute chain (a module's constant, a policy
    object), as raw texts; a literal default (None, 0) says too little to go by."""
    positional = [*args.posonlyargs, *args.args]
    pairs = [*zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True),
             *((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None)]
    found = {}
    for arg, default in pairs:
        if isinstance(default, ast.Name | ast.Attribute | ast.Call):
            text = raw(default)
            if text[0] not in "^?~@&":
                found[arg.arg] = text
    return found


def _names_in(target: ast.expr) -> tuple[list[ast.Name], bool]:
    """The names a target binds (`x`, `(a, [b, *c])`), and whether it is made of nothing else."""
    found: list[ast.Name] = []
    only_names = True
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            found.append(node)
        elif isinstance(node, ast.Tuple | ast.List):
            stack.extend(node.elts)
        elif isinstance(node, ast.Starred):
            stack.append(node.value)
        else:
            only_names = False
    return found, only_names

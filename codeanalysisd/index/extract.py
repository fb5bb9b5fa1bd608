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

from codeanalysisd.index.facts import Definition, Import, Reference

__all__ = ["CUT", "DOCSTRING_MAX", "NAME_MAX", "SIGNATURE_MAX", "Definition", "FileFacts", "Import", "Reference",
           "extract"]

SIGNATURE_MAX = 1000  # characters of a signature (a class's: its bases) kept
DOCSTRING_MAX = 4000  # characters of a docstring (a definition's or the module's) kept
NAME_MAX = 1000  # characters of a name, a qualified name, or a reference's (dotted) name kept
CUT = " …"  # after a text cut short
_CUT_BEFORE = "… "  # before a qualified name cut short (its end is kept)


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


def extract(source: bytes) -> FileFacts:
    text, encoding, problem = _decode(source)
    if text is None:
        return FileFacts(None, encoding, (), (), (), None, (problem,), False)
    tree, problem = _parse(text)
    if tree is None:
        return FileFacts(text, encoding, (), (), (), None, (problem,), False)
    walk = _Walk()
    problems: tuple[str, ...] = ()
    try:
        walk.run(tree)
    except (RecursionError, MemoryError):
        # The walk is iterative, so this is only a safety net; what was found so far is still true.
        problems = ("too deeply nested to index completely: some definitions and references are missing",)
    by_position = attrgetter("line", "column")
    # A reference's name is as long as the identifier or chain written: cut here, once per
    # file, rather than in the walk's hot loop. (Its scope is a qualified name, cut already.)
    references = [r if len(r.name) <= NAME_MAX else r._replace(name=_cut(r.name, NAME_MAX)) for r in walk.references]
    return FileFacts(
        text=text,
        encoding=encoding,
        definitions=tuple(sorted(walk.definitions, key=by_position)),
        imports=tuple(sorted(walk.imports, key=by_position)),
        references=tuple(sorted(references, key=by_position)),
        module_docstring=_docstring(tree.body),
        problems=problems,
        parsed=True,
    )


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


class _Scope:
    __slots__ = ("in_class", "prefix", "qualname")

    def __init__(self, qualname: str, prefix: str, in_class: bool) -> None:
        self.qualname = qualname
        self.prefix = prefix  # what the qualnames of definitions directly inside start with
        self.in_class = in_class


class _Walk:
    """One iterative pass over the tree: no recursion limit to hit, and every node is looked at once.

    Each scope's nodes are walked with the scope fixed; the bodies of nested definitions are queued
    with their own scope, while their decorators, defaults, annotations and bases stay in the
    enclosing scope, where Python evaluates them.
    """

    def __init__(self) -> None:
        self.definitions: list[Definition] = []
        self.imports: list[Import] = []
        self.references: list[Reference] = []

    def run(self, tree: ast.Module) -> None:
        pending: list[tuple[list[ast.stmt], _Scope]] = [(tree.body, _Scope("", "", False))]
        while pending:
            nodes, scope = pending.pop()
            self._scope(nodes, scope, pending)

    def _scope(self, nodes: list[ast.stmt], scope: _Scope, pending: list[tuple[list[ast.stmt], _Scope]]) -> None:
        # Locals, not module attributes: this loop runs once per node of every file.
        Name, Attribute, Call, Constant, Load = ast.Name, ast.Attribute, ast.Call, ast.Constant, ast.Load
        references = self.references
        add = references.append
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
            elif kind is Constant:
                pass  # the commonest leaf after names: settled here rather than by the generic field lookup
            elif kind is Attribute:
                if type(node.ctx) is Load:
                    self._chain(node, "attribute", where, push)
                else:
                    push(node.value)  # the object of `a.b = x` is itself read
            elif kind is Call:
                func = node.func
                if type(func) is Name:
                    add(Reference(func.id, "call", func.lineno, func.col_offset, where))
                elif type(func) is Attribute:
                    self._chain(func, "call", where, push)
                else:
                    push(func)
                extend(node.args)
                extend(node.keywords)
            elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
                pending.append((node.body, self._define(node, scope)))
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
                self.imports.extend(Import(a.name, None, a.asname, 0, a.lineno, a.col_offset) for a in node.names)
            elif kind is ast.ImportFrom:
                module, level = node.module or "", node.level or 0
                self.imports.extend(
                    Import(module, a.name, a.asname, level, a.lineno, a.col_offset) for a in node.names)
            else:
                for field in _CHILD_FIELDS.get(kind, ()):
                    value = getattr(node, field, None)
                    if value is None:
                        continue
                    if type(value) is list:
                        extend(value)  # may hold None (`**d` in a dict, kw-only args without default): a no-op node
                    else:
                        push(value)

    def _chain(self, node: ast.Attribute, kind: str, where: str, push: Callable[[ast.AST], None]) -> None:
        """One reference for a chain rooted at a name; else one per attribute, and walk on into its base."""
        links = [node]
        base = node.value
        while type(base) is ast.Attribute:
            links.append(base)
            base = base.value
        add = self.references.append
        if type(base) is ast.Name:
            names = [base.id]
            names.extend(link.attr for link in reversed(links))
            add(Reference(".".join(names), kind, base.lineno, base.col_offset, where))
            return
        # `f().x` has no name to anchor to, so each attribute is placed where its own name is written
        # (in a fluent chain spread over lines, that is its own line, not the line the chain starts on).
        for link in links:
            attr = link.attr
            width = len(attr) if attr.isascii() else len(attr.encode("utf-8", "surrogatepass"))
            line, column = link.end_lineno, link.end_col_offset
            if line is None or column is None:
                line, column = link.lineno, link.col_offset
            else:
                column = max(column - width, 0)
            add(Reference(attr, kind, line, column, where))
            kind = "attribute"  # only the outermost link of a callee is the call
        push(base)

    def _define(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, scope: _Scope) -> _Scope:
        name = _cut(node.name, NAME_MAX)
        qualname = _qualname(scope.prefix, name)
        decorators = tuple(_expr(d) for d in node.decorator_list)
        if isinstance(node, ast.ClassDef):
            bases = (*(_expr(b) for b in node.bases), *(_keyword(k) for k in node.keywords))
            self.definitions.append(Definition(
                qualname, name, "class", node.lineno, node.col_offset, node.end_lineno or node.lineno,
                decorators, bases, _cut(f"({', '.join(bases)})", SIGNATURE_MAX) if bases else "",
                _docstring(node.body), scope.qualname or None))
            return _Scope(qualname, qualname + ".", True)
        kind = "function" if type(node) is ast.FunctionDef else "async_function"
        if scope.in_class:
            kind = "method" if kind == "function" else "async_method"
        self.definitions.append(Definition(
            qualname, name, kind, node.lineno, node.col_offset, node.end_lineno or node.lineno,
            decorators, (), _signature(node), _docstring(node.body), scope.qualname or None))
        return _Scope(qualname, qualname + ".<locals>.", False)

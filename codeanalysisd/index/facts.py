"""What the index keeps of one file's content, typed: one shape from the extractor to the row.

``extract`` finds these rows, ``wire`` carries them between processes as JSON arrays in
field order, and ``db.indexing`` writes them by field name. The rows are named tuples:
immutable, cheap to make by the hundred thousand, and their JSON form is the row itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["REFERENCE_KINDS", "USE_KINDS", "Binding", "Definition", "Import", "IndexedFacts", "Reference", "Use",
           "parent_of"]

# What a name occurrence can be: the index stores each kind as a number (db/name_rows.py), so
# a row of another kind is refused on the wire rather than stored.
REFERENCE_KINDS = frozenset({"name", "attribute", "call"})
USE_KINDS = REFERENCE_KINDS | {"import"}


class Definition(NamedTuple):
    qualname: str
    name: str
    kind: str  # class, function, async_function, method, async_method
    line: int  # of the def/class keyword, not of the first decorator
    column: int
    end_line: int
    decorators: tuple[str, ...]
    bases: tuple[str, ...]  # classes only, keywords included as "metaclass=M"
    signature: str
    docstring: str | None
    parent: str | None


# What the extractor puts between a function's name and the names defined inside it.
_LOCALS = ".<locals>"


def parent_of(qualname: str) -> str | None:
    """The qualified name of the definition enclosing the one named ``qualname``, as the
    extractor gives it (Definition.parent): the name before its last, without a function's
    ``<locals>``; None at module level. The index keeps no parent of its own but this."""
    head, dot, _ = qualname.rpartition(".")
    if not dot:
        return None
    return head[:-len(_LOCALS)] if head.endswith(_LOCALS) else head


class Import(NamedTuple):
    module: str  # without the leading dots of a relative import; see level
    name: str | None  # None for `import X`, "*" for a star import
    alias: str | None
    level: int
    line: int  # of the imported name itself, which may sit below the `from` in a parenthesized list
    column: int


class Reference(NamedTuple):
    name: str  # "a.b.c" for a chain rooted at a name, else just the attribute
    kind: str  # REFERENCE_KINDS: call, attribute, name
    line: int
    column: int
    scope: str  # qualname of the innermost enclosing definition, "" at module level


class Binding(NamedTuple):
    """A name a module or a class binds, or another fact another file may need to follow a
    name through this one; ``value`` is an expression (``index/expressions.py``)."""

    scope: str  # "" for the module; a class's qualname; a function's (kind "return")
    name: str  # the name bound; a base's position ("0", "1", ...); "*" for a star import
    kind: str  # import, assign, attr, base, return, star, export
    value: str
    line: int
    column: int


class Use(NamedTuple):
    """One name read (or imported), with what it denotes as far as this file can tell."""

    key: str  # the last name of ``expr``: what a lookup by name finds it under
    expr: str  # what it denotes (index/expressions.py)
    kind: str  # USE_KINDS: name, attribute, call, import
    line: int
    column: int  # of this name itself (the attribute's own, in a chain)
    scope: str  # qualname of the innermost enclosing definition, "" at module level
    text: str  # as written, up to this name ("eu.formatdate", "self.get")


@dataclass(frozen=True)
class IndexedFacts:
    """Everything the index derives from one file's bytes (the bytes themselves travel beside)."""

    encoding: str | None  # None: not text in any encoding that could be told
    parsed: bool
    problems: tuple[str, ...]  # why the file is not (completely) indexed, in words
    docstring: str | None  # the module's
    definitions: tuple[Definition, ...] = ()
    imports: tuple[Import, ...] = ()
    references: tuple[Reference, ...] = ()
    unreadable: bool = False  # the bytes could not be read: the file is listed, without content
    bindings: tuple[Binding, ...] = ()
    uses: tuple[Use, ...] = ()
    nodes: int | None = None  # of its ast tree (syntax.count_nodes), when parsed and counted

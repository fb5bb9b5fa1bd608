"""What the index keeps of one file's content, typed: one shape from the extractor to the row.

``extract`` finds these rows, ``wire`` carries them between processes as JSON arrays in
field order, and ``db.indexing`` writes them by field name. The rows are named tuples:
immutable, cheap to make by the hundred thousand, and their JSON form is the row itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Definition", "Import", "IndexedFacts", "Reference"]


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


class Import(NamedTuple):
    module: str  # without the leading dots of a relative import; see level
    name: str | None  # None for `import X`, "*" for a star import
    alias: str | None
    level: int
    line: int  # of the imported name itself, which may sit below the `from` in a parenthesized list
    column: int


class Reference(NamedTuple):
    name: str  # "a.b.c" for a chain rooted at a name, else just the attribute
    kind: str  # call, attribute, name
    line: int
    column: int
    scope: str  # qualname of the innermost enclosing definition, "" at module level


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

"""What a name denotes, written so another file's facts can finish the job.

The extractor sees one file. It binds every name it can inside that file (scopes,
parameters, ``self``/``cls``, local aliases, imports) and writes what is left as a small
expression over things outside the file; the DB owner evaluates it across the project
(``index/resolve.py``). An expression is a root, then steps: ``.name`` (an attribute) or
``()`` (a call's result).

Steps besides names and calls: ``[]`` an item of (iterating it, indexing it), and ``*`` a
collection of what precedes (``List[X]`` is ``X()*``: an item of it is an ``X``).

Roots:

- ``^a.b`` — what ``import``/``from ... import`` names: a module path, perhaps followed by
  attributes (which is which is decided where the project's modules are known);
  ``^..a.b`` is relative, one dot per level, from the file's own package.
- ``~name`` — a global of the file's module that the file does not bind itself in a way it
  can follow (an assignment, a star import): looked up in the module's namespace.
- ``@Q`` — the definition with qualified name ``Q`` in this file (the longest prefix of
  what follows that is one): ``@Message().get`` is ``get`` looked up on a ``Message``.
- ``&Q`` — ``super()`` in a method of class ``Q``: attributes are looked up in ``Q``'s
  bases, in method resolution order.
- ``?`` — not known from this file (a parameter without annotation, a subscript, ...).
"""

from __future__ import annotations

import re

__all__ = ["CALL", "DEF", "GLOBAL", "ITEM", "ITEMS", "MODULE", "ROOTS", "SUPER", "UNKNOWN", "key", "steps"]

MODULE = "^"
GLOBAL = "~"
DEF = "@"
SUPER = "&"
UNKNOWN = "?"
ROOTS = frozenset((MODULE, GLOBAL, DEF, SUPER, UNKNOWN))
CALL = "()"
ITEM = "[]"
ITEMS = "*"
_STEP = re.compile(r"\(\)|\[\]|\*|[^.()\[\]*]+")


def key(expr: str) -> str:
    """The last name an expression denotes ("" if it ends in a call, an item, or names only a root)."""
    if expr.endswith((")", "]", "*")):
        return ""
    cut = max(expr.rfind("."), expr.rfind(")"), expr.rfind("]"), expr.rfind("*"))
    tail = expr[cut + 1:] if cut >= 0 else expr[1:]
    return tail if tail.isidentifier() else ""


def steps(text: str) -> list[str]:
    """The names, calls and items of a dotted text: "a.b()[].c" -> ["a", "b", "()", "[]", "c"]."""
    return _STEP.findall(text)

"""What a name denotes, written so another file's facts can finish the job.

The extractor sees one file. It binds every name it can inside that file (scopes,
parameters, ``self``/``cls``, local aliases, imports) and writes what is left as a small
expression over things outside the file; the DB owner evaluates it across the project
(``index/resolve.py``). An expression is a root, then steps: ``.name`` (an attribute) or
``()`` (a call's result).

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

__all__ = ["CALL", "DEF", "GLOBAL", "MODULE", "ROOTS", "SUPER", "UNKNOWN", "key", "steps"]

MODULE = "^"
GLOBAL = "~"
DEF = "@"
SUPER = "&"
UNKNOWN = "?"
ROOTS = frozenset((MODULE, GLOBAL, DEF, SUPER, UNKNOWN))
CALL = "()"


def key(expr: str) -> str:
    """The last name an expression denotes ("" if it ends in a call or names only a root)."""
    if expr.endswith(")"):
        return ""
    cut = max(expr.rfind("."), expr.rfind(")"))
    tail = expr[cut + 1:] if cut >= 0 else expr[1:]
    return tail if tail.isidentifier() else ""


def steps(text: str) -> list[str]:
    """The names and calls of a dotted text with calls: "a.b().c" -> ["a", "b", "()", "c"]."""
    out: list[str] = []
    for part in text.split("."):
        if not part:
            continue
        bare = part.split("(", 1)[0]
        if bare:
            out.append(bare)
        out.extend(CALL for _ in range(part.count("(")))
    return out

"""Does libcst's concrete syntax tree reproduce a file byte for byte?

The exact bytes of every file are stored, so nothing depends on libcst regenerating them;
this verdict says whether the concrete syntax tree (for refactoring tools and queries on
layout) is faithful for that file. libcst is ~10x slower than ast, so verdicts come from
the parser units (workers/parser.py), side by side, only while the watcher has no backlog.
"""

from __future__ import annotations

import libcst

EXACT = "exact"


def verdict(source: bytes) -> str:
    try:
        module = libcst.parse_module(source)
    except libcst.ParserSyntaxError as exc:
        return f"libcst cannot parse it: {str(exc).splitlines()[0]}"
    except (RecursionError, MemoryError) as exc:
        return f"libcst cannot parse it: {type(exc).__name__}"
    except Exception as exc:  # libcst's native parser raises a few types of its own
        return f"libcst cannot parse it: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    try:
        regenerated = module.bytes
    except (RecursionError, MemoryError, UnicodeError) as exc:
        return f"libcst cannot regenerate it: {type(exc).__name__}"
    if regenerated == source:
        return EXACT
    old, new = source.splitlines(), regenerated.splitlines()
    line = next((i + 1 for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)) + 1)
    return f"libcst's concrete syntax tree does not reproduce the file (first difference at line {line})"

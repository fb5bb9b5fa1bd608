"""Does libcst's concrete syntax tree reproduce a file byte for byte?

The exact bytes of every file are stored, so nothing depends on libcst regenerating them;
this verdict says whether the concrete syntax tree (for refactoring tools and queries on
layout) is faithful for that file. libcst is ~10x slower than ast, so verdicts come from
the parser units (workers/parser.py), side by side, only while the watcher has no backlog.

libcst's tree takes 1.4 to 6.7 KB (median 3.2) per node of the file's ``ast`` tree, measured
over the 40 largest files of bench/scale.py's corpus (bench/syntax_memory.py: a 436 KB module
of one long expression took 420 MB), so a file with more nodes than ``[Parser]
MaxSyntaxNodes=`` is not given to libcst: its verdict says so. Counting the nodes with ``ast``
costs about a tenth of the verdict's time.
"""

from __future__ import annotations

import ast

from codeanalysisd.collector import held_off

EXACT = "exact"
# What a verdict on a file passed over for its size starts with: the DB owner offers such
# files again when the bound may have changed (owner/main.py).
NOT_VERIFIED = "not verified: "


def passed_over(verdict: str) -> bool:
    """Whether a verdict is that of a file not given to libcst for its size."""
    return verdict.startswith(NOT_VERIFIED)


def node_count(source: bytes, most: int) -> int | None:
    """The nodes of the file's ``ast`` tree, counted up to ``most + 1``; None if ``ast`` cannot
    parse it (libcst then says why, from the start of the file to the error)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    count = 0
    for _ in ast.walk(tree):
        count += 1
        if count > most:
            break
    return count


def verdict(source: bytes, max_nodes: int = 0) -> str:
    """Whether libcst's tree gives back ``source`` exactly, or why not; ``max_nodes`` bounds
    the files given to libcst at all (0: no bound)."""
    with held_off():
        return _verdict(source, max_nodes)


def _verdict(source: bytes, max_nodes: int) -> str:
    if max_nodes:
        count = node_count(source, max_nodes)
        if count is not None and count > max_nodes:
            return (f"{NOT_VERIFIED}more than {max_nodes} syntax nodes, libcst's tree of it would take "
                    "several KB each (see MaxSyntaxNodes= in codeanalysisd.conf)")
    import libcst  # here, not at the top: the DB owner reads NOT_VERIFIED without loading libcst

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

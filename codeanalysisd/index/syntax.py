"""Does libcst's concrete syntax tree reproduce a file byte for byte?

The exact bytes of every file are stored, so nothing depends on libcst regenerating them;
this verdict says whether the concrete syntax tree (for refactoring tools and queries on
layout) is faithful for that file. libcst is ~10x slower than ast, so verdicts come from
the parser units (workers/parser.py), side by side, only while the watcher has no backlog.

libcst's tree takes 1.4 to 6.7 KB (median 3.2) per node of the file's ``ast`` tree, measured
over the 40 largest files of bench/scale.py's corpus (bench/syntax_memory.py: a 436 KB module
of one long expression took 420 MB), so a file with more nodes than ``[Parser]
MaxSyntaxNodes=`` is not given to libcst: its verdict says so. The indexer counts the nodes
of the tree it walks anyway (``count_nodes``: about half a second over the standard
library, a twentieth of the watcher's extraction) and the DB owner keeps the count with the
file, so a parser unit decides from it; counting afresh, for a file indexed before the count
was kept, costs an ``ast`` parse and walk, a twelfth of the verdict's time
(bench/verify_cost.py).
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


# A context or an operator (``ctx``, ``op``): a leaf every node of some classes holds one of,
# counted with its holder rather than walked to.
_LEAF_FIELDS = frozenset({"ctx", "op"})
# Per node class: itself and the leaves it holds so, and the fields that may hold other nodes
# (every field but names, numbers and flags could; ``count_nodes`` looks at each).
_SHAPES: dict[type, tuple[int, tuple[str, ...]]] = {
    kind: (1 + len(_LEAF_FIELDS.intersection(kind._fields)), tuple(f for f in kind._fields if f not in _LEAF_FIELDS))
    for kind in vars(ast).values() if isinstance(kind, type) and issubclass(kind, ast.AST)}


def count_nodes(tree: ast.AST, most: int = 0) -> int:
    """The nodes of ``tree`` (as ``ast.parse`` makes them: every context and operator set) as
    ``ast.walk`` yields them, a context or operator once for each node holding it; counted up
    to ``most + 1`` (0: all)."""
    # Written for speed (the watcher counts every file it indexes): two fifths of ast.walk's
    # time, without its generator per node, and a name (the commonest node) not walked into.
    node_class, shapes, name = ast.AST, _SHAPES, ast.Name
    count = 0
    stack: list[ast.AST] = [tree]
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        kind = type(node)
        if kind is name:
            count += 2  # and its context
            continue
        here, fields = shapes.get(kind, (1, ()))
        count += here
        if most and count > most:
            break
        for field in fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_class):
                        push(item)
            elif isinstance(value, node_class):
                push(value)
    return min(count, most + 1) if most else count


def node_count(source: bytes, most: int) -> int | None:
    """The nodes of the file's ``ast`` tree, counted up to ``most + 1``; None if ``ast`` cannot
    parse it (libcst then says why, from the start of the file to the error)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return count_nodes(tree, most)


def too_many_nodes(nodes: int, max_nodes: int) -> str | None:
    """The verdict on a file of ``nodes`` syntax nodes passed over for its size, None if
    ``max_nodes`` (0: no bound) lets libcst have it."""
    if not max_nodes or nodes <= max_nodes:
        return None
    return (f"{NOT_VERIFIED}more than {max_nodes} syntax nodes, libcst's tree of it would take "
            "several KB each (see MaxSyntaxNodes= in codeanalysisd.conf)")


def verdict(source: bytes, max_nodes: int = 0, nodes: int | None = None) -> str:
    """Whether libcst's tree gives back ``source`` exactly, or why not; ``max_nodes`` bounds
    the files given to libcst at all (0: no bound); ``nodes``: the file's count of syntax
    nodes when known (the indexer's), else counted here if there is a bound."""
    with held_off():
        return _verdict(source, max_nodes, nodes)


def _verdict(source: bytes, max_nodes: int, nodes: int | None) -> str:
    if max_nodes:
        count = nodes if nodes is not None else node_count(source, max_nodes)
        # None: ast cannot parse it, and libcst says why, from the start of the file to the error
        passed_over = None if count is None else too_many_nodes(count, max_nodes)
        if passed_over is not None:
            return passed_over
    # here, not at the top: the DB owner reads NOT_VERIFIED without loading libcst
    import libcst

    from codeanalysisd.index.codegen import module_bytes

    try:
        module = libcst.parse_module(source)
    except libcst.ParserSyntaxError as exc:
        return f"libcst cannot parse it: {str(exc).splitlines()[0]}"
    except (RecursionError, MemoryError) as exc:
        return f"libcst cannot parse it: {type(exc).__name__}"
    except Exception as exc:  # libcst's native parser raises a few types of its own
        return f"libcst cannot parse it: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    try:
        regenerated = module_bytes(module)
    except (RecursionError, MemoryError, UnicodeError) as exc:
        return f"libcst cannot regenerate it: {type(exc).__name__}"
    if regenerated == source:
        return EXACT
    old, new = source.splitlines(), regenerated.splitlines()
    line = next((i + 1 for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)) + 1)
    return f"libcst's concrete syntax tree does not reproduce the file (first difference at line {line})"

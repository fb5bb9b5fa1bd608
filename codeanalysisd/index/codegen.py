"""libcst's code generation of a module, without a hook that only position metadata uses.

A verdict has libcst generate every file it parses again (``Module.bytes``). On the way,
libcst's codegen state marks where each node's syntax begins and ends, through a context
manager that does nothing unless positions are being computed (libcst.metadata's position
provider subclasses the state to record them): a generator made and run for three of every
five nodes, over a quarter of the code generation's time over the standard library
(bench/verify_cost.py: the regeneration part, ``Module.bytes`` against this). The state
here is libcst's own with that hook a shared no-op, the extension point libcst's position
provider uses; every token is the one ``Module.bytes`` gives, which
tests/unit/test_syntax.py checks over the standard library's modules.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst

_NOTHING = contextlib.nullcontext()

# The state is libcst's internal class (libcst>=1.1 is all the package asks): a libcst that
# moved it gets ``Module.bytes`` itself, the same bytes at the cost this saves.
_unpositioned: Callable[..., Any] | None
try:
    from libcst._nodes.internal import CodegenState
except ImportError:
    _unpositioned = None
else:
    class _Unpositioned(CodegenState):
        __slots__ = ()

        # libcst types the hook by its own implementation (a generator's context manager);
        # its callers only enter and leave it.
        def record_syntactic_position(  # type: ignore[override]
            self, node: libcst.CSTNode, *, start_node: libcst.CSTNode | None = None,
            end_node: libcst.CSTNode | None = None,
        ) -> contextlib.nullcontext[None]:
            return _NOTHING

    _unpositioned = _Unpositioned


def module_bytes(module: libcst.Module) -> bytes:
    """What ``module.bytes`` gives: its code, generated in its own indentation, newlines and
    encoding."""
    if _unpositioned is None:
        return module.bytes
    state = _unpositioned(default_indent=module.default_indent, default_newline=module.default_newline)
    module._codegen(state)
    return "".join(state.tokens).encode(module.encoding)


def without_position_hook() -> bool:
    """Whether this libcst lets the verdict leave the hook out (else it is ``Module.bytes``)."""
    return _unpositioned is not None

"""The facts of one file as the watcher sends them to the DB owner: compact JSON.

JSON (C-speed both ways) rather than a nested D-Bus signature keeps the request for a
whole batch of files to one string per file; ``ensure_ascii`` keeps it valid UTF-8 even
for a docstring holding a lone surrogate.
"""

from __future__ import annotations

import io
import json
import tokenize
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the DB owner only decodes; it never loads the extractor
    from codeanalysisd.index.extract import FileFacts


def encode(facts: FileFacts) -> str:
    return json.dumps(
        {
            "encoding": facts.encoding,
            "parsed": facts.parsed,
            "problems": list(facts.problems),
            "docstring": facts.module_docstring,
            "definitions": [
                [d.qualname, d.name, d.kind, d.line, d.column, d.end_line, list(d.decorators), list(d.bases),
                 d.signature, d.docstring, d.parent]
                for d in facts.definitions
            ],
            "imports": [[i.module, i.name, i.alias, i.level, i.line, i.column] for i in facts.imports],
            "references": [[r.name, r.kind, r.line, r.column, r.scope] for r in facts.references],
        },
        separators=(",", ":"),
    )


def unreadable(reason: str) -> str:
    """Facts of a file whose bytes could not be read: it is listed, with the reason."""
    return json.dumps({"encoding": None, "parsed": False, "problems": [reason], "docstring": None,
                       "definitions": [], "imports": [], "references": [], "unreadable": True})


def text_only(source: bytes, reason: str) -> str:
    """Facts of a file kept for full-text search without being parsed."""
    try:
        encoding: str | None = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except SyntaxError:  # an unknown or contradictory coding cookie
        encoding = None
    return json.dumps({"encoding": encoding, "parsed": False, "problems": [reason], "docstring": None,
                       "definitions": [], "imports": [], "references": []})


class BadFacts(ValueError):
    pass


_KEYS = ("encoding", "parsed", "problems", "docstring", "definitions", "imports", "references")


def decode(text: str) -> dict[str, Any]:
    try:
        facts = json.loads(text)
    except ValueError as exc:
        raise BadFacts(f"facts are not valid JSON: {exc}") from None
    if not isinstance(facts, dict) or any(k not in facts for k in _KEYS):
        raise BadFacts(f"facts must be an object with keys {', '.join(_KEYS)}")
    return facts

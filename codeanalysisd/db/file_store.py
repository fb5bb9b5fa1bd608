"""The store's files: their rows, what the watcher and the repair worker write into them,
and what the index answers from them (full text, definitions, references, sources, problems)."""

from __future__ import annotations

from collections.abc import Iterable

import apsw

from codeanalysisd.db import history, indexing, queries
from codeanalysisd.db.common_words import CommonWords
from codeanalysisd.db.fts_terms import TermCache
from codeanalysisd.db.rows import single_int
from codeanalysisd.db.vectors import Match
from codeanalysisd.index.record import FileUpdate
from codeanalysisd.query_language import Query
from codeanalysisd.records import ProjectState


class FileReads:
    def __init__(self, db: apsw.Connection, terms: TermCache | None = None, common: CommonWords | None = None
                 ) -> None:
        self.db = db
        self.terms = terms or TermCache()
        self.common = common or CommonWords()

    def states(self, project_id: str) -> list[indexing.StoredFile]:
        return indexing.states(self.db, project_id)

    def syntax_pending(self, project_id: str, limit: int) -> list[tuple[str, bytes, int | None]]:
        return indexing.syntax_pending(self.db, project_id, limit)

    def syntax_pending_count(self) -> int:
        return single_int(self.db.execute(f"SELECT count(*) FROM files WHERE {indexing.AWAITING_VERDICT}"))

    def projects_syntax_pending(self) -> dict[str, ProjectState]:
        """The projects with files whose concrete syntax has not been verified, with their state."""
        return {str(pid): ProjectState(state) for pid, state in self.db.execute(
            "SELECT id, state FROM projects WHERE id IN "
            f"(SELECT project_id FROM files WHERE {indexing.AWAITING_VERDICT})")}

    def live_count(self) -> int:
        return single_int(self.db.execute("SELECT count(*) FROM files WHERE state = 'live'"))

    def source(self, project_id: str, path: str) -> tuple[bytes | None, str, str]:
        """(bytes or None, state, problems) of a file's current content; LookupError if unknown."""
        return queries.file_source(self.db, project_id, path)

    def stored_content(self, project_id: str, path: str) -> bytes | None:
        """The bytes the index holds for a file (its current, or last, content)."""
        data, _state, _problems = queries.file_source(self.db, project_id, path)
        return data

    def search(self, query: str | Query, project: str | None, limit: int, any_word: bool = False
               ) -> list[queries.Hit]:
        return queries.search(self.db, query, project, limit, any_word, self.terms, self.common)

    def admitted(self, query: Query, matches: list[Match]) -> list[Match]:
        """The chunks a query's path:, kind: and sym: admit: a chunk of a definition stands for it."""
        def admits(m: Match) -> bool:
            if not query.path_admits(m.path):
                return False
            if not query.definitions_only:
                return True
            found = queries.definition_of(self.db, m.project, m.path, m.symbol, m.line) if m.symbol else None
            return found is not None and query.definition_admits(*found)

        return [m for m in matches if admits(m)]

    def find_symbol(self, name: str, project: str | None, kind: str, limit: int) -> list[queries.Symbol]:
        return queries.find_symbol(self.db, name, project, kind, limit)

    def find_references(self, name: str, project: str | None, limit: int) -> list[queries.Usage]:
        return queries.find_references(self.db, name, project, limit)

    def problems(self, project: str | None) -> list[tuple[str, str, str]]:
        return queries.problems(self.db, project)


class FileWrites(FileReads):
    """Bound to the writer connection; each method is one transaction."""

    def __init__(self, db: apsw.Connection, retention: history.Retention) -> None:
        super().__init__(db)
        self.retention = retention

    def index(self, project_id: str, updates: Iterable[FileUpdate], reason: str | None = None) -> int:
        """``updates`` may be made as they are taken (ingest decodes each file then): one that
        raises rolls the whole batch back."""
        count = 0
        with self.db:
            for update in updates:
                indexing.write_file(self.db, project_id, update, reason)
                prune_file(self.db, self.retention, project_id, update.path)
                count += 1
        return count

    def show(self, project_id: str, updates: Iterable[FileUpdate]) -> int:
        """Saved files' content and what Search and FindSymbol answer from, ahead of the rest
        of their facts (``indexing.show_file``); one transaction."""
        count = 0
        with self.db:
            for update in updates:
                indexing.show_file(self.db, project_id, update)
                prune_file(self.db, self.retention, project_id, update.path)
                count += 1
        return count

    def mark_deleted(self, project_id: str, paths: list[str]) -> int:
        with self.db:
            count = indexing.mark_deleted(self.db, project_id, paths)
        return count

    def move(self, project_id: str, old: str, new: str, size: int, mtime_ns: int) -> bool:
        with self.db:
            moved = indexing.move(self.db, project_id, old, new, size, mtime_ns)
        return moved

    def touch(self, project_id: str, stats: list[tuple[str, int, int]]) -> None:
        with self.db:
            for path, size, mtime_ns in stats:
                indexing.touch(self.db, project_id, path, size, mtime_ns)

    def reopen_verdicts(self, prefix: str) -> int:
        with self.db:
            count = indexing.reopen_verdicts(self.db, prefix)
        return count

    def record_syntax(self, project_id: str, verdicts: list[tuple[str, bytes, str]]) -> int:
        with self.db:
            recorded = sum(indexing.record_syntax(self.db, project_id, *v) for v in verdicts)
        return recorded

    def set_skipped(self, project_id: str, scope: str, entries: list[tuple[str, str]]) -> None:
        with self.db:
            indexing.set_skipped(self.db, project_id, scope, entries)


def prune_file(db: apsw.Connection, retention: history.Retention, project_id: str, path: str) -> None:
    """Keep one file's history within the retention, inside the caller's transaction."""
    if history.over_limit(db, project_id, path, retention):
        history.prune(db, retention, project_id=project_id, path=path)

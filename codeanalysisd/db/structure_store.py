"""The rows structure questions are answered from: each file's definitions, bindings, imports
and uses, read for one project (``ProjectFacts`` is what ``index.resolve.Model`` reads)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import cast

import apsw

from codeanalysisd.db import name_rows
from codeanalysisd.index.facts import Binding, Import, Use, parent_of
from codeanalysisd.index.resolve import DefinitionRow, Skeleton, definition_rows

# Keys asked for at once in one statement (SQLite's default limit on variables is far higher).
_KEYS_AT_ONCE = 200


class StructureReads:
    def __init__(self, db: apsw.Connection) -> None:
        self.db = db

    def generation(self, project_id: str) -> int | None:
        """The project's change counter (None: no such project)."""
        row = self.db.execute("SELECT generation FROM projects WHERE id = ?", (project_id,)).fetchone()
        return int(row[0]) if row else None

    def live_files(self, project_id: str) -> dict[int, tuple[str, float]]:
        """Every live file of the project: id -> (path, when indexed)."""
        # The types are the columns' (id INTEGER, path TEXT, indexed_at REAL).
        rows = cast(list[tuple[int, str, float]], self.db.execute(
            "SELECT id, path, indexed_at FROM files WHERE project_id = ? AND state = 'live'",
            (project_id,)).fetchall())
        return {file_id: (path, at) for file_id, path, at in rows}

    def outline(self, project_id: str, path: str) -> list[tuple[str, str, int, int, str | None, str]] | None:
        """A live file's definitions in source order: (qualname, kind, line, end line, parent,
        signature); None if the project has no such live file."""
        row = self.db.execute("SELECT id FROM files WHERE project_id = ? AND path = ? AND state = 'live'",
                              (project_id, path)).fetchone()
        if row is None:
            return None
        # The types are the columns'.
        rows = cast(list[tuple[str, str, int, int, str]], self.db.execute(
            "SELECT qualname, kind, line, end_line, signature FROM definitions WHERE file_id = ? "
            "ORDER BY line, col", (row[0],)).fetchall())
        return [(qualname, kind, line, end, parent_of(qualname), signature)
                for qualname, kind, line, end, signature in rows]

    def facts(self, project_id: str) -> ProjectFacts:
        return ProjectFacts(self.db, project_id)


class ProjectFacts:
    """``index.resolve.Source`` over one project's rows, on the connection of the read in progress."""

    def __init__(self, db: apsw.Connection, project_id: str) -> None:
        self.db = db
        self.project_id = project_id

    def skeleton(self, file_id: int) -> Skeleton:
        # The types are the columns'.
        rows = cast(list[tuple[str, str, int, int, str]], self.db.execute(
            "SELECT qualname, kind, line, end_line, decorators FROM definitions WHERE file_id = ?", (file_id,)))
        definitions = [(qualname, kind, line, end, decorators, parent_of(qualname))
                       for qualname, kind, line, end, decorators in rows]
        bindings = cast(list[tuple[str, str, str, str, int, int]], self.db.execute(
            "SELECT scope, name, kind, value, line, col FROM bindings WHERE file_id = ?", (file_id,)).fetchall())
        return Skeleton.of(definition_rows(definitions), [Binding(*b) for b in bindings])

    def imports(self) -> Iterable[tuple[int, Import]]:
        # The types are the columns'.
        rows = cast(list[tuple[int, str, str | None, str | None, int, int, int]], self.db.execute(
            "SELECT i.file_id, i.module, i.name, i.alias, i.level, i.line, i.col FROM imports i "
            "JOIN files f ON f.id = i.file_id WHERE f.project_id = ? AND f.state = 'live'",
            (self.project_id,)).fetchall())
        return [(row[0], Import(*row[1:])) for row in rows]

    def bindings_keyed(self, keys: Collection[str], kinds: Collection[str]) -> Iterable[tuple[int, Binding]]:
        out: list[tuple[int, Binding]] = []
        for some in _chunks(keys):
            # The types are the columns'.
            rows = cast(list[tuple[int, str, str, str, str, int, int]], self.db.execute(
                "SELECT b.file_id, b.scope, b.name, b.kind, b.value, b.line, b.col FROM bindings b "
                f"JOIN files f ON f.id = b.file_id WHERE b.key IN ({_marks(some)}) AND b.kind IN ({_marks(kinds)}) "
                "AND f.project_id = ? AND f.state = 'live'", (*some, *kinds, self.project_id)).fetchall())
            out.extend((row[0], Binding(*row[1:])) for row in rows)
        return out

    def uses_keyed(self, keys: Collection[str], kinds: Collection[str]) -> Iterable[tuple[int, Use]]:
        """By path, line and column (the order answers are given in)."""
        numbers = set(name_rows.kind_numbers(kinds))
        texts = name_rows.Numbered(self.db)
        for some in _chunks(sorted(keys)):
            # The types are the columns'.
            rows = cast(list[tuple[str, int, str, bytes]], self.db.execute(
                # CROSS JOIN: from the files that have the keys to their rows of them; the other
                # way round, every live file of the project would be probed for every key.
                "SELECT f.path, u.file_id, u.key, u.occurrences FROM use_files n "
                "CROSS JOIN files f ON f.id = n.file_id CROSS JOIN uses u ON u.file_id = n.file_id AND u.key = n.key "
                f"WHERE n.key IN ({_marks(some)}) AND f.project_id = ? AND f.state = 'live'",
                (*some, self.project_id)).fetchall())
            paths = {file_id: path for path, file_id, _, _ in rows}
            found = name_rows.uses_of(self.db, ((file_id, key, blob) for _, file_id, key, blob in rows), numbers,
                                      numbered_texts=texts)
            found.sort(key=lambda f: (paths[f[0]], f[2].line, f[2].column, f[2].key, f[1]))
            yield from ((file_id, use) for file_id, _, use in found)

    def uses_in(self, file_id: int, scope: str) -> Iterable[Use]:
        # The types are the columns'.
        number = cast(tuple[int] | None, self.db.execute(
            "SELECT id FROM scopes WHERE file_id = ? AND qualname = ?", (file_id, scope)).fetchone())
        if number is None:
            return []
        rows = cast(list[tuple[int, str, bytes]], self.db.execute(
            "SELECT file_id, key, occurrences FROM uses WHERE file_id = ?", (file_id,)).fetchall())
        found = name_rows.uses_of(self.db, rows, scope=number[0])
        return [use for _, _, use in sorted(found, key=lambda f: (f[2].line, f[2].column, f[1]))]

    def definers(self, name: str) -> Iterable[tuple[int, str]]:
        """(file, scope) of every definition and binding of ``name`` ("" for a module's own)."""
        # The types are the columns'.
        defined = cast(list[tuple[int, str]], self.db.execute(
            "SELECT d.file_id, d.qualname FROM definitions d JOIN files f ON f.id = d.file_id "
            "WHERE d.name = ? AND f.project_id = ? AND f.state = 'live'", (name, self.project_id)).fetchall())
        bound = cast(list[tuple[int, str]], self.db.execute(
            "SELECT b.file_id, b.scope FROM bindings b JOIN files f ON f.id = b.file_id "
            "WHERE b.name = ? AND b.kind IN ('assign', 'attr', 'import') AND f.project_id = ? AND f.state = 'live'",
            (name, self.project_id)).fetchall())
        return sorted({(file_id, parent_of(qualname) or "") for file_id, qualname in defined}.union(bound))

    def classes_named(self, name: str) -> Iterable[tuple[int, str]]:
        # The types are the columns'.
        return cast(list[tuple[int, str]], self.db.execute(
            "SELECT d.file_id, d.qualname FROM definitions d JOIN files f ON f.id = d.file_id "
            "WHERE d.name = ? AND d.kind = 'class' AND f.project_id = ? AND f.state = 'live' "
            "ORDER BY f.path, d.line", (name, self.project_id)).fetchall())


def _marks(values: Collection[object]) -> str:
    return ", ".join("?" * len(values))


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == _KEYS_AT_ONCE:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = ["DefinitionRow", "ProjectFacts", "StructureReads"]

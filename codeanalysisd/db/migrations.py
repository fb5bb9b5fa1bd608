"""Versioned schema migrations, applied by the DB owner before it reports READY=1.

Each migration runs in its own IMMEDIATE transaction together with the bump of
``PRAGMA user_version``: it either applies completely or not at all, so a failed
migration leaves the previous schema intact and the owner refuses to start (the earlier
system recreated tables by rename and swallowed errors, and workers met "no such table").
Migrations are append-only: never edit one that has shipped, add the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import apsw


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "projects",
        """
        CREATE TABLE projects (
            id      TEXT PRIMARY KEY,
            name    TEXT NOT NULL,
            root    TEXT NOT NULL UNIQUE,
            state   TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'missing')),
            created REAL NOT NULL
        ) STRICT;
        """,
    ),
    Migration(
        2,
        "files",
        """
        CREATE TABLE files (
            id         INTEGER PRIMARY KEY,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            path       TEXT NOT NULL,
            size       INTEGER NOT NULL,
            mtime_ns   INTEGER NOT NULL,
            sha256     BLOB NOT NULL,
            state      TEXT NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'deleted')),
            indexed_at REAL NOT NULL,
            UNIQUE (project_id, path)
        ) STRICT;
        CREATE INDEX files_by_state ON files(project_id, state);
        """,
    ),
)

LATEST = MIGRATIONS[-1].version


class MigrationError(RuntimeError):
    """The schema could not be brought to LATEST; the database is left as it was."""


def schema_version(db: apsw.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: apsw.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply every pending migration; return the versions applied."""
    current = schema_version(db)
    latest = migrations[-1].version
    if current > latest:
        raise MigrationError(
            f"database schema version {current} is newer than this program knows ({latest}); "
            "install the matching codeanalysisd version or restore a backup"
        )
    applied = []
    for migration in migrations:
        if migration.version <= current:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(migration.sql)
            db.execute(f"PRAGMA user_version = {int(migration.version)}")
            db.execute("COMMIT")
        except apsw.Error as exc:
            db.execute("ROLLBACK")
            raise MigrationError(
                f"migration {migration.version} ({migration.description}) failed: {exc}; "
                f"the database stays at schema version {schema_version(db)}"
            ) from exc
        applied.append(migration.version)
    return applied

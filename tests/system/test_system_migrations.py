"""Schema migrations happen before READY=1 and are all-or-nothing."""

from __future__ import annotations

import json

import pytest
from helpers import busctl, start_suite, stop_suite

from codeanalysisd.db.migrations import LATEST

DB = "/var/lib/codeanalysisd/index.sqlite3"
PY = "/usr/lib/codeanalysisd/bin/python"
# A database at schema version 1 with a project, plus a stray object that makes migration 2
# fail halfway (after its CREATE TABLE files, at CREATE INDEX files_by_state).
MAKE_V1 = """
import apsw, sys
from codeanalysisd.db import migrations as m
db = apsw.Connection(sys.argv[1])
m.migrate(db, m.MIGRATIONS[:1])
db.execute("INSERT INTO projects (id, name, root, created) VALUES ('old', 'old', '/srv/old', 0)")
db.execute(sys.argv[2])
"""
INSPECT = """
import apsw, json, sys
db = apsw.Connection(sys.argv[1], flags=apsw.SQLITE_OPEN_READONLY)
print(json.dumps({
    "user_version": db.execute("PRAGMA user_version").fetchone()[0],
    "tables": sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")),
    "projects": [r[0] for r in db.execute("SELECT id FROM projects")],
    "integrity": db.execute("PRAGMA integrity_check").fetchone()[0],
}))
"""


@pytest.fixture
def crafted_database(system):
    """Swap the real database for a crafted one; put the real one back afterwards."""
    start_suite(system)  # the state directory and a real database exist
    stop_suite(system)
    system.sh(f"cd {DB.rsplit('/', 1)[0]} && mkdir -p keep && mv index.sqlite3* keep/")

    def make(extra_sql: str) -> None:
        system.run(PY, "-c", MAKE_V1, DB, extra_sql, user="codeanalysis")

    yield make
    stop_suite(system)  # no owner may keep the crafted database open
    system.systemctl("reset-failed", "codeanalysisd-db.service", check=False)
    system.sh(f"cd {DB.rsplit('/', 1)[0]} && rm -f index.sqlite3* && mv keep/* . && rmdir keep")
    start_suite(system)


def _inspect(system) -> dict:
    return json.loads(system.run(PY, "-c", INSPECT, DB).stdout)


def test_failed_migration_leaves_previous_schema_and_a_failed_unit(system, crafted_database):
    crafted_database("CREATE TABLE files_by_state (x)")
    r = system.systemctl("start", "codeanalysisd-db.service", check=False)
    assert r.returncode != 0
    shown = system.show("codeanalysisd-db.service", "ActiveState", "Result", "ExecMainStatus", "NRestarts")
    assert shown["ActiveState"] == "failed" and shown["Result"] == "exit-code"
    assert shown["ExecMainStatus"] == "65"
    assert shown["NRestarts"] == "0"  # RestartPreventExitStatus: no restart loop on a schema error
    crit = system.journal("codeanalysisd-db.service", "-p", "crit", "-o", "cat")
    assert "cannot start: migration 2 (files) failed" in crit
    assert "the database stays at schema version 1" in crit
    state = _inspect(system)
    # all of migration 2 was rolled back (its first statement, CREATE TABLE files, too)
    assert state == {"user_version": 1, "tables": ["files_by_state", "projects"], "projects": ["old"],
                     "integrity": "ok"}


def test_database_newer_than_the_program_is_refused(system, crafted_database):
    crafted_database("PRAGMA user_version = 99")
    assert system.systemctl("start", "codeanalysisd-db.service", check=False).returncode != 0
    crit = system.journal("codeanalysisd-db.service", "-p", "crit", "-o", "cat")
    assert f"database schema version 99 is newer than this program knows ({LATEST})" in crit
    assert _inspect(system)["user_version"] == 99


def test_migration_runs_before_ready(system, crafted_database):
    crafted_database("SELECT 1")  # a valid version-1 database: migration 2 must apply
    system.systemctl("start", "codeanalysisd-db.service")  # returns after READY=1
    # by READY=1 the schema is complete: the first call already sees every table
    assert busctl(system, "ListProjects", "uu", "0", "0").stdout.startswith("a(sssus) 1 \"old\"")
    pending = ", ".join(str(v) for v in range(2, LATEST + 1))
    assert f"migrated to schema version {LATEST} (applied {pending})" in system.journal("codeanalysisd-db.service",
                                                                                          "-o", "cat")

"""Migrations against real SQLite database files (apsw), not mocks."""

import apsw
import pytest

from codeanalysisd.db import migrations as m
from codeanalysisd.db.store import RootTaken, Store, UnknownProject
from codeanalysisd.paths import roots_overlap


def tables(db: apsw.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_fresh_database_reaches_latest(tmp_path):
    db = apsw.Connection(str(tmp_path / "x.db"))
    assert m.migrate(db) == [mig.version for mig in m.MIGRATIONS]
    assert m.schema_version(db) == m.LATEST
    assert {"projects", "files"} <= tables(db)
    assert m.migrate(db) == []  # idempotent


def test_versions_are_consecutive():
    assert [mig.version for mig in m.MIGRATIONS] == list(range(1, len(m.MIGRATIONS) + 1))


def test_failure_rolls_back_that_migration_whole(tmp_path):
    db = apsw.Connection(str(tmp_path / "x.db"))
    m.migrate(db, m.MIGRATIONS[:1])
    db.execute("CREATE TABLE files_by_state (x)")
    with pytest.raises(m.MigrationError, match=r"migration 2 \(files\) failed.*stays at schema version 1"):
        m.migrate(db)
    assert m.schema_version(db) == 1
    assert "files" not in tables(db)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_newer_schema_is_refused(tmp_path):
    db = apsw.Connection(str(tmp_path / "x.db"))
    db.execute("PRAGMA user_version = 42")
    with pytest.raises(m.MigrationError, match="newer than this program"):
        m.migrate(db)


def test_store_projects(tmp_path):
    store, report = Store.open(str(tmp_path / "s.db"), str(tmp_path / "h.db"))
    assert report.applied == [mig.version for mig in m.MIGRATIONS]
    (tmp_path / "a").mkdir()
    p = store.writes.projects.add("/srv/My Project", roots_overlap)
    assert (p.id, p.name, p.file_count, p.state) == ("my-project", "My Project", 0, "active")
    assert store.writes.projects.add("/other/my project", roots_overlap).id == "my-project-2"
    with pytest.raises(RootTaken, match="already registered"):
        store.writes.projects.add("/srv/My Project", roots_overlap)
    with pytest.raises(RootTaken, match="overlaps"):
        store.writes.projects.add("/srv/My Project/sub", roots_overlap)
    assert store.reads.projects.find("/other/my project").id == "my-project-2"
    store.writes.projects.remove("my-project")
    with pytest.raises(UnknownProject):
        store.reads.projects.find("my-project")
    assert [p.id for p in store.reads.projects.list()] == ["my-project-2"]
    # a new root never takes the id whose history belongs to the removed project...
    assert store.writes.projects.add("/x/my-project", roots_overlap).id == "my-project-3"
    store.writes.projects.remove("my-project-3")
    # ...and the removed root, registered again, gets its id (and its history) back
    assert store.writes.projects.add("/srv/My Project", roots_overlap).id == "my-project"
    store.writes.projects.remove("my-project")
    store.close()
    reopened, report = Store.open(str(tmp_path / "s.db"), str(tmp_path / "h.db"))
    assert report.applied == [] and [p.id for p in reopened.reads.projects.list()] == ["my-project-2"]

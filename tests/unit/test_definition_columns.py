"""Definitions kept without their parent and bases (schema 24): each parent read back from the
qualified name as the extractor gave it, and a database of schema 23 upgraded in place
answering as before, on real SQLite files."""

import pathlib
import sysconfig
import textwrap

from old_schema import back_to

from codeanalysisd.db import migrations
from codeanalysisd.db.store import Store
from codeanalysisd.index.extract import extract
from codeanalysisd.paths import roots_overlap
from codeanalysisd.repair.disk import from_bytes

STDLIB = pathlib.Path(sysconfig.get_paths()["stdlib"])
NESTED = textwrap.dedent("""\
    class A(dict, metaclass=type):
        class B:
            def m(self):
                def inner():
                    class Local(A):
                        async def deep(self): pass
                return inner
    def f():
        def g():
            def h(): pass
    """).encode()


def files() -> dict[str, bytes]:
    found = {"pkg/nested.py": NESTED}
    found.update({f"std/{rel}": (STDLIB / rel).read_bytes()
                  for rel in ("email/utils.py", "json/decoder.py", "unittest/case.py", "collections/__init__.py")})
    return found


def answers(store: Store) -> dict[str, object]:
    """What is read of definitions' parents: outlines, skeletons (the resolver's view of each
    file's definitions), and the definers of every name."""
    structure = store.reads.structure
    facts = structure.facts("p")
    ids = dict(store.db.execute("SELECT path, id FROM files"))
    names = sorted({n for (n,) in store.db.execute("SELECT name FROM definitions")} | {"missing"})
    return {
        "outlines": {path: structure.outline("p", path) for path in files()},
        "skeletons": {path: repr(facts.skeleton(ids[path])) for path in files()},
        "definers": {name: list(facts.definers(name)) for name in names},
    }


def test_parents_read_back_as_the_extractor_gave_them(store):
    store.writes.files.index("p", [from_bytes(p, d, len(d), 1, 1 << 20) for p, d in files().items()])
    for path, data in files().items():
        outline = store.reads.structure.outline("p", path)
        assert outline is not None
        given = sorted((d.qualname, d.parent) for d in extract(data).definitions)
        assert sorted((qualname, parent) for qualname, _, _, _, parent, _ in outline) == given
    columns = {c for (_, c, *_) in store.db.execute("PRAGMA table_info(definitions)")}
    assert not columns & {"parent", "bases"}


def test_a_database_of_schema_23_drops_the_columns_and_answers_as_before(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    store.writes.files.index("p", [from_bytes(p, d, len(d), 1, 1 << 20) for p, d in files().items()])
    before = answers(store)
    assert before["definers"]["deep"] == [(1, "A.B.m.<locals>.inner.<locals>.Local")]
    back_to(store.db, migrations.DEFINITION_COLUMNS - 1)
    assert store.db.execute("SELECT parent FROM definitions WHERE qualname = 'f.<locals>.g'").fetchone() == ("f",)
    store.close()

    again, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.DEFINITION_COLUMNS, migrations.LATEST + 1))
        columns = {c for (_, c, *_) in again.db.execute("PRAGMA table_info(definitions)")}
        assert not columns & {"parent", "bases"}
        assert answers(again) == before
        assert again.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert again.db.execute("INSERT INTO definition_names (definition_names) VALUES ('integrity-check')"
                                ) is not None
        assert [s.qualname for s in again.reads.files.find_symbol("deep", "p", "", 10)] == [
            "A.B.m.<locals>.inner.<locals>.Local.deep"]
    finally:
        again.close()

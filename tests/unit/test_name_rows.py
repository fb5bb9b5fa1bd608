"""The name occurrences' compact rows (db/name_rows.py): the packing rules, the rows read
back as the extractor gave them, the files of each name kept exact, and databases of schema
11 and 14 upgraded in place answering as before, on real SQLite files."""

import pathlib
import random
import sysconfig
import textwrap
from collections import Counter

import pytest
from old_schema import back_to
from ref_rows import reference_rows, use_rows

from codeanalysisd.db import int_columns, migrations, name_rows
from codeanalysisd.db.store import Store
from codeanalysisd.index.extract import extract
from codeanalysisd.index.facts import REFERENCE_KINDS, USE_KINDS
from codeanalysisd.paths import roots_overlap
from codeanalysisd.repair.disk import from_bytes

STDLIB = pathlib.Path(sysconfig.get_paths()["stdlib"])
OWN = {
    "pkg/__init__.py": "from .shop import Cart as C\nfrom . import shop\n",
    "pkg/shop.py": textwrap.dedent("""\
        import os.path
        import email.utils as eu
        from ..up import thing


        class Base:
            def get(self, key):
                return key


        class Cart(Base):
            '''A cart.'''

            def add(self, item, née=None):
                self.get(item).price()
                super().get(item)
                x = eu.formatdate(os.path.join("a", "b"))
                f().attr.other(x, née)
                (a
                 . b
                 . c)
                return [len(v) for v in item]

            class Line:
                def total(self):
                    return thing.value + Cart().add(None)


        def f():
            return lambda: os.sep
        """),
}
# real modules as well: chains over lines, decorators, nested definitions, star imports
FROM_STDLIB = ("email/utils.py", "json/decoder.py", "unittest/case.py", "collections/__init__.py")


def files() -> dict[str, bytes]:
    found = {path: text.encode() for path, text in OWN.items()}
    found.update({f"std/{rel}": (STDLIB / rel).read_bytes() for rel in FROM_STDLIB})
    return found


def index(store: Store, contents: dict[str, bytes]) -> None:
    store.writes.files.index("p", [from_bytes(p, data, len(data), 1, 1 << 20) for p, data in contents.items()])


@pytest.fixture
def store(tmp_path):
    s, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    s.writes.projects.add("/srv/p", roots_overlap)
    index(s, files())
    yield s
    s.close()


def file_ids(store: Store) -> dict[str, int]:
    return dict(store.db.execute("SELECT path, id FROM files"))


# ---------------------------------------------------------------- the packing rules, pure

@pytest.mark.parametrize("name", ["join", "os.path.join", "a.", ".b", "a..b", "", ".", "née.ça"])
def test_a_dotted_name_splits_at_its_last_dot_and_joins_again(name):
    qualifier, last = name_rows.split_dotted(name)
    assert "." not in last and name_rows.dotted(qualifier, last) == name
    assert (qualifier is None) == ("." not in name)


def common_ending(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def test_cut_keeps_what_precedes_the_longest_common_ending_and_joined_restores_it():
    rnd = random.Random(18)
    pairs = [("^email.utils.formatdate", "formatdate"), ("eu.formatdate", "^email.utils.formatdate"),
             ("b", "bbb"), ("bbb", "b"), ("", "x"), ("x", ""), ("", ""), ("née", "ée"), ("a.b", "a.b")]
    pairs += [("".join(rnd.choice("ab.é") for _ in range(rnd.randint(0, 9))),
               "".join(rnd.choice("ab.é") for _ in range(rnd.randint(0, 9)))) for _ in range(5000)]
    pairs += [(f"{rnd.choice(['self', 'eu', 'x.y', ''])}.{key}", f"{rnd.choice(['?', '^a.b', '@C()', '~'])}.{key}")
              for key in ("get", "formatdate", "a", "") for _ in range(25)]
    for whole, other in pairs:
        ending = common_ending(whole, other)
        for known in {0, ending // 2, ending}:  # any length known to be common gives the same answer
            head, tail = name_rows.cut(whole, other, known)
            assert tail == ending, (whole, other, known)
            assert head == whole[:len(whole) - tail]
            assert name_rows.joined(head, tail, other) == whole


def test_the_most_frequent_scope_or_head_gets_the_smallest_number_ties_by_text():
    numbers = name_rows.numbered(["", "A.f", "A.f", "B", "A.f", ""])
    assert numbers == {"A.f": 0, "": 1, "B": 2}
    assert name_rows.numbered(["os.", "self.", "ü.", "a."]) == {"a.": 0, "os.": 1, "self.": 2, "ü.": 3}
    assert name_rows.numbered([]) == {}


def test_kinds_are_numbered_and_unknown_kinds_ask_for_nothing():
    assert [name_rows.KINDS[n] for n in name_rows.kind_numbers(["call", "import", "nonsense"])] == ["call", "import"]
    assert name_rows.KINDS[:2] == ("name", "attribute")  # the two commonest cost no byte
    # every kind the wire lets through has a number (the wire refuses any other)
    assert set(name_rows.KINDS) == USE_KINDS >= REFERENCE_KINDS


# ---------------------------------------------------------------- the rows, on SQLite

def test_a_files_rows_read_back_as_the_extractor_gave_them(store):
    ids = file_ids(store)
    for path, data in files().items():
        facts = extract(data)
        assert facts.uses, path
        assert name_rows.read(store.db, ids[path]) == (list(facts.references), list(facts.uses)), path


def test_every_row_names_a_scope_of_its_own_file(store):
    scopes = set(store.db.execute("SELECT file_id, id FROM scopes"))
    named = {(file_id, scope) for file_id, *_, scope in reference_rows(store.db)}
    assert named <= scopes
    used = {(file_id, scope) for file_id, *_, scope, _, _ in use_rows(store.db)}
    assert used <= scopes
    assert scopes == named | used


def test_a_files_references_of_a_name_are_one_row_in_the_files_order(store):
    """Each (file, name) is one row of refs; its occurrences are in the file's order of
    references, and their qualifiers are the row's own."""
    rows = store.db.execute("SELECT file_id, last, occurrences FROM refs").fetchall()
    assert len(rows) == len({(file_id, last) for file_id, last, _ in rows})
    for file_id, last, blob in rows:
        found = name_rows.occurrences(blob)
        assert found and [seq for seq, *_ in found] == sorted({seq for seq, *_ in found}), (file_id, last)
    shop = file_ids(store)["pkg/shop.py"]
    (blob,) = store.db.execute("SELECT occurrences FROM refs WHERE file_id = ? AND last = 'join'", (shop,)).fetchone()
    assert [(qualifier, line) for _, qualifier, _, line, _, _ in name_rows.occurrences(blob)] == [("os.path", 17)]


def counts(store: Store) -> tuple[int, ...]:
    """References, uses, scopes, and the rows of ref_files and use_files."""
    return (len(reference_rows(store.db)), len(use_rows(store.db)),
            *(store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("scopes", "ref_files", "use_files")))


def name_files_agree(store: Store) -> bool:
    """ref_files and use_files hold each (name, file) that refs and uses have, with its count
    of occurrences, and nothing else."""
    references = Counter((last, file_id) for file_id, _, last, *_ in reference_rows(store.db))
    return (set(store.db.execute("SELECT last, file_id, n FROM ref_files"))
            == {(last, file_id, n) for (last, file_id), n in references.items()}
            and set(store.db.execute("SELECT key, file_id, n FROM use_files"))
            == {(key, file_id, n) for (key, file_id), n in
                Counter((key, file_id) for file_id, _, key, *_ in use_rows(store.db)).items()})


def test_each_name_of_a_file_has_one_row_of_its_files_table(store):
    assert name_files_agree(store)
    assert 0 < counts(store)[3] < counts(store)[0] and 0 < counts(store)[4] < counts(store)[1]
    assert store.db.execute("SELECT count(*) FROM refs").fetchone() == (counts(store)[3],)
    assert store.db.execute("SELECT count(*) FROM uses").fetchone() == (counts(store)[4],)


def test_edits_in_place_keep_the_rows_and_the_names_files_exact(store):
    """Random edits of a large file, each indexed in place: a name swapped for another at the
    same place (the row at that position keeps its number, under another name), lines added
    or removed above most names (the rest written again), code added at the end."""
    rnd = random.Random(15)
    path = "std/unittest/case.py"
    text = files()[path].decode()
    shop = file_ids(store)[path]
    for step in range(30):
        lines = text.split("\n")
        at = rnd.randrange(len(lines))
        kind = step % 3
        if kind == 0:   # one name for another, within a line
            words = [w for w in lines[at].replace("(", " ").replace(")", " ").replace(".", " ").split()
                     if w.isidentifier()]
            if words:
                lines[at] = lines[at].replace(rnd.choice(words), f"renamed_{step}", 1)
        elif kind == 1:  # a line added or removed near the top
            lines.insert(rnd.randrange(10), "") if step % 2 else lines.pop(rnd.randrange(10))
        else:
            lines.append(f"tail_{step} = head_{step}(x_{step}.y)")
        candidate = "\n".join(lines)
        try:
            compile(candidate, path, "exec")
        except SyntaxError:
            continue
        text = candidate
        index(store, {path: text.encode()})
        facts = extract(text.encode())
        assert name_rows.read(store.db, shop) == (list(facts.references), list(facts.uses)), step
        assert name_files_agree(store), step
    assert len(reference_rows(store.db, shop)) == len(extract(text.encode()).references)


def test_a_file_written_again_or_deleted_or_its_project_removed_leaves_no_rows_behind(store):
    first = counts(store)
    index(store, files())
    assert counts(store) == first
    index(store, {"pkg/shop.py": b"def g():\n    return h()\n"})
    shop = file_ids(store)["pkg/shop.py"]
    assert name_rows.read(store.db, shop) == ([("h", "call", 2, 11, "g")], [("h", "~h", "call", 2, 11, "g", "h")])
    assert store.db.execute("SELECT qualname FROM scopes WHERE file_id = ?", (shop,)).fetchall() == [("g",)]
    store.writes.files.mark_deleted("p", ["pkg/shop.py"])
    assert name_rows.read(store.db, shop) == ([], [])
    assert store.db.execute("SELECT count(*) FROM scopes WHERE file_id = ?", (shop,)).fetchone() == (0,)
    assert name_files_agree(store)
    store.writes.projects.remove("p")
    assert counts(store) == (0, 0, 0, 0, 0)


# ---------------------------------------------------------------- schema 11, upgraded

def answers(store: Store) -> dict[str, object]:
    """Everything read from these rows: FindReferences by every name, dotted or not, and the
    structure reads by every key and kind and by every file and scope."""
    db = store.db
    names = {name_rows.dotted(qualifier, last) for _, _, last, qualifier, *_ in reference_rows(db)}
    asked = sorted(names | {n.rsplit(".", 1)[-1] for n in names} | {n.split(".", 1)[-1] for n in names}
                   | {"path.join", ".join", "x.", "missing.name"})
    facts = store.reads.structure.facts("p")
    keys = sorted({k for (k,) in db.execute("SELECT DISTINCT key FROM uses")} | {"nothing_by_this_key"})
    scopes = sorted(set(db.execute("SELECT file_id, qualname FROM scopes")) | {(1, "no.such.scope")})
    return {
        "references": {n: store.reads.files.find_references(n, "p", 10_000) for n in asked},
        "references_anywhere": {n: store.reads.files.find_references(n, None, 3) for n in asked},
        "keyed": {kinds: list(facts.uses_keyed(keys, kinds))
                  for kinds in (("name", "attribute", "call", "import"), ("call",), ("import", "attribute"), ())},
        "in": {(f, s): list(facts.uses_in(f, s)) for f, s in scopes},
    }


def test_a_database_of_schema_11_upgrades_in_place_and_answers_as_before(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    index(store, files())
    ids = file_ids(store)
    before = answers(store)
    assert before["references"]["formatdate"] and before["keyed"][("call",)] and before["in"]
    back_to(store.db, migrations.COMPACT_NAMES - 1)
    # the rows as schema 11 held them: the facts, with the scope and kind spelled out on each
    for path, data in files().items():
        facts = extract(data)
        assert store.db.execute("SELECT name, kind, line, col, scope FROM refs WHERE file_id = ? ORDER BY rowid",
                                (ids[path],)).fetchall() == [tuple(r) for r in facts.references]
        assert store.db.execute("SELECT key, expr, kind, line, col, scope, text FROM uses WHERE file_id = ? "
                                "ORDER BY rowid", (ids[path],)).fetchall() == [tuple(u) for u in facts.uses]
    store.close()

    again, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.COMPACT_NAMES, migrations.LATEST + 1))
        assert answers(again) == before
        for path, data in files().items():
            facts = extract(data)
            assert name_rows.read(again.db, ids[path]) == (list(facts.references), list(facts.uses))
        assert again.db.execute("SELECT name FROM sqlite_schema WHERE name LIKE '%before_compact%'").fetchall() == []
        assert again.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert again.db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        again.close()


def test_an_upgrade_that_fails_leaves_schema_11_and_its_rows(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    index(store, files())
    back_to(store.db, migrations.COMPACT_NAMES - 1)
    schema = store.db.execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall()
    rows = {t: store.db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in ("refs", "uses")}

    def interrupted(db):
        name_rows.rewrite_renamed(db)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        migrations.migrate(store.db, steps={migrations.COMPACT_NAMES: interrupted})
    assert migrations.schema_version(store.db) == migrations.COMPACT_NAMES - 1
    assert store.db.execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall() == schema
    assert {t: store.db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in ("refs", "uses")} == rows
    store.close()



# ---------------------------------------------------------------- schema 14, upgraded

def taken_back_to(tmp_path, version: int) -> tuple[Store, dict[str, object], dict[str, list]]:
    """A store indexed by this version, with its answers and its rows of refs and uses, then
    taken back to schema ``version``."""
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    index(store, files())
    before = answers(store)
    rows = {t: sorted(store.db.execute(f"SELECT * FROM {t}")) for t in ("refs", "uses")}
    back_to(store.db, version)
    return store, before, rows


def test_a_database_of_schema_14_upgrades_to_names_by_file_and_answers_as_before(tmp_path):
    store, before, rows = taken_back_to(tmp_path, migrations.NAME_FILES - 1)
    store.close()

    again, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.NAME_FILES, migrations.LATEST + 1))
        assert {t: sorted(again.db.execute(f"SELECT * FROM {t}")) for t in ("refs", "uses")} == rows
        assert answers(again) == before
        assert name_files_agree(again)
        indexes = {n for (n,) in again.db.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")}
        assert not indexes & {"refs_by_last", "uses_by_key"}
        assert again.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert again.db.execute("PRAGMA foreign_key_check").fetchall() == []
        index(again, {"pkg/shop.py": b"def g():\n    return h()\n"})  # written by the new rule from here on
        assert name_files_agree(again)
    finally:
        again.close()


# ---------------------------------------------------------------- schema 19, upgraded

def test_a_database_of_schema_19_gets_its_long_rows_deflated_and_answers_as_before(tmp_path):
    store, before, rows = taken_back_to(tmp_path, migrations.DEFLATED_NAMES - 1)
    plain = {t: sorted(store.db.execute(f"SELECT * FROM {t}")) for t in ("refs", "uses")}
    long_rows = [r for t in plain.values() for r in t if len(r[2]) > int_columns.DEFLATE_OVER]
    assert len(long_rows) > 20 and all(r[2][0] != int_columns.DEFLATED for r in long_rows)
    store.close()

    again, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.DEFLATED_NAMES, migrations.LATEST + 1))
        # the rows a fresh database has, and every answer as before
        assert {t: sorted(again.db.execute(f"SELECT * FROM {t}")) for t in ("refs", "uses")} == rows
        assert sum(r[2][0] == int_columns.DEFLATED for t in rows.values() for r in t) > 20
        assert answers(again) == before
        assert name_files_agree(again)
        assert again.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        again.close()

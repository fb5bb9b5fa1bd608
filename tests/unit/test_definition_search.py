"""sym: through the trigram index of definitions' names, kind: through the index by file and
line, and filtered queries ranked in batches: on the index's own SQLite, against an oracle
computed in Python from the files' text."""

import re

import pytest
from old_schema import back_to

from codeanalysisd.db import migrations
from codeanalysisd.db.store import Store
from codeanalysisd.paths import roots_overlap
from codeanalysisd.query_language import parse
from codeanalysisd.repair.disk import from_bytes

NAMES = ["copytree", "_copytree", "copy", "cp", "x", "ab", "abc", "Abc", "ABCD", "get_ab", "CopyTree", "tree",
         "née", "NÉE", "x_y", "q"]
FILES = {
    "a.py": "".join(f"def {n}():\n    pass\n\n" for n in NAMES[:8]),
    "b/c.py": "".join(f"class {n}:\n    pass\n\n" for n in NAMES[8:]) + "def copytree_b():\n    pass\n",
}
# every value a sym: may be given: long, of one and two characters, in either case, not there
VALUES = ["copytree", "COPYTREE", "tree", "cp", "c", "x", "ab", "AB", "abc", "Ab", "née", "NÉE", "_", "e_",
          "zzz", "op", "y"]


def index(store: Store, files: dict[str, str]) -> None:
    store.writes.files.index("p", [from_bytes(p, t.encode(), len(t), 1, 1 << 20) for p, t in files.items()])


@pytest.fixture
def store(tmp_path):
    s, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    s.writes.projects.add("/srv/p", roots_overlap)
    index(s, FILES)
    yield s
    s.close()


def found(store: Store, text: str, limit: int = 100) -> list[tuple[str, int]]:
    return [(h.path, h.line) for h in store.reads.files.search(parse(text), None, limit)]


def expected(files: dict[str, str], value: str, case: bool, *more: str) -> list[tuple[str, int]]:
    """Definitions whose name holds ``value`` (or one of ``more``), shortest name first, then
    by path and line."""
    defs = [(len(m.group(1)), path, n + 1, m.group(1)) for path, text in files.items()
            for n, line in enumerate(text.split("\n")) if (m := re.match(r"(?:def|class) (\w+)", line))]
    # SQLite's lower() folds ASCII letters only: so did the scan this index replaces
    ascii_lower = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    admitted = [d for d in defs if any(v in d[3] if case else v.lower() in d[3].translate(ascii_lower)
                                       for v in (value, *more))]
    return [(path, line) for _, path, line, _ in sorted(admitted)]


def names_index_is_consistent(store: Store) -> bool:
    try:
        store.db.execute("INSERT INTO definition_names (definition_names, rank) VALUES ('integrity-check', 1)")
    except Exception:
        return False
    return True


@pytest.mark.parametrize("case", [False, True])
def test_sym_finds_every_name_holding_the_value_shortest_first(store, case):
    for value in VALUES:
        assert found(store, f"sym:{value}" + (" case:yes" if case else "")) == expected(FILES, value, case), value


def test_two_values_find_either(store):
    assert found(store, "sym:copytree sym:ab") == expected(FILES, "copytree", False, "ab")
    assert found(store, "sym:copytree sym:x") == expected(FILES, "copytree", False, "x")
    assert found(store, "sym:x sym:copytree") == expected(FILES, "copytree", False, "x")


def test_a_value_with_a_quote_or_space_is_text_not_syntax(store):
    assert found(store, 'sym:"co\\"py"') == []
    assert found(store, 'sym:"copy tree"') == []
    assert found(store, "sym:OR") == []  # an FTS5 keyword, as a value, is the letters


def test_a_renamed_definition_is_found_by_its_new_name_only(store):
    renamed = {**FILES, "a.py": FILES["a.py"].replace("def copytree(", "def duplicate_tree(")}
    index(store, {"a.py": renamed["a.py"]})
    assert found(store, "sym:copytree") == expected(renamed, "copytree", False)
    assert ("a.py", 1) not in found(store, "sym:copytree")
    assert found(store, "sym:duplicate") == [("a.py", 1)]
    assert names_index_is_consistent(store)


def test_a_deleted_file_or_removed_project_leaves_no_name_behind(store):
    store.writes.files.mark_deleted("p", ["b/c.py"])
    assert found(store, "sym:tree") == expected({"a.py": FILES["a.py"]}, "tree", False)
    assert names_index_is_consistent(store)
    store.writes.projects.remove("p")
    assert found(store, "sym:tree") == [] and found(store, "sym:x") == []
    assert store.db.execute("SELECT count(*) FROM definition_names WHERE definition_names MATCH 'tre'"
                            ).fetchone() == (0,)
    assert names_index_is_consistent(store)


def test_an_upgraded_database_indexes_the_names_it_already_held(tmp_path):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    index(store, FILES)
    back_to(store.db, migrations.DEFINITION_SEARCH - 1)
    store.close()
    again, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.DEFINITION_SEARCH, migrations.LATEST + 1))
        for value in VALUES:
            assert found(again, f"sym:{value}") == expected(FILES, value, False), value
        assert names_index_is_consistent(again)
        assert again.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        again.close()


def test_a_filtered_query_reads_past_the_first_batch_when_it_must(tmp_path):
    # windows where the word is frequent, lower case, rank first; the only one holding it as
    # written ranks last, past the first batch of candidates of a one-row answer
    files = {f"m{n}.py": "value = 'word word word word'\n" for n in range(30)}
    files["z.py"] = "".join(f"filler_{n} = {n}\n" for n in range(28)) + "title = 'Word'\n"
    s, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        s.writes.projects.add("/srv/p", roots_overlap)
        index(s, files)
        assert found(s, "Word case:yes", limit=1) == [("z.py", 29)]
        ranked = found(s, "word /word word/", limit=100)
        assert len(ranked) == 30
        for limit in (1, 2, 5, 7, 8, 29):
            assert found(s, "word /word word/", limit=limit) == ranked[:limit]
    finally:
        s.close()


@pytest.mark.parametrize(("query", "expected"), [
    ("word /no_such_text/", []),
    ("word /needle'$/", [("x.py", 29), ("y.py", 29)]),
    ("word /NEEDLE/ case:yes", [("x.py", 29)]),
    ('word "Needle"', [("x.py", 29), ("y.py", 29)]),
    ('word "needle" case:yes', [("y.py", 29)]),
    # Python folds the Kelvin sign to k and the long s to S: SQLite's lower() does not, and a
    # window with such characters must still reach Python's check
    ("word /ks/", [("k.py", 29)]),
    ('word "\'kb"', [("k.py", 29)]),
    ("word /KS/ case:yes", []),
])
def test_past_the_first_batch_sqlite_narrows_to_the_same_hits(tmp_path, query, expected):
    files = {f"m{n:02d}.py": "value = 'word word word word'  # kb\n" for n in range(30)}
    filler = "".join(f"filler_{n} = {n}\n" for n in range(28))
    files |= {"x.py": filler + "word = 'NEEDLE'\n", "y.py": filler + "word = 'needle'\n",
              "k.py": filler + "word = '\u212a\u017f', '\u212aB'\n"}
    s, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        s.writes.projects.add("/srv/p", roots_overlap)
        index(s, files)
        assert sorted(found(s, query, limit=1) + found(s, query, limit=100)[1:]) == expected
        assert found(s, query, limit=1) == found(s, query, limit=100)[:1]
    finally:
        s.close()

"""FindSymbol's and FindReferences' two ways of answering (sorting every row of the name, or
walking the files in answer order: queries._walked) against an oracle computed in Python from
every row, over names common enough for the walk, rare ones, and common ones whose files come
last in the order."""

import fnmatch
import random

import pytest
from ref_rows import reference_rows

from codeanalysisd.db import queries
from codeanalysisd.db.store import Store
from codeanalysisd.paths import roots_overlap
from codeanalysisd.repair.disk import from_bytes

PROJECTS = ("alpha", "beta", "gamma")
FILES_PER_PROJECT = 120


def source(project: str, n: int, rng: random.Random) -> str:
    parts = [f"class K{n}:\n    def __init__(self):\n        pass\n\n"
             "    def run(self):\n        return self.x.y(1)\n\n"]
    if rng.random() < 0.3:  # a second __init__ in some files: two of one name in a file, told apart by line
        parts.append(f"class L{n}:\n    def __init__(self):\n        pass\n\n")
    if n % 17 == 0:
        parts.append("def rare():\n    pass\n\n")
    if n % 3:
        parts.append("def often():\n    return helper()\n\n")
    if project == "gamma" and n % 4 == 3 and n >= 100:  # many definitions, all in the last files (pkg3/)
        parts.append("".join(f"def late():\n    pass\n\nclass late_{i}:\n    pass\n\n" for i in range(45)))
        parts.append("import os\n" + "".join(f"os.path.join(late, {i})\n" for i in range(45)))
    parts.append(f"def test_{n}_a():\n    pass\n\ndef test_{n}_b():\n    pass\n\nasync def get_{n % 5}():\n    pass\n")
    return "".join(parts)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    where = tmp_path_factory.mktemp("find_symbol")
    s, _ = Store.open(str(where / "i.db"), str(where / "h.db"))
    rng = random.Random(7)
    ids = {}
    for project in PROJECTS:
        s.writes.projects.add(f"/srv/{project}", roots_overlap)
        ids[project] = next(p.id for p in s.reads.projects.list() if p.root == f"/srv/{project}")
        paths = [f"pkg{n % 4}/m{n:03}.py" for n in range(FILES_PER_PROJECT)]
        order = list(range(FILES_PER_PROJECT))
        rng.shuffle(order)  # stored out of path order: file ids do not follow the answer's order
        updates = [from_bytes(paths[n], source(project, n, rng).encode(), 1, 1, 1 << 20) for n in order]
        for start in range(0, len(updates), 50):
            s.writes.files.index(ids[project], updates[start:start + 50])
    yield s
    s.close()


def oracle(store: Store, name: str, project: str | None, kind: str, limit: int) -> list[tuple]:
    rows = store.reader.execute(
        "SELECT f.project_id, f.path, d.qualname, d.name, d.kind, d.line, d.id FROM definitions d "
        "JOIN files f ON f.id = d.file_id WHERE f.state = 'live'").fetchall()

    def matches(qualname: str, own: str) -> bool:
        if any(ch in name for ch in "*?["):
            return fnmatch.fnmatchcase(qualname if "." in name else own, name)
        if "." in name:
            return qualname == name or qualname.endswith("." + name)
        return own == name

    kept = sorted((p, path, line, i, qualname, k) for p, path, qualname, own, k, line, i in rows
                  if matches(qualname, own) and (not project or p == project) and (not kind or k == kind))
    return [(p, path, qualname, line) for p, path, line, _, qualname, _ in kept[:limit]]


def answer(store: Store, name: str, project: str | None, kind: str, limit: int) -> list[tuple]:
    return [(s.project, s.path, s.qualname, s.line)
            for s in queries.find_symbol(store.reader, name, project, kind, limit)]


def reference_oracle(store: Store, name: str, project: str | None, limit: int) -> list[tuple]:
    files = {file_id: (p, path) for file_id, p, path in store.reader.execute(
        "SELECT id, project_id, path FROM files WHERE state = 'live'")}
    rows = [(*files[file_id], q, own, line, col, seq)
            for file_id, seq, own, q, _, line, col, _ in reference_rows(store.reader) if file_id in files]
    qualifier, _, last = name.rpartition(".")

    def matches(q: str | None, own: str) -> bool:
        return own == last and (not qualifier or (q is not None and (q == qualifier or q.endswith("." + qualifier))))

    kept = sorted((p, path, line, col, seq, q, own) for p, path, q, own, line, col, seq in rows
                  if matches(q, own) and (not project or p == project))
    return [(p, path, own if q is None else f"{q}.{own}", line, col) for p, path, line, col, _, q, own in kept[:limit]]


def references(store: Store, name: str, project: str | None, limit: int) -> list[tuple]:
    return [(u.project, u.path, u.name, u.line, u.column)
            for u in queries.find_references(store.reader, name, project, limit)]


def count(store: Store, name: str) -> int:
    return store.reader.execute("SELECT count(*) FROM definitions WHERE name = ?", (name,)).fetchone()[0]


def test_the_names_cover_both_ways_and_the_fallback(store):
    files = store.reader.execute("SELECT count(*) FROM files").fetchone()[0]
    # more definitions than files: the walk may go through every file
    assert count(store, "__init__") > files
    # common enough to walk, over fewer files than there are: often's first files come early,
    # late's only in gamma's last five files (it falls back to the sort)
    assert queries.WALK_FROM <= count(store, "often") < files and queries.WALK_FROM <= count(store, "late") < files
    assert count(store, "rare") < queries.WALK_FROM


@pytest.mark.parametrize("name", ["__init__", "run", "often", "late", "rare", "nothing", "K7.__init__", "__init__.x",
                                  "late_3", "test_*", "test_1*_b", "get_?", "*_b", "K1*.run", "gamma"])
@pytest.mark.parametrize("limit", [1, 7, 21, 200, 5000])
def test_every_name_and_limit_answers_as_the_oracle(store, name, limit):
    assert answer(store, name, None, "", limit) == oracle(store, name, None, "", limit)


@pytest.mark.parametrize("name", ["__init__", "often", "late", "test_*", "run"])
@pytest.mark.parametrize("kind", ["method", "function", "class", "async_function"])
def test_a_project_and_a_kind_narrow_as_the_oracle(store, name, kind):
    for project in PROJECTS:
        pid = next(p.id for p in store.reads.projects.list() if p.root == f"/srv/{project}")
        for limit in (3, 21, 400):
            assert answer(store, name, pid, kind, limit) == oracle(store, name, pid, kind, limit), (project, limit)


@pytest.mark.parametrize("name", ["self", "x", "self.x", "y", "x.y", "self.x.y", "join", "os.path.join",
                                  "path.join", "helper", "rare", "nothing"])
@pytest.mark.parametrize("limit", [1, 7, 21, 200, 5000])
def test_every_reference_and_limit_answers_as_the_oracle(store, name, limit):
    assert references(store, name, None, limit) == reference_oracle(store, name, None, limit)
    pid = next(p.id for p in store.reads.projects.list() if p.root == "/srv/gamma")
    assert references(store, name, pid, limit) == reference_oracle(store, name, pid, limit)


def test_pages_asked_of_either_way_follow_on(store):
    """A client pages by asking for more rows; the first rows of a longer answer (which the
    walk may not fill, and the sort answers) are the shorter answer."""
    for name in ("__init__", "often", "late", "test_*"):
        longest = answer(store, name, None, "", 5000)
        for limit in (1, 20, 21, 100, 361, 1000):
            assert answer(store, name, None, "", limit) == longest[:limit], (name, limit)
    for name in ("y", "helper", "join"):
        longest = references(store, name, None, 5000)
        for limit in (1, 20, 21, 100, 361, 1000):
            assert references(store, name, None, limit) == longest[:limit], (name, limit)


def test_a_late_name_falls_back_to_the_sort_and_an_early_one_does_not(store, monkeypatch):
    assert store.reader.execute("SELECT sum(n) FROM ref_files WHERE last = 'join'").fetchone()[0] >= queries.WALK_FROM
    taken = []
    real = queries._walked

    def spy(*args, **kwargs):
        rows = real(*args, **kwargs)
        taken.append(rows is not None)
        return rows

    monkeypatch.setattr(queries, "_walked", spy)
    answer(store, "__init__", None, "", 21)
    answer(store, "often", None, "", 21)
    answer(store, "late", None, "", 21)
    answer(store, "rare", None, "", 21)
    references(store, "y", None, 21)
    references(store, "helper", None, 21)
    references(store, "join", None, 21)
    assert taken == [True, True, False, False, True, True, False]


def test_a_dotted_name_is_matched_with_its_case(tmp_path):
    """'Cart.add' is the method of Cart, not of an attribute 'cart' (SQLite's LIKE, which
    once matched the qualifier, ignores case)."""
    s, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        s.writes.projects.add("/srv/p", roots_overlap)
        project = s.reads.projects.list()[0].id
        source = (b"class Cart:\n    def add(self):\n        pass\n\n\n"
                  b"class Outer:\n    class cart:\n        def add(self):\n            pass\n\n\n"
                  b"Cart.add(1)\nx.cart.add(2)\nx.Cart.add(3)\n")
        s.writes.files.index(project, [from_bytes("m.py", source, len(source), 1, 1 << 20)])
        assert [(u.name, u.line) for u in queries.find_references(s.reader, "Cart.add", None, 10)] == [
            ("Cart.add", 12), ("x.Cart.add", 14)]
        assert [(d.qualname, d.line) for d in queries.find_symbol(s.reader, "Cart.add", None, "", 10)] == [
            ("Cart.add", 2)]
        assert [(d.qualname, d.line) for d in queries.find_symbol(s.reader, "cart.add", None, "", 10)] == [
            ("Outer.cart.add", 8)]
    finally:
        s.close()

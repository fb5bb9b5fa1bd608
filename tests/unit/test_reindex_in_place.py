"""A file indexed again keeps what its new content did not change (its windows of text, its
name rows) and ends up holding exactly what a first index of that content holds, through
random edits of real modules, on real SQLite files."""

import pathlib
import random
import sysconfig

import pytest

from codeanalysisd.db import name_rows
from codeanalysisd.db.store import Store
from codeanalysisd.db.stored_text import stored_windows
from codeanalysisd.paths import roots_overlap
from codeanalysisd.query_language import parse
from codeanalysisd.repair.disk import from_bytes

STDLIB = pathlib.Path(sysconfig.get_paths()["stdlib"])
MODULES = ("json/decoder.py", "email/utils.py", "shutil.py")


def _store(path: pathlib.Path) -> Store:
    path.mkdir(exist_ok=True)
    store, _ = Store.open(str(path / "i.db"), str(path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    return store


def index(store: Store, path: str, data: bytes) -> None:
    store.writes.files.index("p", [from_bytes(path, data, len(data), 1, 1 << 20)])


def held(store: Store, path: str) -> tuple[object, ...]:
    """Everything the index holds derived from one file's content, ids left out."""
    (file_id,) = store.db.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
    windows = sorted((start, text) for start, (_, text) in stored_windows(store.db, file_id).items())
    scopes = store.db.execute("SELECT id, qualname FROM scopes WHERE file_id = ? ORDER BY id", (file_id,)).fetchall()
    heads = store.db.execute("SELECT id, head FROM use_heads WHERE file_id = ? ORDER BY id", (file_id,)).fetchall()
    refs = store.db.execute("SELECT file_id, last, occurrences FROM refs WHERE file_id = ? ORDER BY last",
                            (file_id,)).fetchall()
    uses = store.db.execute("SELECT file_id, key, occurrences FROM uses WHERE file_id = ? ORDER BY key",
                            (file_id,)).fetchall()
    strip = [row[1:] for row in refs], [row[1:] for row in uses]
    return windows, scopes, heads, strip, name_rows.read(store.db, file_id)


def _edit(rnd: random.Random, lines: list[str]) -> list[str]:
    """One edit a person makes: a line changed in place, lines added or removed anywhere,
    code appended, or the end cut off."""
    at = rnd.randrange(len(lines) + 1)
    match rnd.choice(["change", "insert", "delete", "append", "truncate"]):
        case "change" if at < len(lines):
            return [*lines[:at], lines[at].replace("self", "this").replace("(", "( ") + "  # edited", *lines[at + 1:]]
        case "insert":
            return [*lines[:at], "extra_name = other.attribute(value)", "", *lines[at:]]
        case "delete":
            return [*lines[:at], *lines[at + rnd.randint(1, 40):]]
        case "append":
            return [*lines, "", "def appended(self, item):", "    return self.items.get(item)"]
        case _:
            return lines[:max(1, at)]


@pytest.mark.parametrize("module", MODULES)
def test_random_edits_leave_what_a_first_index_of_the_same_content_leaves(tmp_path, module):
    rnd = random.Random(module)
    edited, fresh = _store(tmp_path / "edited"), _store(tmp_path / "fresh")
    try:
        lines = (STDLIB / module).read_text().splitlines()
        index(edited, "m.py", "\n".join(lines).encode())
        for step in range(12):
            lines = _edit(rnd, lines)
            data = "\n".join(lines).encode()
            index(edited, "m.py", data)
            index(fresh, f"m{step}.py", data)
            assert held(edited, "m.py") == held(fresh, f"m{step}.py"), (module, step)
            assert edited.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # the full-text index answers from the rows left in place as from new ones
        words = parse("return")
        ours = [(h.line, h.snippet) for h in edited.reads.files.search(words, None, 500) if h.path == "m.py"]
        theirs = [(h.line, h.snippet) for h in fresh.reads.files.search(words, None, 500) if h.path == "m11.py"]
        assert ours == theirs
    finally:
        edited.close()
        fresh.close()


def test_code_appended_to_a_large_file_rewrites_only_what_it_added(tmp_path):
    store = _store(tmp_path)
    try:
        data = (STDLIB / "_pydecimal.py").read_bytes()
        appended = data + b"\n\ndef appended(self, item):\n    return self.items.get(item)\n"
        index(store, "m.py", data)
        (file_id,) = store.db.execute("SELECT id FROM files WHERE path = 'm.py'").fetchone()
        windows = store.db.execute("SELECT id, start_line FROM text_chunks WHERE file_id = ?", (file_id,)).fetchall()
        # SQLite counts each table's rows written (inserted or replaced) as the writer goes
        # (total_changes counts these triggers' rows too, in both writes alike)
        store.db.execute("CREATE TEMP TABLE written (name TEXT)")
        for table in ("refs", "uses", "ref_files", "use_files"):
            store.db.execute(f"CREATE TEMP TRIGGER written_{table} AFTER INSERT ON main.{table} "
                             f"BEGIN INSERT INTO written VALUES ('{table}'); END")

        def writing(path: str) -> tuple[int, dict[str, int]]:
            store.db.execute("DELETE FROM written")
            before = store.db.total_changes()
            index(store, path, appended)
            return store.db.total_changes() - before, dict(store.db.execute(
                "SELECT name, count(*) FROM written GROUP BY name"))

        (in_place, rows_in_place), (first, rows_first) = writing("m.py"), writing("first.py")
        # definitions, bindings, imports and chunks are still written whole, the name rows and
        # windows only where they changed: here the few names and the last window appended
        assert in_place < first, (in_place, first)
        assert rows_first["refs"] > 400 and rows_first["uses"] > 200, rows_first
        # the names appended, and those of the scopes whose numbers the new function's scope moved
        # (numbered by frequency: name_rows.numbered): under a tenth of each table's rows
        assert all(10 * rows_in_place.get(table, 0) < rows_first[table] for table in rows_first), rows_in_place
        assert {"refs", "uses"} <= rows_in_place.keys()
        kept = store.db.execute("SELECT id, start_line FROM text_chunks WHERE file_id = ?", (file_id,)).fetchall()
        assert set(windows) <= set(kept)  # every window kept its row (the last, its new text)
    finally:
        store.close()

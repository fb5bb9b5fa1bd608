"""A saved file shown ahead of the rest of its facts (ShowFiles, then IndexFiles): its
outline holds exactly the definitions the full walk finds, Search and FindSymbol answer
from it at once, the file is marked for indexing again until the rest comes, and the two
writes together leave exactly what one full write leaves. Real SQLite files."""

import dataclasses
import hashlib
import pathlib
import random
import sysconfig
from collections.abc import Iterator

import pytest
from test_reindex_in_place import MODULES, _edit, _store, held, index

from codeanalysisd.db.store import Store
from codeanalysisd.index import extract, wire
from codeanalysisd.index.reading import FileRead, outline_facts, outlined, parsed_source
from codeanalysisd.index.record import NO_CONTENT, FileUpdate
from codeanalysisd.repair.disk import from_bytes

STDLIB = pathlib.Path(sysconfig.get_paths()["stdlib"])

EVERY_STATEMENT = b'''"""module doc"""
import os


@decorated(1)
class Outer(Base, metaclass=Meta):
    """Outer's doc"""
    x: int = 1

    def method(self, a, *args, b=2, **kw) -> int:
        def inner():
            class Local:
                pass
        return inner

    async def coro(self):
        async with lock:
            async for item in items:
                def in_loop(): ...


if os.name == "nt":
    def on_windows(): ...
elif os.name == "posix":
    def on_posix(): ...
else:
    def elsewhere(): ...

try:
    def in_try(): ...
except ImportError:
    def in_handler(): ...
else:
    def in_else(): ...
finally:
    def in_finally(): ...

try:
    pass
except* ValueError:
    def in_star_handler(): ...

while True:
    def in_while(): ...
    break
else:
    def in_while_else(): ...

for name in names:
    pass
else:
    def in_for_else(): ...

with open(path) as f:
    def in_with(): ...

match command:
    case [x]:
        def in_case(): ...
    case _:
        class InDefault: ...

lambda: None
'''


def read(rel: str, data: bytes) -> FileRead:
    return FileRead(rel, len(data), 1, data, hashlib.sha256(data).digest(), mode=0o644)


def test_the_outline_has_every_kind_of_statement_s_definitions():
    parsed = extract.parse(EVERY_STATEMENT)
    names = {d.qualname for d in extract.outline(parsed).definitions}
    assert names == {d.qualname for d in extract.facts(parsed).definitions}
    assert {"Outer.method.<locals>.inner.<locals>.Local", "in_star_handler", "in_case", "InDefault",
            "Outer.coro.<locals>.in_loop", "in_finally", "in_while_else"} <= names
    assert extract.outline(parsed).module_docstring == "module doc"


def test_the_outline_finds_the_full_walk_s_definitions_over_the_standard_library():
    files = sorted(STDLIB.rglob("*.py"))
    compared = 0
    for path in files:
        if "site-packages" in path.parts:
            continue
        parsed = extract.parse(path.read_bytes())
        if parsed.tree is None:
            continue
        assert extract.outline(parsed).definitions == extract.facts(parsed).definitions, path
        compared += 1
    assert compared > 600


def test_what_is_not_parsed_is_not_shown_first():
    assert outlined(read("bad.py", b"def broken(:\n"), 1 << 20)[1] is None
    assert outlined(read("big.py", b"x = 1\n" * 100), 100)[1] is None  # past MaxParseSize: full text only
    assert outline_facts(parsed_source(FileRead("gone.py", 0, 0, None, NO_CONTENT, "cannot read"), 1 << 20)) is None
    shown = outline_facts(parsed_source(read("m.py", EVERY_STATEMENT), 1 << 20))
    assert shown is not None
    facts = wire.decode(shown)
    assert facts.parsed and facts.definitions and not facts.references and not facts.uses and not facts.imports


def shown(rel: str, data: bytes, mtime_ns: int = 1) -> FileUpdate:
    """The update ShowFiles brings, as the owner decodes it."""
    item = FileRead(rel, len(data), mtime_ns, data, hashlib.sha256(data).digest(), mode=0o644)
    outline = outlined(item, 1 << 20)[1]
    assert outline is not None
    return FileUpdate.from_wire(rel, len(data), mtime_ns, data, outline, 0o644)


def definitions(store, path: str) -> list[tuple[object, ...]]:
    return store.db.execute("SELECT d.qualname, d.name, d.kind, d.line, d.col, d.end_line, d.decorators, "
                            "d.signature, d.docstring FROM definitions d JOIN files f ON f.id = d.file_id "
                            "WHERE f.path = ? ORDER BY d.line, d.col", (path,)).fetchall()


def row(store, path: str) -> tuple[object, ...]:
    return store.db.execute("SELECT size, mtime_ns, sha256, encoding, parsed, problems, lines, docstring, structure, "
                            "state FROM files WHERE path = ?", (path,)).fetchone()


@pytest.fixture
def decoder(tmp_path) -> Iterator[tuple[Store, bytes]]:
    """A store holding json/decoder.py indexed whole as m.py, and its bytes."""
    store = _store(tmp_path)
    data = (STDLIB / "json/decoder.py").read_bytes()
    index(store, "m.py", data)
    yield store, data
    store.close()


def test_a_file_shown_is_searchable_and_marked_until_the_rest_comes(decoder):
    store, data = decoder
    edited = data + b"\n\ndef shown_first_marker(self):\n    return 'shown_first_text'\n"
    store.writes.files.show("p", [shown("m.py", edited, 2)])
    assert [s.qualname for s in store.reads.files.find_symbol("shown_first_marker", "p", "", 10)] == \
        ["shown_first_marker"]
    assert any(h.path == "m.py" for h in store.reads.files.search("shown_first_text", "p", 10))
    versions = store.reads.history.versions("p", "m.py")
    assert [v.reason for v in versions] == ["added", "modified"]
    assert versions[-1].sha256 == hashlib.sha256(edited).digest()
    # until its facts come, the watcher and the repair see the file as not read yet:
    # a crash in between leaves it to be indexed again, never half indexed for good
    (state,) = [s for s in store.reads.files.states("p") if s.path == "m.py"]
    assert (state.mtime_ns, state.sha256) == (-1, NO_CONTENT)
    store.writes.files.index("p", [from_bytes("m.py", edited, len(edited), 2, 1 << 20)])
    (state,) = [s for s in store.reads.files.states("p") if s.path == "m.py"]
    assert (state.mtime_ns, state.sha256) == (2, hashlib.sha256(edited).digest())
    assert len(store.reads.history.versions("p", "m.py")) == 2  # the full write made no version of its own


def test_a_verdict_given_between_the_showing_and_the_rest_holds_for_that_content_only(decoder):
    """A parser unit may verify a file between its showing and the rest of its facts: the
    verdict is for the content, which the rest does not change, so it is not asked for again."""
    store, data = decoder

    def verdict() -> object:
        return store.db.execute("SELECT syntax FROM files WHERE path = 'm.py'").fetchone()[0]

    for n, edited in enumerate((data + b"\nx = 1\n", data + b"\nx = 2\n")):
        store.writes.files.show("p", [shown("m.py", edited, n + 2)])
        assert verdict() is None
        sha = hashlib.sha256(edited).digest()
        assert store.writes.files.record_syntax("p", [("m.py", sha, "exact")]) == 1
        indexed = edited if n == 0 else edited + b"y = 3\n"  # the second: edited again before its rest
        store.writes.files.index("p", [from_bytes("m.py", indexed, len(indexed), n + 2, 1 << 20)])
        assert verdict() == ("exact" if n == 0 else None)


def test_facts_of_a_walk_cut_short_replace_what_was_shown(decoder):
    """The rest of a shown file's facts keeps the definitions shown only when its walk went
    through the whole file: one cut short (nested too deep) is written as it is, as it would
    have been without the showing."""
    store, data = decoder
    edited = data + b"\n\ndef shown_first_marker():\n    pass\n"
    store.writes.files.show("p", [shown("m.py", edited, 2)])
    whole = from_bytes("m.py", edited, len(edited), 2, 1 << 20)
    cut = dataclasses.replace(whole, facts=dataclasses.replace(
        whole.facts, definitions=whole.facts.definitions[:3], problems=("nested too deep",)))
    store.writes.files.index("p", [cut])
    assert [d[0] for d in definitions(store, "m.py")] == [d.qualname for d in whole.facts.definitions[:3]]
    assert row(store, "m.py")[5] == "nested too deep"


@pytest.mark.parametrize("module", MODULES)
def test_shown_then_indexed_leaves_what_one_full_write_leaves(tmp_path, module):
    rnd = random.Random(module)
    two, one = _store(tmp_path / "two"), _store(tmp_path / "one")
    try:
        lines = (STDLIB / module).read_text().splitlines()
        for store in (two, one):
            index(store, "m.py", "\n".join(lines).encode())
        for step in range(12):
            lines = _edit(rnd, lines)
            data = "\n".join(lines).encode()
            if extract.parse(data).tree is None:
                continue  # not shown first: such a file goes whole
            two.writes.files.show("p", [shown("m.py", data, step + 2)])
            if step % 3 == 2:
                # edited again before the rest came (or its rest was lost): the content
                # indexed next is not the one shown, which one full write stands for here
                one.writes.files.index("p", [from_bytes("m.py", data, len(data), step + 2, 1 << 20)])
                lines = _edit(rnd, lines)
                data = "\n".join(lines).encode()
            for store in (two, one):
                store.writes.files.index("p", [from_bytes("m.py", data, len(data), step + 2, 1 << 20)])
            assert held(two, "m.py") == held(one, "m.py"), (module, step)
            assert definitions(two, "m.py") == definitions(one, "m.py")
            assert row(two, "m.py") == row(one, "m.py")
            assert [(v.reason, v.sha256) for v in two.reads.history.versions("p", "m.py")] == \
                [(v.reason, v.sha256) for v in one.reads.history.versions("p", "m.py")]
            assert two.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        two.close()
        one.close()


def test_a_signature_nested_past_the_stack_shows_nothing_first_and_raises_nothing():
    # `x: a | a | ...`: the parse takes it, the walk that writes the signature cannot
    source = ("def f(x: " + " | ".join(["a"] * 1500) + " = 1):\n    pass\n").encode()
    parsed = extract.parse(source)
    assert parsed.tree is not None
    assert extract.outline(parsed).problems and outline_facts(parsed) is None
    assert outlined(read("deep.py", source), 1 << 20)[1] is None
    assert extract.facts(parsed).problems  # the full walk says so too: the file is indexed with that problem

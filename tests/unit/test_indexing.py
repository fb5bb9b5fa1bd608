"""The owner's index writes and queries on a real SQLite file."""

import ast
import hashlib
import json

import apsw
import pytest

from codeanalysisd.db import queries
from codeanalysisd.index import wire
from codeanalysisd.index.facts import Definition, Import, IndexedFacts, Reference
from codeanalysisd.index.reading import FileRead, file_facts
from codeanalysisd.index.record import NO_CONTENT, FileUpdate
from codeanalysisd.paths import roots_overlap
from codeanalysisd.records import ProjectState


def facts(defs=(), refs=(), problems=(), parsed=True, unreadable=False):
    return IndexedFacts("utf-8", parsed, tuple(problems), None, tuple(defs), (Import("os", None, None, 0, 1, 0),),
                        tuple(refs), unreadable)


DEF_F = Definition("f", "f", "function", 2, 0, 3, (), (), "(x)", "Doc line.\nMore.", None)
SOURCE = b"import os\ndef f(x):\n    return os.path.join(x, 'needle_token')\n"


def update(path="m.py", source=SOURCE, **kw):
    return FileUpdate(path, len(source), 1, source, hashlib.sha256(source).digest(), facts(
        defs=[DEF_F], refs=[Reference("os.path.join", "call", 3, 11, "f")], **kw))


def counts(store):
    return {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("files", "definitions", "imports", "refs", "text_chunks", "fts", "blobs", "blob_windows")}


def test_index_and_query(store):
    store.writes.files.index("p", [update()])
    hit, = store.reads.files.search("needle_token", None, 10)
    assert (hit.path, hit.line, hit.symbol) == ("m.py", 3, "f") and "needle_token" in hit.snippet
    sym, = store.reads.files.find_symbol("f", "p", "", 10)
    assert (sym.qualname, sym.line, sym.signature, sym.docstring) == ("f", 2, "(x)", "Doc line.")
    assert [u.name for u in store.reads.files.find_references("join", None, 10)] == ["os.path.join"]
    assert [u.name for u in store.reads.files.find_references("path.join", None, 10)] == ["os.path.join"]
    assert store.reads.files.find_references("other.join", None, 10) == []
    assert store.reads.files.source("p", "m.py")[0] == SOURCE


def test_reindex_replaces_derived_rows_and_dedups_blobs(store):
    store.writes.files.index("p", [update()])
    first = counts(store)
    store.writes.files.index("p", [update()])
    store.writes.files.index("p", [update()])
    assert counts(store) == first


def test_delete_keeps_row_and_source_and_leaves_results(store):
    store.writes.files.index("p", [update()])
    assert store.writes.files.mark_deleted("p", ["m.py"]) == 1
    assert store.reads.files.search("needle_token", None, 10) == []
    assert store.reads.files.find_symbol("f", None, "", 10) == []
    data, state, _ = store.reads.files.source("p", "m.py")
    assert data == SOURCE and state == "deleted"
    assert counts(store)["fts"] == counts(store)["text_chunks"] == 0  # the trigger kept both in step
    assert counts(store)["blob_windows"] > 0  # the content stays
    store.writes.files.index("p", [update()])                 # revived, same row
    assert counts(store)["files"] == 1 and store.reads.files.search("needle_token", None, 10)


def test_move_keeps_identity(store):
    store.writes.files.index("p", [update()])
    fid = store.db.execute("SELECT id FROM files").fetchone()[0]
    assert store.writes.files.move("p", "m.py", "n.py", len(SOURCE), 2)
    assert store.db.execute("SELECT id, path FROM files").fetchall() == [(fid, "n.py")]
    assert store.reads.files.find_symbol("f", None, "", 10)[0].path == "n.py"


def test_unreadable_file_is_listed_without_content(store):
    store.writes.files.index("p", [FileUpdate("secret.py", 10, 1, b"", NO_CONTENT, facts(
        problems=["cannot read: Permission denied"], parsed=False, unreadable=True))])
    assert store.reads.files.problems(None) == [("p", "secret.py", "cannot read: Permission denied")]
    data, _, problems = store.reads.files.source("p", "secret.py")
    assert data is None and "Permission denied" in problems


def test_a_file_from_the_wire_is_hashed_once_and_written_like_one_built_here(store):
    sent = FileUpdate.from_wire("m.py", len(SOURCE), 1, SOURCE, wire.encode(update().facts))
    assert sent == update()
    assert sent.sha256 == hashlib.sha256(SOURCE).digest()
    store.writes.files.index("p", [sent])
    assert store.reads.files.states("p")[0].sha256 == sent.sha256 and store.reads.files.source("p", "m.py")[0] == SOURCE
    sym, = store.reads.files.find_symbol("f", "p", "", 10)
    assert (sym.qualname, sym.line, sym.signature) == ("f", 2, "(x)")


def test_an_unreadable_file_from_the_wire_has_no_content_hash(store):
    text = wire.encode(facts(problems=["cannot read: Permission denied"], parsed=False, unreadable=True))
    sent = FileUpdate.from_wire("secret.py", 10, 1, b"", text)
    assert sent.sha256 == NO_CONTENT and sent.facts.unreadable
    store.writes.files.index("p", [sent])
    assert store.reads.files.states("p")[0].sha256 == NO_CONTENT
    assert store.reads.files.source("p", "secret.py")[0] is None


def malformed(sent: str) -> str:
    """Facts as sent, with a reference's scope that is no string's number."""
    facts = json.loads(sent)
    facts["references"][4][0] = len(facts["strings"])
    return json.dumps(facts)


def test_malformed_facts_are_refused_before_the_transaction(store):
    with pytest.raises(wire.BadFacts, match=r"references column 4"):
        FileUpdate.from_wire("m.py", len(SOURCE), 1, SOURCE, malformed(wire.encode(update().facts)))
    assert store.reads.files.states("p") == []


def test_a_batch_decoded_as_it_is_written_is_rolled_back_whole_by_a_malformed_file(store):
    # The owner decodes each file of a batch as it writes it (owner/ingest.py): the files
    # before the malformed one are already written in the transaction when it is met.
    good = wire.encode(update().facts)
    sent = [("a.py", good), ("b.py", good), ("c.py", malformed(good))]
    taken: list[str] = []

    def decoded():
        for path, text in sent:
            taken.append(path)
            yield FileUpdate.from_wire(path, len(SOURCE), 1, SOURCE, text)

    with pytest.raises(wire.BadFacts, match=r"references column 4"):
        store.writes.files.index("p", decoded())
    assert taken == ["a.py", "b.py", "c.py"]
    assert store.reads.files.states("p") == []
    assert set(counts(store).values()) == {0}   # nor any of their rows, text or history
    assert store.writes.files.index("p", (u for u in [update("a.py"), update("b.py")])) == 2
    assert [f.path for f in store.reads.files.states("p")] == ["a.py", "b.py"]


def test_remove_project_leaves_no_orphans(store):
    store.writes.files.index("p", [update(), update("o.py", SOURCE + b"# other\n")])
    store.writes.projects.remove("p")
    assert set(counts(store).values()) == {0}  # the index's copies of the contents too
    # the history keeps them
    assert store.db.execute("SELECT count(*) FROM history.contents").fetchone() == (2,)


def test_search_words_are_quoted_not_fts_syntax(store):
    store.writes.files.index("p", [update()])
    assert store.reads.files.search('needle_token NEAR("x"', None, 10) == []   # no FTS syntax error, just no match
    with pytest.raises(queries.BadQuery):
        store.reads.files.search("  ()  ", None, 10)


def test_long_file_points_at_the_right_line(store):
    lines = [f"x{i} = {i}" for i in range(100)]
    lines[73] = "marker_line = 'here'"
    source = ("\n".join(lines) + "\n").encode()
    sha = hashlib.sha256(source).digest()
    store.writes.files.index("p", [FileUpdate("long.py", len(source), 1, source, sha, facts())])
    hit, = store.reads.files.search("marker_line", None, 10)
    assert hit.line == 74 and hashlib.sha256(source).digest() == store.reads.files.states("p")[0].sha256


def test_skipped_paths_are_replaced_per_scope(store):
    store.writes.files.set_skipped("p", "", [("a/loop.py", "loop"), ("a/b/out.py", "outside"), ("ab/x.py", "x"),
                                             ("c_d.py", "c")])
    store.writes.files.set_skipped("p", "a", [("a/new.py", "new")])  # replaces a/ and below, not ab/ (prefix != dir)
    assert store.reads.files.problems(None) == [("p", "a/new.py", "new"), ("p", "ab/x.py", "x"), ("p", "c_d.py", "c")]
    store.writes.files.set_skipped("p", "c%d.py", [])                      # LIKE wildcards are literal
    assert len(store.reads.files.problems(None)) == 3
    store.writes.files.set_skipped("p", "c_d.py", [])
    assert [p for _, p, _ in store.reads.files.problems(None)] == ["a/new.py", "ab/x.py"]
    store.writes.files.set_skipped("p", "A", [])  # another directory: paths are compared with their case
    assert [p for _, p, _ in store.reads.files.problems(None)] == ["a/new.py", "ab/x.py"]
    store.writes.projects.remove("p")
    assert store.db.execute("SELECT count(*) FROM skipped").fetchone()[0] == 0


def test_a_docstring_spelling_a_lone_surrogate_is_indexed_with_its_batch(store):
    # "\ud800" in a docstring is a str no UTF-8 store can hold; the file, and the rest of
    # its batch, must be indexed all the same (the escape is kept as text).
    odd = b'def g():\n    """Half a pair: \\ud800."""\n'
    sent, clean = file_facts(FileRead("odd.py", len(odd), 1, odd, hashlib.sha256(odd).digest()), 1 << 20)
    assert clean
    record = FileUpdate.from_wire("odd.py", len(odd), 1, odd, sent)
    store.writes.files.index("p", [record, update("next.py")])
    assert [s.docstring for s in store.reads.files.find_symbol("g", None, "", 10)] == ["Half a pair: \\ud800."]
    assert store.reads.files.find_symbol("f", None, "", 10)[0].path == "next.py"


def test_a_file_indexed_before_bindings_and_uses_is_shown_to_the_watcher_as_unread(store):
    store.writes.files.index("p", [update()])
    assert store.reads.files.states("p")[0].sha256 != NO_CONTENT
    store.db.execute("UPDATE files SET structure = 0")  # as a file indexed before migration 9 is
    stale = store.reads.files.states("p")[0]
    assert (stale.sha256, stale.mtime_ns) == (NO_CONTENT, -1)
    store.writes.files.index("p", [update()])  # read again: current
    assert store.reads.files.states("p")[0].sha256 == update().sha256


def test_every_change_of_a_projects_files_moves_its_generation(store):
    def generation():
        return store.db.execute("SELECT generation FROM projects WHERE id = 'p'").fetchone()[0]

    seen = [generation()]
    store.writes.files.index("p", [update()])
    seen.append(generation())
    store.writes.files.move("p", "m.py", "n.py", 1, 2)
    seen.append(generation())
    store.writes.files.mark_deleted("p", ["n.py"])
    seen.append(generation())
    assert seen == sorted(set(seen))  # strictly growing


def test_verdicts_passed_over_for_size_are_pending_again_and_no_other(store):
    sources = [SOURCE + b"# %d\n" % i for i in range(4)]  # each its own bytes: a verdict holds for all copies
    store.writes.files.index("p", [update(f"m{i}.py", source) for i, source in enumerate(sources)])
    sha = [hashlib.sha256(source).digest() for source in sources]
    store.writes.files.record_syntax("p", [
        ("m0.py", sha[0], "exact"),
        ("m1.py", sha[1], "not verified: more than 10 syntax nodes"),
        ("m2.py", sha[2], "libcst cannot parse it: not verified: quoted"),
    ])
    assert store.writes.files.reopen_verdicts("not verified: ") == 1
    assert [p for p, _, _ in store.reads.files.syntax_pending("p", 10)] == ["m1.py", "m3.py"]


def test_a_file_to_verify_comes_with_its_syntax_nodes_as_the_indexer_counted_them(store):
    """The parser units bound what they give libcst by the count the watcher made (index/syntax.py)."""
    read = FileRead("a.py", len(SOURCE), 1, SOURCE, hashlib.sha256(SOURCE).digest())
    sent, clean = file_facts(read, 1 << 20)
    assert clean
    store.writes.files.index("p", [FileUpdate.from_wire("a.py", len(SOURCE), 1, SOURCE, sent)])
    nodes = sum(1 for _ in ast.walk(ast.parse(SOURCE)))
    assert store.reads.files.syntax_pending("p", 10) == [("a.py", read.sha256, nodes)]
    # A content whose facts carry no count (from a worker before it): none kept, none stale.
    edited = SOURCE + b"x = 1\n"
    store.writes.files.index("p", [update("a.py", edited)])
    assert store.reads.files.syntax_pending("p", 10) == [("a.py", hashlib.sha256(edited).digest(), None)]
    assert store.writes.files.reopen_verdicts("not verified: ") == 0


def test_a_file_reaches_each_full_text_index_as_one_segment(store):
    """FTS5 writes what it holds pending as a new segment of its index whenever a statement
    that may need undoing begins (SQLite's statement savepoints: a write that fires a trigger,
    a multi-row delete): such a statement between two windows, or per definition, made a
    segment of each, and merging them cost most of a first index's full-text writes."""
    lines = [f"def f{i}(x):\n    return x + {i}  # word_{i}\n" for i in range(600)]
    source = "".join(lines).encode()
    defs = [Definition(f"f{i}", f"f{i}", "function", 2 * i + 1, 0, 2 * i + 2, (), (), "(x)", None, None)
            for i in range(600)]
    big = FileUpdate("big.py", len(source), 1, source, hashlib.sha256(source).digest(),
                     IndexedFacts("utf-8", True, (), None, tuple(defs)))
    blocks: dict[str, int] = {"fts": 0, "definition_names": 0}

    def written(event):
        for table in blocks:
            if event["sql"].startswith(f"REPLACE INTO 'main'.'{table}_data'"):
                blocks[table] += 1

    store.db.trace_v2(apsw.SQLITE_TRACE_STMT, written)
    try:
        store.writes.files.index("p", [big, update()])
    finally:
        store.db.trace_v2(0, None)
    windows = store.db.execute("SELECT count(*) FROM text_chunks").fetchone()[0]
    assert windows >= 30
    # A segment of each file is a few leaf pages and the structure record; one per window or
    # per definition was several hundred blocks.
    assert 0 < blocks["fts"] <= 30, blocks
    assert 0 < blocks["definition_names"] <= 30, blocks
    assert [s.qualname for s in store.reads.files.find_symbol("f599", "p", "", 10)] == ["f599"]
    assert store.reads.files.search("word_599", None, 10)[0].line == 1200


def test_a_database_of_schema_26_keeps_no_count_until_a_file_is_indexed_again(tmp_path):
    from old_schema import back_to

    from codeanalysisd.db import migrations
    from codeanalysisd.db.store import Store
    from codeanalysisd.repair.disk import from_bytes

    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.writes.projects.add("/srv/p", roots_overlap)
    store.writes.files.index("p", [from_bytes(p, SOURCE, len(SOURCE), 1, 1 << 20) for p in ("a.py", "b.py")])
    back_to(store.db, migrations.SYNTAX_NODES - 1)
    store.close()

    again, report = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        assert report.applied == list(range(migrations.SYNTAX_NODES, migrations.LATEST + 1))
        sha = hashlib.sha256(SOURCE).digest()
        # counted by the parser unit itself, as before
        assert again.reads.files.syntax_pending("p", 10) == [("a.py", sha, None), ("b.py", sha, None)]
        edited = SOURCE + b"y = 2\n"
        again.writes.files.index("p", [from_bytes("b.py", edited, len(edited), 2, 1 << 20)])
        assert again.reads.files.syntax_pending("p", 10) == [
            ("a.py", sha, None), ("b.py", hashlib.sha256(edited).digest(), sum(1 for _ in ast.walk(ast.parse(edited))))]
        assert again.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        again.close()


def test_a_verdict_holds_for_every_copy_of_the_same_bytes_in_any_project(store):
    """libcst's verdict is of the bytes alone: a second checkout, a vendored copy or another
    empty __init__.py is not verified again, whichever is indexed first."""
    store.writes.projects.add("/srv/q", roots_overlap)
    sha = hashlib.sha256(SOURCE).digest()
    store.writes.files.index("p", [update("a.py"), update("b.py")])
    assert store.writes.files.record_syntax("p", [("a.py", sha, "libcst's tree differs at line 2")]) == 1
    # a copy waiting when the verdict came takes it with it ...
    assert store.reads.files.syntax_pending("p", 10) == []
    # ... and one indexed after it, in another project, takes it as it is written
    store.writes.files.index("q", [update("c.py")])
    assert store.reads.files.syntax_pending("q", 10) == []
    syntax = dict(store.db.execute("SELECT path, syntax FROM files"))
    assert syntax == dict.fromkeys(("a.py", "b.py", "c.py"), "libcst's tree differs at line 2")
    # other bytes wait for a verdict of their own
    edited = SOURCE + b"x = 1\n"
    store.writes.files.index("q", [update("c.py", edited)])
    assert [p for p, _, _ in store.reads.files.syntax_pending("q", 10)] == ["c.py"]


def test_the_projects_with_files_to_verify_are_named_each_once(store):
    """What the owner looks at as the watcher's index settles (owner/ingest.py index_settled)."""
    store.writes.projects.add("/srv/q", roots_overlap)
    assert store.reads.files.projects_syntax_pending() == {}
    store.writes.files.index("p", [update("a.py"), update("b.py", SOURCE + b"y = 2\n")])
    store.writes.files.index("q", [update("c.py", SOURCE + b"z = 3\n")])
    store.writes.projects.set_state("q", ProjectState.MISSING)
    assert store.reads.files.projects_syntax_pending() == {"p": ProjectState.ACTIVE, "q": ProjectState.MISSING}
    store.writes.files.record_syntax("q", [("c.py", hashlib.sha256(SOURCE + b"z = 3\n").digest(), "exact")])
    assert store.reads.files.projects_syntax_pending() == {"p": ProjectState.ACTIVE}


def test_a_file_passed_over_for_its_size_passes_no_copy_over(store):
    """Passed over depends on [Parser] MaxSyntaxNodes= at the time, not on the bytes alone."""
    sha = hashlib.sha256(SOURCE).digest()
    store.writes.files.index("p", [update("a.py"), update("b.py")])
    store.writes.files.record_syntax("p", [("a.py", sha, "not verified: more than 10 syntax nodes")])
    store.writes.files.index("p", [update("c.py")])
    assert [p for p, _, _ in store.reads.files.syntax_pending("p", 10)] == ["b.py", "c.py"]

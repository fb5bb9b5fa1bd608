"""The query language of Search and HybridSearch through busctl and codeanalysisctl on a real
tree: every operator, paging, bad syntax as a named error with its column, and the CLI's
highlighting (a terminal only) and grep-like context.
"""

from __future__ import annotations

import json

import pytest
from helpers import IFACE, NAME, OBJ, ctl, dbus_send, start_suite
from query_corpus import COPY_FILES
from sandbox.box import wait_until

ROOT = "/srv/querylang"
PID = "querylang"
INVALID = "org.codeanalysis1.Error.InvalidArgument"
FILES = {
    **COPY_FILES,
    "pkg/many.py": "".join(f"def handler_{n:02d}(event):\n    return event.kind == {n}\n\n\n" for n in range(30)),
}
MATCH = "\x1b[1;31m"


def search(box, query: str, limit: int = 20, check: bool = True) -> list[list]:
    """Search through busctl: the reply's rows (project, path, line, symbol, text, score)."""
    r = box.run("busctl", "--json=short", "call", NAME, OBJ, IFACE, "Search", "ssu", query, PID, str(limit),
                check=check)
    return json.loads(r.stdout)["data"][0]


def places(rows: list[list]) -> list[tuple[str, int]]:
    return [(r[1], r[2]) for r in rows]


def cli(box, *args: str) -> list[dict]:
    r = ctl(box, "--json", "search", "-p", PID, *args, check=False)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module", autouse=True)
def project(system):
    start_suite(system)
    system.sh(f"rm -rf {ROOT}")
    for rel, text in FILES.items():
        system.write_file(f"{ROOT}/{rel}", text)
    ctl(system, "add", ROOT)
    wait_until(lambda: len(search(system, "sym:copytree")) == 3 and search(system, "handler_29") != [],
               timeout=30, what="the project indexed")
    yield
    ctl(system, "remove", PID, check=False)


def test_words_all_must_occur_through_the_bus_and_the_cli(system):
    assert places(search(system, "copytree makedirs")) == [("pkg/shutil_like.py", 4)]
    assert search(system, "copytree no_such_word_anywhere") == []
    assert [(h["path"], h["line"]) for h in cli(system, "copytree", "makedirs")] == [("pkg/shutil_like.py", 4)]


def test_an_exact_phrase(system):
    assert places(search(system, '"_copytree(src, dst)"')) == [("pkg/shutil_like.py", 6), ("pkg/shutil_like.py", 9)]
    assert search(system, '"_copytree(src,dst)"') == []  # the same words, not the same text
    assert [h["line"] for h in cli(system, '"_copytree(src, dst)"')] == [6, 9]


def test_path_and_not_path(system):
    assert {r[1] for r in search(system, "copytree path:tests/")} == {"tests/test_copy.py"}
    assert {r[1] for r in search(system, "copytree -path:tests/")} == {"pkg/shutil_like.py"}
    assert {r[1] for r in search(system, "copytree path:*.py -path:pkg/*")} == {"tests/test_copy.py"}
    assert {h["path"] for h in cli(system, "copytree", "path:tests/")} == {"tests/test_copy.py"}


def test_kind_and_sym_keep_definition_lines(system):
    assert places(search(system, "copytree kind:function -path:tests")) == [("pkg/shutil_like.py", 4)]
    assert places(search(system, "copy kind:method")) == [("pkg/shutil_like.py", 14)]
    assert places(search(system, "copy_later kind:function")) == [("pkg/shutil_like.py", 18)]  # async too
    rows = search(system, "sym:copytree")
    assert places(rows) == [("pkg/shutil_like.py", 4), ("pkg/shutil_like.py", 9), ("tests/test_copy.py", 4)]
    assert [r[3] for r in rows] == ["copytree", "_copytree", "test_copytree"]
    assert places(search(system, "sym:Copier kind:class")) == [("pkg/shutil_like.py", 13)]
    assert [h["line"] for h in cli(system, "sym:Copier", "kind:class")] == [13]


def test_case_yes(system):
    assert search(system, "COPY tree") != []
    assert search(system, "COPY tree case:yes") == []
    assert places(search(system, "Copy tree case:yes")) == [("pkg/shutil_like.py", 5)]
    assert search(system, "sym:copier case:yes") == []


def test_a_regex_filters_what_the_words_found(system):
    assert places(search(system, r"_copytree /return\s+_?copytree\(src, (dst|src)/")) == [("pkg/shutil_like.py", 6)]
    assert places(search(system, r"copytree /^\s+copytree\('a'/")) == [("tests/test_copy.py", 5)]
    assert places(search(system, "sym:copy /^async /")) == [("pkg/shutil_like.py", 18)]
    assert [h["line"] for h in cli(system, r"/event\.kind == 7$/", "event")] == [30]


def test_every_definition_line_is_a_hit_and_pages(system):
    everything = places(search(system, "event kind:function", limit=100))
    assert sorted(everything) == [("pkg/many.py", 4 * n + 1) for n in range(30)]  # windows by BM25
    assert places(search(system, "event kind:function", limit=7)) == everything[:7]
    assert places(search(system, "event kind:function page:2", limit=7)) == everything[7:14]
    assert places(search(system, "event kind:function page:5", limit=7)) == everything[28:]
    assert search(system, "event kind:function page:6", limit=7) == []
    by_cli = [(h["path"], h["line"]) for h in cli(system, "event", "kind:function", "-n", "7", "--page", "2")]
    assert by_cli == everything[7:14]


@pytest.mark.parametrize(("query", "column", "what"), [
    ('copy "tree', 6, "never closed"),
    ("copy pth:pkg", 6, "unknown operator 'pth'"),
    ("copy kind:lambda", 11, "unknown kind 'lambda'"),
    ("copy /(a+)+/", 6, "repeats a repetition"),
    ("copy /[a/", 7, "not a regular expression"),
    ("/copy/", 1, "add a word"),
    ("copy page:0", 11, "page: takes a page number"),
    ("copy case:maybe", 11, "case: takes yes or no"),
])
def test_bad_syntax_is_invalid_argument_saying_where(system, query, column, what):
    for member in ("Search", "HybridSearch"):
        r = dbus_send(system, member, f"string:{query}", f"string:{PID}", "uint32:5")
        assert r.returncode != 0 and INVALID in r.stderr, r.stderr
        assert f"column {column}: " in r.stderr and what in r.stderr, r.stderr
    r = ctl(system, "search", "-p", PID, query, check=False)
    assert r.returncode == 1 and INVALID in r.stderr and f"column {column}: " in r.stderr, r.stderr


def test_the_caps_still_hold(system):
    too_many = " ".join(f"w{i}" for i in range(33))
    r = dbus_send(system, "Search", f"string:{too_many}", f"string:{PID}", "uint32:5")
    assert INVALID in r.stderr and "at most 32" in r.stderr, r.stderr
    r = dbus_send(system, "Search", f"string:{'x' * 1025}", f"string:{PID}", "uint32:5")
    assert INVALID in r.stderr and "at most 1024" in r.stderr, r.stderr


def test_plain_when_piped_highlighted_on_a_terminal_unless_no_color(system):
    piped = ctl(system, "search", "-p", PID, "copytree", "makedirs").stdout
    assert piped == "querylang:pkg/shutil_like.py:4 (copytree): def copytree(src, dst):\n"
    forced = ctl(system, "search", "-p", PID, "--color=always", "copytree", "makedirs").stdout
    assert f"def {MATCH}copytree\x1b[0m(src, dst):" in forced

    def on_a_terminal(env: str) -> str:
        command = f"{env} codeanalysisctl search -p {PID} copytree makedirs"
        return system.run("script", "-qec", command, "/dev/null").stdout

    assert f"{MATCH}copytree" in on_a_terminal("env -u NO_COLOR")
    shown = on_a_terminal("env NO_COLOR=1")
    assert "\x1b[" not in shown and "def copytree(src, dst):" in shown


def test_context_lines_like_grep_from_the_stored_source(system):
    out = ctl(system, "search", "-p", PID, "-C", "1", r"_copytree /return/").stdout
    assert out.splitlines() == [
        'querylang:pkg/shutil_like.py-5-    """Recursively copy a directory tree."""',
        "querylang:pkg/shutil_like.py:6 (copytree):     return _copytree(src, dst)",
        "querylang:pkg/shutil_like.py-7-",
    ]
    two = ctl(system, "search", "-p", PID, "-C", "0", "sym:copytree").stdout.splitlines()
    assert two == ["querylang:pkg/shutil_like.py:4 (copytree): def copytree(src, dst):", "--",
                   "querylang:pkg/shutil_like.py:9 (_copytree): def _copytree(src, dst):", "--",
                   "querylang:tests/test_copy.py:4 (test_copytree): def test_copytree():"]
    # what the index holds, not the disk: an edit not yet indexed does not show
    system.sh(f"systemctl stop codeanalysisd-watcher.service && echo '# edited' >> {ROOT}/tests/test_copy.py")
    try:
        shown = ctl(system, "search", "-p", PID, "-C", "3", "test_copytree").stdout
        assert "edited" not in shown and "querylang:tests/test_copy.py-5-    copytree('a', 'b')" in shown
    finally:
        start_suite(system)


def test_hybrid_filters_restrict_both_rankings(system):
    def settled() -> bool:
        out = system.run("busctl", "--json=short", "get-property", NAME, OBJ, IFACE, "ChunksPending").stdout
        return json.loads(out)["data"] == 0

    wait_until(settled, timeout=120, what="every chunk embedded")

    def hybrid(query: str) -> list[list]:
        r = system.run("busctl", "--json=short", "call", NAME, OBJ, IFACE, "HybridSearch", "ssu", query, PID, "10")
        return json.loads(r.stdout)["data"][0]

    assert "pkg/shutil_like.py" in {r[1] for r in hybrid("copy a directory tree")}
    assert {r[1] for r in hybrid("copy a directory tree path:tests/")} == {"tests/test_copy.py"}
    assert {r[1] for r in hybrid("copy a directory tree -path:tests/ -path:many")} == {"pkg/shutil_like.py"}
    assert {r[2] for r in hybrid("copy a directory tree kind:method")} == {"TreeCopier.copy"}
    named = {r[2] for r in hybrid("handle an event sym:handler_1")}
    assert named and named <= {f"handler_{n}" for n in range(10, 20)}
    out = ctl(system, "semantic", "--hybrid", "-p", PID, "copy a directory tree path:tests/").stdout
    assert out and all(" querylang:tests/test_copy.py:" in line for line in out.splitlines()), out


def test_sym_follows_a_definition_renamed_and_deleted_on_disk(system):
    # last: it edits the project. Names of three characters or more go through the names'
    # trigram index; of one or two, through every name: both must follow the edits.
    path = f"{ROOT}/pkg/renamed.py"
    system.write_file(path, "def zq_first_name():\n    pass\n")
    wait_until(lambda: places(search(system, "sym:zq_first")) == [("pkg/renamed.py", 1)], timeout=30,
               what="the new file's definition found by name")
    system.write_file(path, "x = 1\n\n\ndef zq_second_name():\n    pass\n")
    wait_until(lambda: places(search(system, "sym:zq_second")) == [("pkg/renamed.py", 4)], timeout=30,
               what="the renamed definition found by its new name")
    assert search(system, "sym:zq_first") == [] and search(system, "sym:FIRST_NAME") == []
    assert places(search(system, "sym:zq")) == places(search(system, "sym:q")) == [("pkg/renamed.py", 4)]
    assert places(search(system, "sym:SECOND kind:function")) == [("pkg/renamed.py", 4)]
    system.sh(f"rm {path}")
    wait_until(lambda: search(system, "sym:zq_second") == [], timeout=30, what="the deleted file's name gone")
    assert search(system, "sym:zq") == [] and search(system, "sym:q") == []

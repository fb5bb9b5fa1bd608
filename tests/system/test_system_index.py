"""The live index under a real system manager: watcher, parser and queries.

Every wait is a poll with a deadline: the index is eventually (and quickly) consistent
with disk, and these tests say how quickly only in the figures they print.
"""

from __future__ import annotations

import itertools
import json
import time

import pytest
from conftest import SRC, figure
from helpers import active_parser_units, busctl, ctl, parser_units, settled_parser_units, start_suite
from sandbox.box import wait_until

from codeanalysisd.workers.parser import BATCH

PY = "/usr/lib/codeanalysisd/bin/python"
ROOT = "/srv/live"
PID = "live"


def db_rows(box, project: str = PID) -> dict:
    return json.loads(box.run(PY, f"{SRC}/tests/support/dbcheck.py", "rows", project).stdout)


def disk_hashes(box, root: str) -> dict[str, str]:
    return json.loads(box.run(PY, f"{SRC}/tests/support/dbcheck.py", "disk", root).stdout)


def search(box, query: str, project: str = PID) -> list[dict]:
    r = ctl(box, "--json", "search", "-p", project, query, check=False)
    return json.loads(r.stdout) if r.stdout.strip() else []


def referrers(box, name: str, project: str = PID) -> set[str]:
    r = ctl(box, "--json", "refs", name, "-p", project, check=False)  # none found: exit status 1
    return {row["path"] for row in json.loads(r.stdout)} if r.stdout.strip() else set()


def live_files(box, project: str = PID) -> dict[str, str]:
    """Live files indexed whole (a file shown ahead of the rest of its facts is not yet)."""
    return {p: f["sha256"] for p, f in db_rows(box, project)["files"].items() if f["state"] == "live" and f["whole"]}


def difference(box) -> str:
    """What a wait for the index to equal disk saw last, and what the watcher was doing."""
    index, disk = live_files(box), disk_hashes(box, ROOT)
    missing = sorted(set(disk) - set(index))
    extra = sorted(set(index) - set(disk))
    stale = sorted(p for p in set(disk) & set(index) if disk[p] != index[p])
    journal = box.journal("codeanalysisd-watcher.service", "-o", "short-monotonic")
    return (f"not indexed: {len(missing)} {missing[:5]}; still live in the index: {len(extra)} {extra[:5]}; "
            f"stale: {len(stale)} {stale[:5]}\nwatcher: {watcher_counters(box)}\n"
            f"status: {box.show('codeanalysisd-watcher.service', 'StatusText')}\n"
            f"watcher's journal:\n{journal[-4000:]}\n"
            f"owner's journal:\n{box.journal('codeanalysisd-db.service', '-o', 'short-monotonic')[-2000:]}")


def watcher_counters(box) -> dict:
    return json.loads(ctl(box, "--json", "worker", "status", "watcher").stdout)[0]


def settled_counters(box) -> dict:
    """The watcher's counters from a report it made after this call: its periodic report may
    predate the last file it indexed."""
    asked = time.monotonic()
    wait_until(lambda: watcher_counters(box)["reported_ago"] < time.monotonic() - asked, timeout=20,
               what="a report from the watcher")
    return watcher_counters(box)


@pytest.fixture(scope="module", autouse=True)
def live_project(system):
    start_suite(system)
    system.sh(f"rm -rf {ROOT} && mkdir -p {ROOT}/pkg && cd {ROOT} && "
              "printf 'def alpha():\\n    return 1\\n' > pkg/a.py && "
              "printf 'class Beta:\\n    def gamma(self):\\n        return alpha()\\n' > pkg/b.py && "
              "printf 'ignored_dir/\\n' > .gitignore && mkdir -p ignored_dir __pycache__ && "
              "echo 'x = 1' > ignored_dir/skip.py && echo 'x = 1' > __pycache__/skip.py")
    ctl(system, "add", ROOT)
    wait_until(lambda: set(live_files(system)) == {"pkg/a.py", "pkg/b.py"}, timeout=20,
               what="the initial scan to index the project")
    yield
    ctl(system, "remove", PID, check=False)


def test_initial_scan_respects_the_membership_rule(system):
    assert set(live_files(system)) == {"pkg/a.py", "pkg/b.py"}
    assert live_files(system) == disk_hashes(system, ROOT)
    defs = json.loads(ctl(system, "--json", "def", "gamma", "-p", PID).stdout)
    assert [(d["qualname"], d["kind"], d["path"], d["line"]) for d in defs] == [("Beta.gamma", "method", "pkg/b.py", 2)]
    refs = json.loads(ctl(system, "--json", "refs", "alpha", "-p", PID).stdout)
    assert [(r["path"], r["line"], r["kind"], r["scope"]) for r in refs] == [("pkg/b.py", 3, "call", "Beta.gamma")]


def test_new_file_is_searchable_right_after_save(system):
    token = "zebracorn_unique_7731"
    started = time.monotonic()
    system.write_file(f"{ROOT}/pkg/new_{token}.py", f"def {token}():\n    '''find me'''\n    return 42\n")
    hits = wait_until(lambda: search(system, token), timeout=10, interval=0.01, what="the new token to be found")
    figure(f"save -> found by Search (one sample, through the CLI): {time.monotonic() - started:.3f} s")
    assert hits[0]["path"] == f"pkg/new_{token}.py" and hits[0]["line"] == 1 and hits[0]["symbol"] == token
    found = json.loads(ctl(system, "--json", "def", token).stdout)
    assert found[0]["signature"] == "()" and found[0]["docstring"] == "find me"


# What the watcher sends ahead of a saved file's facts (ShowFiles), made in the box from disk:
# [size, mtime_ns, bytes, the outline's facts JSON, mode].
OUTLINE = """
import hashlib, json, os, stat, sys
from codeanalysisd.index.reading import FileRead, outlined
path = sys.argv[1]
data, st = open(path, "rb").read(), os.stat(path)
item = FileRead(path, st.st_size, st.st_mtime_ns, data, hashlib.sha256(data).digest(), mode=stat.S_IMODE(st.st_mode))
print(json.dumps([st.st_size, st.st_mtime_ns, list(data), outlined(item, 1 << 20)[1], stat.S_IMODE(st.st_mode)]))
"""


def test_a_file_shown_whose_facts_never_came_is_indexed_whole_at_the_watchers_next_start(system):
    """A save is shown first (ShowFiles: its definitions and text), and the rest of its facts
    follow (IndexFiles). Here the rest never comes, as when the watcher is killed between the
    two: Search and FindSymbol answer from what was shown, and the watcher's next start
    indexes the file whole, its references with it."""
    path, token = "pkg/shown_first.py", "shown_first_marker_5521"

    # the repair worker with it: a stopped watcher's drift is the repair worker's to index
    system.systemctl("stop", "codeanalysisd-watcher.service", "codeanalysisd-repair.service")
    try:
        system.write_file(f"{ROOT}/{path}", f"def {token}():\n    return alpha()\n")
        size, mtime_ns, data, outline, mode = json.loads(system.run(PY, "-c", OUTLINE, f"{ROOT}/{path}").stdout)
        assert outline is not None
        r = system.run("busctl", "call", "org.codeanalysis1", "/org/codeanalysis1", "org.codeanalysis1.Worker",
                       "ShowFiles", "sa(sxxaysu)", PID, "1", path, str(size), str(mtime_ns), str(len(data)),
                       *map(str, data), outline, str(mode))
        assert r.stdout.split() == ["u", "1"], r.stdout
        found = json.loads(ctl(system, "--json", "def", token, "-p", PID).stdout)
        assert [(d["path"], d["line"]) for d in found] == [(path, 1)]
        assert [h["path"] for h in search(system, token)] == [path]
        assert path not in referrers(system, "alpha")  # the rest of its facts: not written
    finally:
        system.systemctl("start", "codeanalysisd-watcher.service")
    try:
        wait_until(lambda: path in referrers(system, "alpha"), timeout=20,
                   what="the watcher to index the shown file whole")
    finally:
        system.systemctl("start", "codeanalysisd-repair.service")
    assert live_files(system) == disk_hashes(system, ROOT)
    system.run("rm", f"{ROOT}/{path}")
    wait_until(lambda: path not in live_files(system), timeout=10, what="the file's deletion to be seen")


# Run in the box, so that no command's start-up stands between the steps: a large file saved,
# and once it is shown, a small one; what FindReferences says of the large file's new call at
# the moment the small file's save is found. Polls through busctl.
SAVE_BEHIND = """
import json, subprocess, sys, time
root, project, n = sys.argv[1:4]

def call(method, signature, *args):
    out = subprocess.run(["busctl", "--json=short", "call", "org.codeanalysis1", "/org/codeanalysis1",
                          "org.codeanalysis1.Manager", method, signature, *args],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["data"][0]

def defined(name):
    return [row[1] for row in call("FindSymbol", "sssu", name, project, "", "10")]

def referrers(name):
    return sorted({row[1] for row in call("FindReferences", "ssu", name, project, "10")})

def wait(found, what):
    end = time.monotonic() + 60
    while not found():
        if time.monotonic() > end:
            sys.exit("timed out waiting for " + what)
        time.sleep(0.003)

with open(root + "/pkg/big.py", "a") as f:
    f.write(f"\\n\\ndef big_marker_{n}():\\n    return big_callee_{n}()\\n")
wait(lambda: defined(f"big_marker_{n}"), "the large file's save to be shown")
with open(root + "/pkg/a.py", "a") as f:
    f.write(f"\\n\\ndef small_marker_{n}():\\n    return 1\\n")
wait(lambda: defined(f"small_marker_{n}"), "the small file's save to be shown")
print(json.dumps(referrers(f"big_callee_{n}")))
"""


def test_a_save_is_shown_while_the_rest_of_the_last_saves_facts_is_still_being_extracted(system):
    """The rest of a large file's facts takes longer than its showing (one more walk of its
    tree, and a larger write). A save of another file meanwhile is shown without waiting for
    it: the small file is found while the large file's new call is not yet a reference. Then
    both are indexed whole."""
    body = "".join(f"def big_{i}(x):\n    y = alpha(x) + helper_{i % 10}(x.attr, x.other[{i}])\n"
                   f"    return [z * y for z in range(x) if z != {i}]\n\n\n" for i in range(3000))
    system.write_file(f"{ROOT}/pkg/big.py", body)
    wait_until(lambda: referrers(system, "helper_0"), timeout=60, what="the large file to be indexed whole")
    before = system.run("cat", f"{ROOT}/pkg/a.py").stdout
    try:
        for n in range(2):
            r = system.run(PY, "-c", SAVE_BEHIND, ROOT, PID, str(n), timeout=180)
            assert json.loads(r.stdout) == [], (
                f"save {n}: the small file was found only after the large file's rest was in\n{difference(system)}")
            wait_until(lambda n=n: referrers(system, f"big_callee_{n}") == {"pkg/big.py"}, timeout=30,
                       what="the large file's rest of facts")
        try:
            wait_until(lambda: live_files(system) == disk_hashes(system, ROOT), timeout=30,
                       what="the index to equal disk")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{difference(system)}") from None
        assert settled_counters(system)["pending"] == 0
    finally:
        system.run("rm", f"{ROOT}/pkg/big.py")
        system.write_file(f"{ROOT}/pkg/a.py", before)
    wait_until(lambda: live_files(system) == disk_hashes(system, ROOT), timeout=30, what="the index to equal disk")


def test_rename_keeps_identity_and_is_not_parsed_again(system):
    before = db_rows(system)["files"]["pkg/a.py"]
    done_before = settled_counters(system)["done"]
    system.run("mv", f"{ROOT}/pkg/a.py", f"{ROOT}/pkg/a_renamed.py")
    wait_until(lambda: "pkg/a_renamed.py" in live_files(system), timeout=10, what="the rename to be seen")
    after = db_rows(system)["files"]
    assert "pkg/a.py" not in after
    assert after["pkg/a_renamed.py"]["id"] == before["id"]           # the same file: identity kept
    assert after["pkg/a_renamed.py"]["sha256"] == before["sha256"]
    assert settled_counters(system)["done"] == done_before            # nothing was parsed again
    assert json.loads(ctl(system, "--json", "def", "alpha", "-p", PID).stdout)[0]["path"] == "pkg/a_renamed.py"
    assert "pkg/a.py moved to pkg/a_renamed.py" in system.journal("codeanalysisd-watcher.service", "-o", "cat")


def test_directory_moved_within_and_out_of_and_into_the_project(system):
    system.sh(f"mkdir -p {ROOT}/sub && printf 'def in_sub(): pass\\n' > {ROOT}/sub/s.py")
    wait_until(lambda: "sub/s.py" in live_files(system), timeout=10, what="sub/s.py")
    ident = db_rows(system)["files"]["sub/s.py"]["id"]
    system.run("mv", f"{ROOT}/sub", f"{ROOT}/moved")
    wait_until(lambda: "moved/s.py" in live_files(system) and "sub/s.py" not in live_files(system), timeout=10,
               what="the directory move")
    assert db_rows(system)["files"]["moved/s.py"]["id"] == ident
    system.run("mv", f"{ROOT}/moved", "/srv/outside-moved")
    wait_until(lambda: "moved/s.py" not in live_files(system), timeout=10, what="the directory moved out")
    # an ordinary mv, not an error: its watches go with it (tests/unit/test_inotify_watches.py)
    said = f"{ROOT}/moved moved out of the watched directories"
    wait_until(lambda: said in system.journal("codeanalysisd-watcher.service"), timeout=10, what=said)
    assert "cannot be trusted" not in system.journal("codeanalysisd-watcher.service")
    system.run("mv", "/srv/outside-moved", f"{ROOT}/back")
    wait_until(lambda: "back/s.py" in live_files(system), timeout=10, what="the directory moved in")
    assert live_files(system) == disk_hashes(system, ROOT)


def repair_row(box) -> dict:
    status = json.loads(ctl(box, "--json", "worker", "status", "repair", "-p", PID).stdout)
    return next((p for p in status["projects"] if p["project"] == PID), {"checked": 0, "repaired": 0})


def test_moves_stay_moves_with_the_repair_worker_checking_all_the_while(system):
    """The repair worker reads disk every 0.1 s while files and a directory move: each move is the
    watcher's, seen a few ms after the repair worker may have seen the old path gone. A deletion
    it recorded first would make the watcher index the new path as a new file."""
    system.sh(f"mkdir -p {ROOT}/hop && printf 'def hop(): pass\\n' > {ROOT}/hop/h.py && "
              f"printf 'def skip(): pass\\n' > {ROOT}/pkg/skip_a.py")
    wait_until(lambda: {"hop/h.py", "pkg/skip_a.py"} <= set(live_files(system)), timeout=10, what="hop/ indexed")
    rows = db_rows(system)["files"]
    ids = {"h.py": rows["hop/h.py"]["id"], "skip": rows["pkg/skip_a.py"]["id"]}
    busctl(system, "StartRepairWorker", "sud", PID, "500", "0.1")
    try:
        before = repair_row(system)
        wait_until(lambda: repair_row(system)["checked"] > before["checked"], timeout=10, what="a repair batch")
        here = {"hop": "hop", "skip": "pkg/skip_a.py"}
        for n in range(8):
            there = {"hop": f"hop{n}", "skip": f"pkg/skip_{n}.py"}
            system.run("mv", f"{ROOT}/{here['hop']}", f"{ROOT}/{there['hop']}")
            system.run("mv", f"{ROOT}/{here['skip']}", f"{ROOT}/{there['skip']}")
            moved = {f"{there['hop']}/h.py", there["skip"]}
            wait_until(lambda m=moved: m <= set(live_files(system)), timeout=10, what=f"move {n}")
            rows = db_rows(system)["files"]
            assert {rows[f"{there['hop']}/h.py"]["id"], rows[there["skip"]]["id"]} == set(ids.values()), (n, rows)
            here = there
        after = repair_row(system)
        assert after["checked"] > before["checked"]      # it did look, all the while
        assert after["repaired"] == before["repaired"]   # and took none of the watcher's moves
    finally:
        busctl(system, "StartRepairWorker", "sud", "", "0", "0")  # the configured schedule again
    system.run("rm", "-rf", f"{ROOT}/{here['hop']}", f"{ROOT}/{here['skip']}")
    wait_until(lambda: live_files(system) == disk_hashes(system, ROOT), timeout=10, what="cleanup")


def test_editing_a_gitignore_changes_membership_live(system):
    system.sh(f"mkdir -p {ROOT}/gi && echo 'k = 1' > {ROOT}/gi/keep.py && echo 'd = 1' > {ROOT}/gi/drop.py")
    wait_until(lambda: {"gi/keep.py", "gi/drop.py"} <= set(live_files(system)), timeout=10, what="gi/ indexed")
    system.write_file(f"{ROOT}/gi/.gitignore", "drop.py\n")
    wait_until(lambda: "gi/drop.py" not in live_files(system), timeout=10, what="drop.py to leave the index")
    assert "gi/keep.py" in live_files(system)
    system.run("rm", f"{ROOT}/gi/.gitignore")
    wait_until(lambda: "gi/drop.py" in live_files(system), timeout=10, what="drop.py to come back")
    system.run("rm", "-rf", f"{ROOT}/gi")
    wait_until(lambda: not any(p.startswith("gi/") for p in live_files(system)), timeout=10, what="cleanup")


def test_delete_marks_deleted_keeps_source_and_recreate_revives(system):
    path = f"{ROOT}/pkg/b.py"
    source = system.run("cat", path).stdout
    ident = db_rows(system)["files"]["pkg/b.py"]["id"]
    system.run("rm", path)
    wait_until(lambda: db_rows(system)["files"]["pkg/b.py"]["state"] == "deleted", timeout=10, what="deletion")
    assert search(system, "gamma") == []
    assert json.loads(ctl(system, "--json", "def", "Beta", "-p", PID, check=False).stdout or "[]") == []
    assert ctl(system, "show", PID, "pkg/b.py").stdout == source      # the source is kept
    system.write_file(path, source)
    wait_until(lambda: db_rows(system)["files"]["pkg/b.py"]["state"] == "live", timeout=10, what="revival")
    assert db_rows(system)["files"]["pkg/b.py"]["id"] == ident
    assert search(system, "gamma")[0]["path"] == "pkg/b.py"


def test_reindexing_leaves_identical_rows(system):
    path = f"{ROOT}/pkg/b.py"
    original = system.run("cat", path).stdout
    first = db_rows(system)["derived"]["pkg/b.py"]
    for content in (original + "\n# changed\n", original, original + "\n# changed again\n", original):
        system.write_file(path, content)
        # the row's hash and its derived rows change in one transaction
        wait_until(lambda c=content: db_rows(system)["files"]["pkg/b.py"]["sha256"] == _sha(c), timeout=10,
                   what="the re-index")
    rows = db_rows(system)
    assert rows["derived"]["pkg/b.py"] == first                       # no duplicates, nothing left over
    assert rows["fts_orphans"] == 0 and rows["integrity"] == "ok"


def _sha(text: str) -> str:
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()


BAD_INPUTS = {
    "bad/syntax.py": ("printf 'def broken(:\\n    pass\\n'", "syntax error"),
    "bad/py2.py": ("printf 'print \"hello\"\\n'", "syntax error"),
    "bad/latin.py": ("printf 'x = \"\\377\\376\"\\n'", "cannot decode"),
    "bad/nul.py": ("printf 'x = 1\\000\\ny = 2\\n'", "NUL"),
    "bad/deep.py": (f"{PY} -c \"print('x = ' + '(' * 5000 + ')' * 5000)\"", "nested"),
    "bad/huge.py": (f"{PY} -c \"print('def f%d(): return %d' % (0, 0)); [print('v%d = %d' % (i, i)) "
                    "for i in range(1400000)]\"", "full text only, not parsed"),
}


def test_bad_input_is_listed_and_the_unit_keeps_running(system):
    pid_before = system.show("codeanalysisd-watcher.service", "MainPID")["MainPID"]
    system.run("mkdir", "-p", f"{ROOT}/bad")
    for rel, (make, _) in BAD_INPUTS.items():
        system.sh(f"{make} > {ROOT}/{rel}")
    system.sh(f"echo 'secret_unreadable_token = 1' > {ROOT}/bad/unreadable.py && chmod 000 {ROOT}/bad/unreadable.py")
    system.sh(f"ln -s loop.py {ROOT}/bad/loop.py && ln -s /etc/passwd {ROOT}/bad/escape.py")
    expected = {rel for rel, (_, reason) in BAD_INPUTS.items() if reason} | {
        "bad/unreadable.py", "bad/loop.py", "bad/escape.py"}

    def listed() -> dict[str, str]:
        return {p["path"]: " ".join(p["problems"]) for p in json.loads(ctl(system, "--json", "problems").stdout)}

    wait_until(lambda: expected <= set(listed()), timeout=60, what="every bad file to be listed")
    problems = listed()
    for rel, (_, reason) in BAD_INPUTS.items():
        if reason:
            assert reason in problems[rel], (rel, problems[rel])
    assert "cannot read: Permission denied" in problems["bad/unreadable.py"]
    # a 20 MB file: full text, no parse (that would take ~4 GB), listed with the reason
    size = int(system.run("stat", "-c", "%s", f"{ROOT}/bad/huge.py").stdout)
    assert size > 20 * 1024 * 1024
    assert search(system, "v1399999")[0]["path"] == "bad/huge.py"
    # full text where the bytes decode, even without a syntax tree
    assert search(system, "broken")[0]["path"] == "bad/syntax.py"
    # symbolic links are never followed: not project files, but listed with the reason
    assert "bad/loop.py" not in live_files(system) and "bad/escape.py" not in live_files(system)
    assert problems["bad/loop.py"] == "symbolic link to bad/loop.py, itself a link: not followed"
    assert problems["bad/escape.py"] == "symbolic link to /etc/passwd, outside the project: not followed"
    assert system.show("codeanalysisd-watcher.service", "MainPID")["MainPID"] == pid_before
    assert system.show("codeanalysisd-watcher.service", "NRestarts")["NRestarts"] == "0"
    system.run("rm", "-rf", f"{ROOT}/bad")
    wait_until(lambda: not any(p.startswith("bad/") for p in live_files(system)), timeout=20, what="cleanup")
    wait_until(lambda: not any(p.startswith("bad/") for p in listed()), timeout=20, what="the list to clear")


def test_file_changing_while_being_read_converges(system):
    # a writer appends for a while; whatever the watcher read meanwhile, the end state is exact
    system.sh(f"for i in $(seq 1 400); do echo \"v$i = $i\" >> {ROOT}/pkg/growing.py; done")
    wait_until(lambda: live_files(system).get("pkg/growing.py") == disk_hashes(system, ROOT).get("pkg/growing.py"),
               timeout=15, what="the growing file to converge")


def test_overflow_rescan_converges(system):
    """SIGSTOP the watcher, make > 20,000 changes, SIGCONT: the database ends equal to disk."""
    # the directory must be watched before the flood: files made in a directory created while
    # the watcher is stopped raise no events at all (its creation is one event, then a scan)
    system.sh(f"mkdir -p {ROOT}/flood && echo 'x = 0' > {ROOT}/flood/m0.py")
    wait_until(lambda: "flood/m0.py" in live_files(system), timeout=10, what="the flood directory to be watched")
    pid = system.show("codeanalysisd-watcher.service", "MainPID")["MainPID"]
    system.run("kill", "-STOP", pid)
    try:
        # 9,000 creations (IN_CREATE + IN_CLOSE_WRITE each; the kernel merges the repeated
        # CLOSE_WRITE of the edit), 3,000 deletions, 1,000 renames (2 events each): ~23,000
        # events against a queue of 16,384
        system.sh(f"cd {ROOT}/flood && for i in $(seq 1 9000); do "
                  "echo \"def f_$i(): return $i\" > m$i.py; echo \"# edit\" >> m$i.py; done; "
                  "for i in $(seq 6001 9000); do rm m$i.py; done; "
                  "for i in $(seq 1 1000); do mv m$i.py r$i.py; done", timeout=300)
    finally:
        system.run("kill", "-CONT", pid)
    started = time.monotonic()
    try:
        wait_until(lambda: live_files(system) == disk_hashes(system, ROOT), timeout=120, interval=0.5,
                   what="the index to equal disk after the overflow")
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}\n{difference(system)}") from None
    figure(f"inotify overflow (>20,000 events while stopped): index equal to disk {time.monotonic() - started:.1f} s "
           "after SIGCONT")
    log = system.journal("codeanalysisd-watcher.service", "-o", "cat")
    assert "overflowed; rescanning every project" in log, log[-3000:]
    assert system.show("codeanalysisd-watcher.service", "MainPID")["MainPID"] == pid
    system.run("rm", "-rf", f"{ROOT}/flood")
    wait_until(lambda: live_files(system) == disk_hashes(system, ROOT), timeout=60, interval=0.5, what="cleanup")


def test_a_file_the_repair_worker_indexed_behind_the_watchers_back_is_deleted_when_it_goes(system):
    """The repair worker indexes a file while the watcher is stopped; the file is deleted before the
    watcher runs again. The watcher knew nothing of it, but the owner's IndexRepaired signal makes it
    compare with the index anew, so the deletion it then sees is recorded."""
    path = "pkg/behind.py"
    wait_until(lambda: watcher_counters(system)["pending"] == 0, timeout=30, what="the watcher idle")
    pid = system.show("codeanalysisd-watcher.service", "MainPID")["MainPID"]
    system.run("kill", "-STOP", pid)
    try:
        system.write_file(f"{ROOT}/{path}", "def behind():\n    return 1\n")
        busctl(system, "StartRepairWorker", "sud", PID, "500", "0.2")
        wait_until(lambda: path in live_files(system), timeout=30, what="the repair worker to index behind.py")
        # the repair worker must not be the one that notices the deletion
        system.systemctl("stop", "codeanalysisd-repair.service")
        system.run("rm", f"{ROOT}/{path}")
    finally:
        system.run("kill", "-CONT", pid)
    try:
        wait_until(lambda: path not in live_files(system), timeout=30,
                   what="the watcher to record the deletion of a file the repair worker indexed")
        assert system.show("codeanalysisd-watcher.service", "MainPID")["MainPID"] == pid
    finally:
        system.systemctl("start", "codeanalysisd-repair.service")
        busctl(system, "StartRepairWorker", "sud", "", "0", "0")  # the configured schedule again


def test_concrete_syntax_is_verified_and_differences_are_listed(system):
    system.write_file(f"{ROOT}/pkg/spaced.py", "try:\n    pass\nexcept ValueError :\n    pass\n")
    wait_until(lambda: db_rows(system)["files"].get("pkg/spaced.py", {}).get("syntax"), timeout=30,
               what="spaced.py indexed and verified")
    wait_until(lambda: all(f["syntax"] for p, f in db_rows(system)["files"].items()
                           if f["state"] == "live" and f["parsed"]), timeout=30, what="every file verified")
    rows = db_rows(system)["files"]
    assert rows["pkg/b.py"]["syntax"] == "exact"
    problems = {p["path"]: p["problems"] for p in json.loads(ctl(system, "--json", "problems", "-p", PID).stdout)}
    assert problems["pkg/spaced.py"] == [
        "libcst's concrete syntax tree does not reproduce the file (first difference at line 3)"]
    # the stored bytes are still exact
    assert ctl(system, "show", PID, "pkg/spaced.py").stdout == "try:\n    pass\nexcept ValueError :\n    pass\n"


def test_a_libcst_crash_is_recorded_not_retried(system):
    """After libcst takes a parser unit down on a file, the restarted instance records it and moves on."""
    system.write_file(f"{ROOT}/pkg/victim.py", "def victim():\n    pass\n")
    wait_until(lambda: db_rows(system)["files"].get("pkg/victim.py", {}).get("syntax") == "exact", timeout=30,
               what="victim.py verified")
    sha = db_rows(system)["files"]["pkg/victim.py"]["sha256"]
    system.systemctl("stop", PARSER_1)
    # what an instance leaves behind when the process dies inside libcst
    marker = "/var/lib/codeanalysisd/parser-1/libcst-inflight.json"
    system.run("setpriv", "--reuid=codeanalysis", "--regid=codeanalysis", "--clear-groups", "sh", "-c",
               f"echo '[\"{PID}\", \"pkg/victim.py\", \"{sha}\"]' > {marker}")
    system.systemctl("start", PARSER_1)
    wait_until(lambda: "crashed" in (db_rows(system)["files"]["pkg/victim.py"]["syntax"] or ""), timeout=15,
               what="the crash to be recorded")
    assert system.run("test", "-e", marker, check=False).returncode
    assert "libcst crashed the parser while parsing pkg/victim.py" in system.journal(PARSER_1, "-p", "warning",
                                                                                      "-o", "cat")


PARSER_1 = "codeanalysisd-parser@1.service"
PARSERS_DROPIN = "/etc/codeanalysisd/codeanalysisd.conf.d/50-parsers.conf"
NODES_DROPIN = "/etc/codeanalysisd/codeanalysisd.conf.d/50-syntax-nodes.conf"


def _reload(box, units: list[str]) -> None:
    """``systemctl reload`` each unit, and wait until each says it took the new configuration."""
    def reloads(unit: str) -> int:
        return box.journal(unit, "-o", "cat").count("configuration reloaded")

    before = {unit: reloads(unit) for unit in units}
    box.systemctl("reload", *units)
    wait_until(lambda: all(reloads(unit) > count for unit, count in before.items()), timeout=30,
               what=f"{', '.join(units)} to reload")


def test_a_file_over_max_syntax_nodes_is_passed_over_then_verified_once_the_bound_allows(system):
    """A file whose tree is larger than [Parser] MaxSyntaxNodes= is not given to libcst, and
    says so; when the bound is raised, the DB owner offers it again and it is verified."""
    generated = "".join(f"x{i} = a + b * c\n" for i in range(300))  # 3,901 ast nodes
    units = settled_parser_units(system)
    try:
        system.write_file(NODES_DROPIN, "[Parser]\nMaxSyntaxNodes=1000\n")
        _reload(system, [*units, "codeanalysisd-db.service"])
        passed_before = sum(_passed_over(system, u) for u in units)
        system.write_file(f"{ROOT}/pkg/generated.py", generated)
        system.write_file(f"{ROOT}/pkg/handwritten.py", "def f(a):\n    return a + 1\n")
        wait_until(lambda: all(db_rows(system)["files"].get(p, {}).get("syntax")
                               for p in ("pkg/generated.py", "pkg/handwritten.py")), timeout=60,
                   what="both files verified or passed over")
        rows = db_rows(system)["files"]
        assert rows["pkg/handwritten.py"]["syntax"] == "exact"
        # the count the parser units went by: the watcher's, kept with each file
        assert (rows["pkg/generated.py"]["nodes"], rows["pkg/handwritten.py"]["nodes"]) == (3901, 10)
        problems = {p["path"]: p["problems"] for p in json.loads(ctl(system, "--json", "problems", "-p", PID).stdout)}
        assert problems["pkg/generated.py"] == [
            "not verified: more than 1000 syntax nodes, libcst's tree of it would take several KB each "
            "(see MaxSyntaxNodes= in codeanalysisd.conf)"]
        assert "pkg/handwritten.py" not in problems
        said = "".join(system.journal(unit, "-o", "cat") for unit in units)
        assert "pkg/generated.py not verified: more than [Parser] MaxSyntaxNodes=1000 syntax nodes" in said
        # counted apart, neither verified nor differing, by the unit that passed it over (a
        # unit's count runs for its life: earlier tests' large files may be in it already)
        wait_until(lambda: sum(_passed_over(system, u) for u in units) == passed_before + 1, timeout=30,
                   what="a unit's status to count it")
        system.run("rm", "-f", NODES_DROPIN)
        # the parser units first: the DB owner offers the file again as soon as it reloads
        _reload(system, units)
        _reload(system, ["codeanalysisd-db.service"])
        wait_until(lambda: db_rows(system)["files"]["pkg/generated.py"]["syntax"] == "exact", timeout=60,
                   what="generated.py verified under the default bound")
        assert "1 file(s) passed over for their size offered for verification again" in \
            system.journal("codeanalysisd-db.service", "-o", "cat")
        assert "pkg/generated.py" not in {
            p["path"] for p in json.loads(ctl(system, "--json", "problems", "-p", PID).stdout)}
    finally:
        system.run("rm", "-f", NODES_DROPIN, f"{ROOT}/pkg/generated.py", f"{ROOT}/pkg/handwritten.py")
        system.systemctl("reload", *units, "codeanalysisd-db.service")


def _passed_over(box, unit: str) -> int:
    """The files a parser unit has passed over for their size ("..., M differ, N passed over for
    size"); its status says nothing of them before the first."""
    status = box.show(unit, "StatusText")["StatusText"]
    _, said, count = status.rpartition(" differ, ")
    return int(count.split()[0]) if said and count.endswith(" passed over for size") else 0


def _verified_by(box, unit: str) -> int:
    status = box.show(unit, "StatusText")["StatusText"]  # "...: N file(s) verified, M differ"
    return int(status.split(": ", 1)[1].split()[0]) if ": " in status else 0


def _unverified(box, prefix: str) -> list[str]:
    return [p for p, f in db_rows(box)["files"].items() if p.startswith(prefix) and f["state"] == "live"
            and f["parsed"] and not f["syntax"]]


def _parser_story(box) -> str:
    """What a wait on the parser units saw: each unit's state and status, what the owner said
    of the watcher, and the parser's journal."""
    units = {u: box.show(u, "ActiveState", "StatusText") for u in parser_units(box)}
    status = ctl(box, "status", check=False).stdout
    journal = box.journal(PARSER_1, "-o", "short-monotonic", "-n", "20")
    return f"units: {units}\nstatus:\n{status}\nparser journal:\n{journal}"


def _nothing_pending_verification(box) -> None:
    wait_until(lambda: box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                               "org.codeanalysis1.Manager", "SyntaxPending").stdout.split()[1] == "0",
               timeout=60, what="nothing pending verification")


def _write_modules(box, directory: str, count: int, functions: int, name: str = "f") -> None:
    """``count`` modules of ``functions`` small functions each: a few hundred ms of libcst apiece,
    each its own bytes (a verdict on some bytes holds for every file holding them). The
    functions are ``name`` numbered: a vector is kept once per chunk text, so only a name not
    used before gives chunks to embed."""
    body = "".join(f"def {name}{i}(a, b=1, *c, **d):\n    return [a + b for _ in c if d] or {{{i}: a}}\n\n"
                   for i in range(functions))
    box.sh(f"mkdir -p {directory} && for i in $(seq 1 {count}); do {{ echo \"# module $i\"; cat <<'EOF'\n"
           f"{body}EOF\n}} > {directory}/m$i.py; done")


def test_the_parser_units_follow_the_configuration_and_verify_each_file_once(system):
    """[Parser] Units= instances run (the owner starts and stops them on reload); files are
    shared out between them, each verified by one instance only."""
    _nothing_pending_verification(system)
    system.systemctl("stop", "codeanalysisd-parser@*.service")
    _write_modules(system, f"{ROOT}/shared", 48, 120)
    wait_until(lambda: len(_unverified(system, "shared/")) == 48, timeout=60, what="48 modules indexed")
    try:
        system.write_file(PARSERS_DROPIN, "[Parser]\nUnits=3\n")
        system.systemctl("reload", "codeanalysisd-db.service")
        wait_until(lambda: parser_units(system).get("codeanalysisd-parser@3.service") == "active", timeout=30,
                   what="three parser units")
        wait_until(lambda: not _unverified(system, "shared/"), timeout=120, what="every module verified")
        files = db_rows(system)["files"]
        assert all(files[f"shared/m{i}.py"]["syntax"] == "exact" for i in range(1, 49))
        counts = {u: _verified_by(system, u) for u in (f"codeanalysisd-parser@{n}.service" for n in (1, 2, 3))}
        assert sum(counts.values()) == 48, counts  # each file once
        assert sum(1 for c in counts.values() if c) >= 2, counts  # side by side
        # a copy of a verified file takes its verdict as it is indexed: no unit verifies it
        system.run("cp", f"{ROOT}/shared/m7.py", f"{ROOT}/shared/copy_of_m7.py")
        wait_until(lambda: db_rows(system)["files"].get("shared/copy_of_m7.py", {}).get("syntax") == "exact",
                   timeout=30, what="the copy indexed with its verdict")
        assert {u: _verified_by(system, u) for u in counts} == counts
        system.write_file(PARSERS_DROPIN, "[Parser]\nUnits=1\n")
        system.systemctl("reload", "codeanalysisd-db.service")
        wait_until(lambda: active_parser_units(system) == [PARSER_1],
                   timeout=30, what="instances 2 and 3 stopped")
        # The owner says so once systemd has answered both stop jobs, which can be just after
        # the units show inactive here; then the line still has to reach the journal.
        wait_until(lambda: "stopped codeanalysisd-parser@2.service, codeanalysisd-parser@3.service: [Parser] Units=1"
                   in system.journal("codeanalysisd-db.service", "-o", "cat"),
                   timeout=10, interval=0.2, what="the owner's journal line for the stopped instances")
    finally:
        system.run("rm", "-f", PARSERS_DROPIN)
        system.systemctl("reload", "codeanalysisd-db.service")
        system.run("rm", "-rf", f"{ROOT}/shared")


INTERVAL_DROPIN = "/etc/codeanalysisd/codeanalysisd.conf.d/50-report-interval.conf"


def test_verification_begins_as_soon_as_the_watcher_has_nothing_left_to_index(system):
    """The owner gives the parser units no file while the watcher has a backlog, and tells
    them when it has none left (the Worker signal IndexingSettled): they begin then, not at
    their next look of their own, which with ReportInterval=60 here is a minute away."""
    units = settled_parser_units(system)
    _nothing_pending_verification(system)
    system.write_file(INTERVAL_DROPIN, "[Workers]\nReportInterval=60\n")
    try:
        _reload(system, [*units, "codeanalysisd-db.service", "codeanalysisd-watcher.service"])
        # A unit's wait under way when it reloaded ends within the old interval (5 s); every
        # wait after is a minute long.
        time.sleep(6)
        started = time.monotonic()
        _write_modules(system, f"{ROOT}/settled", 8, 40)
        wait_until(lambda: len([p for p, f in db_rows(system)["files"].items() if p.startswith("settled/")]) == 8,
                   timeout=30, what="the modules indexed")
        indexed = time.monotonic() - started
        try:
            wait_until(lambda: not _unverified(system, "settled/"), timeout=30, interval=0.2,
                       what="the modules verified well before the parser units' next look")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; {_parser_story(system)}") from None
        verified = time.monotonic() - started
        files = db_rows(system)["files"]
        assert all(files[f"settled/m{i}.py"]["syntax"] == "exact" for i in range(1, 9))
        figure(f"with ReportInterval=60: 8 modules indexed {indexed:.1f} s after they were written, "
               f"verified {verified:.1f} s after")
    finally:
        system.run("rm", "-rf", INTERVAL_DROPIN, f"{ROOT}/settled")
        system.systemctl("reload", *units, "codeanalysisd-db.service", "codeanalysisd-watcher.service")


def test_embedding_waits_while_the_parser_units_verify_and_begins_as_they_finish(system):
    """Embedding gives way to verification: the vectorizer takes no chunk while a parser unit
    is verifying, says so, and begins as the last verdict is given (the Worker signal
    VerificationSettled), not at its next look of its own, which with ReportInterval=60 here
    is a minute away."""
    vectorizer = "codeanalysisd-vectorizer.service"
    units = settled_parser_units(system)
    _nothing_pending_verification(system)
    wait_until(lambda: system.show(vectorizer, "StatusText")["StatusText"].startswith("idle"), timeout=120,
               interval=0.2, what="the vectorizer idle")
    system.systemctl("stop", "codeanalysisd-parser@*.service")
    system.write_file(INTERVAL_DROPIN, "[Workers]\nReportInterval=60\n")
    statuses: list[str] = []  # the vectorizer's, as they changed, each read while files were unverified
    try:
        _reload(system, [vectorizer])
        # Held (SIGSTOP, well inside its 30 s watchdog) while the modules are indexed and the
        # parser units begin: with nothing verifying it would embed them at once, rightly.
        system.systemctl("kill", "--signal=SIGSTOP", vectorizer)
        try:
            _write_modules(system, f"{ROOT}/verifying", 96, 360)  # bytes of their own: no verdict to take
            wait_until(lambda: len(_unverified(system, "verifying/")) == 96, timeout=20, interval=0.1,
                       what="96 modules indexed")
            system.systemctl("start", *units)
            wait_until(lambda: len(_unverified(system, "verifying/")) < 96, timeout=20, interval=0.05,
                       what="the first verdicts")
        finally:
            system.systemctl("kill", "--signal=SIGCONT", vectorizer)
        while True:
            status = system.show(vectorizer, "StatusText")["StatusText"]
            left = len(_unverified(system, "verifying/"))
            if not left:
                break
            if not statuses or statuses[-1] != status:
                statuses.append(status)
            time.sleep(0.05)
        verified = time.monotonic()
        assert any(s.startswith("paused: the parser units are verifying") for s in statuses), statuses
        assert not any(s.startswith("embedding:") for s in statuses), statuses
        wait_until(lambda: system.show(vectorizer, "StatusText")["StatusText"].startswith(
            ("embedding:", "idle: every")), timeout=30, interval=0.05,
            what="embedding to begin well before the vectorizer's next look")
        figure(f"embedding began {time.monotonic() - verified:.2f} s after the last of 96 modules was verified "
               f"(ReportInterval=60); the vectorizer's statuses meanwhile: {len(statuses)}")
    finally:
        system.run("rm", "-rf", INTERVAL_DROPIN, f"{ROOT}/verifying")
        system.systemctl("start", *units)
        system.systemctl("reload", vectorizer, *units)  # the parser units started with the drop-in


def _manager_count(box, name: str) -> int:
    return int(box.run("busctl", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                       "org.codeanalysis1.Manager", name).stdout.split()[1])


def test_embedding_takes_nothing_as_the_index_settles_with_files_left_to_verify(system):
    """The signal that the watcher's index settled wakes the vectorizer with the parser
    units, and the vectorizer, asking first, would take a batch beside verification: the
    owner counts verification as begun from then until an instance is handed files. So no
    chunk gets a vector from before the new modules are indexed until they are verified,
    and then embedding begins."""
    vectorizer = "codeanalysisd-vectorizer.service"
    settled_parser_units(system)
    _nothing_pending_verification(system)
    wait_until(lambda: system.show(vectorizer, "StatusText")["StatusText"].startswith("idle"), timeout=120,
               interval=0.2, what="the vectorizer idle")
    # Written aside and moved in: one change for the watcher, so its index settles once.
    # bytes of their own, no verdict to take; chunk texts of their own, no vector to take
    _write_modules(system, "/srv/settling-aside", 96, 280, name="settling_")
    # The count the modules add to is read once the index holds what disk does, every file
    # whole: an earlier test's large modules, still owing the rest of their facts, hold the
    # watcher's look at their removal back, which would then take them off the count.
    def settled() -> bool:
        rows = db_rows(system)["files"]
        live = {p: f["sha256"] for p, f in rows.items() if f["state"] == "live"}
        return live == disk_hashes(system, ROOT) and all(rows[p]["whole"] for p in live)
    wait_until(settled, timeout=60, what="the index to equal disk, every file whole")
    files = _manager_count(system, "FilesIndexed")
    # (ChunksPending, SyntaxPending, FilesIndexed), read in that order: a sample whose
    # SyntaxPending is not 0 read its ChunksPending while files still waited for verification.
    samples: list[tuple[int, int, int]] = []
    try:
        system.run("mv", "/srv/settling-aside", f"{ROOT}/settling")
        deadline = time.monotonic() + 120
        while not samples or samples[-1][1] or samples[-1][2] < files + 96:
            assert time.monotonic() < deadline, \
                f"the modules not indexed and verified within 120 s: {samples[-5:]}\n{difference(system)}"
            samples.append((_manager_count(system, "ChunksPending"), _manager_count(system, "SyntaxPending"),
                            _manager_count(system, "FilesIndexed")))
            time.sleep(0.02)
        assert not _unverified(system, "settling/")
        chunks = [c for c, _, _ in samples]
        drops = [(a, b) for a, b in itertools.pairwise(samples) if b[0] < a[0] and b[1]]
        assert not drops, f"vectors stored while files waited for verification: {drops}"
        assert max(chunks) > 0, samples  # the modules' chunks were there to take
        wait_until(lambda: _manager_count(system, "ChunksPending") < chunks[-1], timeout=30, interval=0.05,
                   what="embedding to begin once the modules were verified")
        figure(f"96 modules moved in, indexed and verified: {len(samples)} samples, ChunksPending rose "
               f"to {max(chunks)} and fell only after the last verdict")
    finally:
        system.run("rm", "-rf", f"{ROOT}/settling", "/srv/settling-aside")


def test_files_a_killed_parser_held_go_to_the_next_at_once(system):
    """An instance killed mid-batch leaves the bus: the owner hands its files out again at
    once, not when the claim lapses (two minutes)."""
    system.systemctl("stop", "codeanalysisd-parser@*.service")
    _write_modules(system, f"{ROOT}/held", 48, 400)
    wait_until(lambda: len(_unverified(system, "held/")) == 48, timeout=60, what="48 modules indexed")
    system.write_file(PARSERS_DROPIN, "[Parser]\nUnits=1\n")
    try:
        started = time.monotonic()
        system.systemctl("reload", "codeanalysisd-db.service")
        # The instance's own count (its status, cheap to read), not the database's: a batch's
        # verdicts land at once, and the next batch is claimed at once, so the kill below comes
        # while the second of three batches is held.
        try:
            wait_until(lambda: _verified_by(system, PARSER_1) >= BATCH, timeout=90, interval=0.05,
                       what="the first batch verified")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}: {len(_unverified(system, 'held/'))} of 48 unverified; "
                               f"{_parser_story(system)}") from None
        first = time.monotonic() - started
        pid = system.show(PARSER_1, "MainPID")["MainPID"]
        system.systemctl("kill", "--signal=SIGKILL", PARSER_1)
        killed = time.monotonic()
        wait_until(lambda: system.show(PARSER_1, "MainPID")["MainPID"] not in ("0", pid), timeout=15,
                   what="the instance restarted by systemd")
        wait_until(lambda: not _unverified(system, "held/"), timeout=60, what="every module verified")
        figure(f"parser killed mid-batch: first verdicts {first:.1f} s after the reload, "
               f"the rest verified {time.monotonic() - killed:.1f} s after the kill (a claim lapses after 120 s)")
        verdicts = [f["syntax"] for p, f in db_rows(system)["files"].items() if p.startswith("held/")]
        # the file libcst was parsing when the process died is recorded as a crash, once
        assert verdicts.count("exact") >= 47 and len(verdicts) == 48, verdicts
    finally:
        system.run("rm", "-f", PARSERS_DROPIN)
        system.systemctl("reload", "codeanalysisd-db.service")
        system.run("rm", "-rf", f"{ROOT}/held")


def test_root_that_disappears_is_reported(system):
    system.sh("mkdir -p /srv/fleeting && echo 'def fleeting(): pass' > /srv/fleeting/f.py")
    ctl(system, "add", "/srv/fleeting")
    wait_until(lambda: "f.py" in live_files(system, "fleeting"), timeout=10, what="indexing")
    system.run("mv", "/srv/fleeting", "/srv/fleeting-away")

    def state() -> str:
        return next(p["state"] for p in json.loads(ctl(system, "--json", "projects").stdout) if p["id"] == "fleeting")

    wait_until(lambda: state() == "missing", timeout=15, what="the project to be reported missing")
    assert "project fleeting is missing" in system.journal("codeanalysisd-db.service", "-p", "warning", "-o", "cat")
    system.run("mv", "/srv/fleeting-away", "/srv/fleeting")
    wait_until(lambda: state() == "active", timeout=15, what="the project to come back")
    assert busctl(system, "ListProjects", "uu", "0", "0").returncode == 0
    ctl(system, "remove", "fleeting")


def test_find_symbol_agrees_with_an_independent_ast_walk(system):
    system.sh(f"rm -rf /srv/stdcopy && mkdir -p /srv/stdcopy && cd $({PY} -c 'import sysconfig; "
              "print(sysconfig.get_paths()[\"stdlib\"])') && cp -r json email /srv/stdcopy/")
    ctl(system, "add", "/srv/stdcopy")
    wait_until(lambda: live_files(system, "stdcopy") == disk_hashes(system, "/srv/stdcopy"), timeout=60,
               what="the copy to be indexed")
    walk = json.loads(system.run(PY, "-c", WALK, "/srv/stdcopy").stdout)
    found = json.loads(ctl(system, "--json", "def", "*", "-p", "stdcopy", "-n", "10000").stdout)
    assert len(found) < 10000
    assert sorted({(d["path"], d["qualname"].rsplit(".", 1)[-1], d["line"]) for d in found}) == \
        sorted({(p, n, ln) for p, n, ln in walk})
    figure(f"FindSymbol vs an independent ast walk over json/ and email/: {len(walk)} definitions, all equal")
    ctl(system, "remove", "stdcopy")


WALK = """
import ast, json, os, sys
root = sys.argv[1]
out = []
for dirpath, dirs, files in os.walk(root):
    dirs[:] = [d for d in dirs if d != "__pycache__"]
    for f in files:
        if f.endswith(".py"):
            full = os.path.join(dirpath, f)
            tree = ast.parse(open(full, "rb").read())
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    out.append((os.path.relpath(full, root), node.name, node.lineno))
print(json.dumps(out))
"""

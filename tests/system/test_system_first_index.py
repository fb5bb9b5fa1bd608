"""A project's first index under a real system manager: every file is searchable before the
rest of any file's facts is written, of every project scanned together; the repair worker
leaves it to the watcher and repairs only what the watcher missed, saying per batch what it
did; and
`codeanalysisctl add` waits for it with progress to watch (piped, on a terminal through
script(1)), or not (--no-block), and Ctrl-C ends the waiting but not the indexing.

The projects are copies of parts of the standard library (a few hundred files each).
"""

from __future__ import annotations

import base64
import json
import re
import signal
import time

import pytest
from conftest import figure
from helpers import busctl, copy_stdlib, ctl, start_suite
from sandbox.box import wait_until

# of Debian's python3.11: about 370 and 110 files
BIG = ("encodings", "lib2to3", "asyncio", "email", "multiprocessing", "importlib", "xml", "unittest", "test")
SMALL = ("asyncio", "email", "xml", "json", "http", "concurrent", "urllib", "logging")
REPAIR_UNIT = "codeanalysisd-repair.service"
BATCH_LINE = re.compile(r"^(?P<project>[\w.-]+): checked (?P<checked>\d+), repaired (?P<repaired>\d+), "
                        r"skipped (?P<skipped>\d+) \(the watcher has them\)$")
ROOTS = ("/srv/first-big", "/srv/first-piped", "/srv/first-tty", "/srv/first-noblock", "/srv/first-sigint",
         "/srv/first-killed", "/srv/first-embed", "/srv/first-shown", "/srv/first-pair-a", "/srv/first-pair-b",
         "/srv/first-phases")
# The last file of a project in the order the watcher indexes (its paths sorted): its
# definition, and a name read in it (bound after) that nothing else in the project holds.
LAST = ("zzz_last.py", "def first_index_last_definition():\n    return first_index_last_name\n\n\n"
                       "first_index_last_name = 1\n")


def on_disk(system, root: str) -> int:
    return int(system.sh(f"find {root} -name '*.py' | wc -l").stdout)


def progress(system, project: str) -> dict:
    r = busctl(system, "--json=short", "IndexProgress", "s", project)
    ((pid, phase, done, total, indexed, why),) = json.loads(r.stdout)["data"][0]
    return {"project": pid, "phase": phase, "done": done, "total": total, "indexed": indexed, "why": why}


def fresh(system, project: str) -> bool:
    (row,) = json.loads(busctl(system, "--json=short", "IndexStatus", "s", project).stdout)["data"][0]
    return row[4] is False


def now_us(system) -> int:
    """The box's clock, in the journal's unit (microseconds since the epoch)."""
    return int(system.run("date", "+%s%6N").stdout)


def repair_lines(system, since_us: int) -> list[str]:
    """The repair worker's journal lines since then. (journalctl -u with --after-cursor leaves
    entries out here, as with -p: the entries are filtered by hand.)"""
    entries = [json.loads(line) for line in system.journal(REPAIR_UNIT, "-o", "json").splitlines() if line.strip()]
    return [e["MESSAGE"] for e in entries
            if int(e["__REALTIME_TIMESTAMP"]) > since_us and e.get("_COMM") != "systemd" and e.get("MESSAGE")]


def batches(lines: list[str], project: str) -> list[dict[str, int]]:
    out = []
    for line in lines:
        m = BATCH_LINE.match(line)
        if m and m["project"] == project:
            out.append({k: int(m[k]) for k in ("checked", "repaired", "skipped")})
    return out


def per_file_lines(lines: list[str]) -> list[str]:
    """Lines naming one file's repair (`index pkg/mod.py`, as the worker once logged)."""
    return [line for line in lines if re.match(r"^(index|reindex|revive|touch|preserve|mark-deleted) \S+\.py$", line)]


def worker_row(system, project: str) -> dict:
    """The repair worker's row for the project: files checked and repaired since it started."""
    rows = json.loads(ctl(system, "--json", "worker", "status", "repair").stdout)["projects"]
    return next(r for r in rows if r["project"] == project)


@pytest.fixture(scope="module", autouse=True)
def world(system):
    start_suite(system)
    for root in ROOTS:
        copy_stdlib(system, root, BIG if root in ("/srv/first-big", "/srv/first-noblock", "/srv/first-sigint",
                                                  "/srv/first-killed", "/srv/first-embed", "/srv/first-shown",
                                                  "/srv/first-phases")
                    else SMALL)
    yield
    busctl(system, "StartRepairWorker", "sud", "", "0", "0")  # the configured schedule again
    ctl(system, "worker", "start", "watcher", check=False)
    for root in ROOTS:
        ctl(system, "remove", root, check=False)
    system.sh(f"rm -rf {' '.join(ROOTS)}")


def test_the_repair_worker_leaves_a_first_index_to_the_watcher_and_repairs_what_it_missed(system):
    root, pid = "/srv/first-big", "first-big"
    files = on_disk(system, root)
    assert files >= 300, files
    # The repair worker at a short interval over every project: the new one joins its cycle at
    # the front, so it meets it at once, whatever other projects the box holds.
    busctl(system, "StartRepairWorker", "sud", "", "50", "0.2")
    cursor = now_us(system)
    started = time.monotonic()
    r = ctl(system, "add", root)  # waits until the project is indexed
    took = time.monotonic() - started
    assert progress(system, pid)["phase"] == "ready" and progress(system, pid)["indexed"] == files
    # Once the watcher's work is done the repair worker checks the project, in this cycle or
    # the next: after the other projects in the box, which this cycle holds too.
    wait_until(lambda: worker_row(system, pid)["checked"] > 0, timeout=120, interval=0.5,
               what="the repair worker checking the project after its first index")
    lines = repair_lines(system, cursor)
    seen = batches(lines, pid)
    skipped = sum(b["skipped"] for b in seen)
    figure(f"first index of {files} files with the repair worker at 50 files / 0.2 s: {took:.1f} s; "
           f"repair worker: {len(seen)} batch line(s), {sum(b['checked'] for b in seen)} checked, "
           f"{skipped} skipped while the watcher had them, {sum(b['repaired'] for b in seen)} repaired")
    assert r.stderr.strip().splitlines()[-1].startswith(f"{pid}: indexed, {files} file(s)"), r.stderr
    # The repair worker met the project while the watcher indexed it, left it, and repaired none of it.
    assert skipped > 0, lines[-20:]
    assert all(b["repaired"] == 0 for b in seen), seen
    # it checked the project once the watcher was done (quiet batches are logged at debug level only)
    row = worker_row(system, pid)
    assert row["checked"] > 0 and row["repaired"] == 0, row
    versions = json.loads(busctl(system, "--json=short", "ListVersions", "ss", pid, "lib2to3/main.py").stdout)
    assert [v[4] for v in versions["data"][0]] == ["added"]
    assert not per_file_lines(lines), per_file_lines(lines)

    # Drift the watcher misses: a change while it is stopped. The repair worker repairs it.
    ctl(system, "worker", "stop", "watcher")
    cursor = now_us(system)
    system.sh(f"echo 'first_index_drift_marker = 1' >> {root}/lib2to3/main.py && "
              f"echo 'first_index_drift_marker = 2' > {root}/drifted_new.py")

    def repaired() -> set[str]:
        r = ctl(system, "--json", "search", "-p", pid, "first_index_drift_marker", check=False)
        return {hit["path"] for hit in json.loads(r.stdout or "[]")}

    wait_until(lambda: repaired() == {"lib2to3/main.py", "drifted_new.py"}, timeout=30, interval=0.2,
               what="the drift repaired by the repair worker")
    deadline = time.monotonic() + 10
    while True:
        lines = repair_lines(system, cursor)
        if sum(b["repaired"] for b in batches(lines, pid)) >= 2:
            break
        assert time.monotonic() < deadline, ("the repairs not in the journal", lines,
                                             system.journal(REPAIR_UNIT, "-n", "40", "-o", "short-precise"))
        time.sleep(0.2)
    seen = batches(lines, pid)
    assert sum(b["repaired"] for b in seen) == 2 and all(b["skipped"] == 0 for b in seen), seen
    assert not per_file_lines(lines), per_file_lines(lines)
    assert all(BATCH_LINE.match(line) for line in lines), lines  # nothing but per-batch lines
    versions = json.loads(busctl(system, "--json=short", "ListVersions", "ss", pid, "lib2to3/main.py").stdout)
    assert [v[4] for v in versions["data"][0]] == ["added", "repaired"]
    assert worker_row(system, pid)["repaired"] >= 2  # actions: a re-index may also keep the old content

    # The watcher back: its reconcile scan finds nothing left to do.
    ctl(system, "worker", "start", "watcher")
    wait_until(lambda: fresh(system, pid), timeout=30, what="the project fresh again")


def test_a_new_project_is_searchable_before_the_rest_of_its_facts_is_written(system):
    """A first index shows every file (its definitions and text) before it writes the rest of
    any one's facts (names, imports, chunks): once every file is in the index, the last file
    is found by FindSymbol and Search while its names are still to come, and the project is
    not said to be indexed until they are."""
    root, pid = "/srv/first-shown", "first-shown"
    name, text = LAST
    system.write_file(f"{root}/{name}", text)
    # after it, the very last: deleted while its rest is still to come
    gone = "zzz_zgone.py"
    system.write_file(f"{root}/{gone}", "def first_index_gone_definition():\n    pass\n")
    files = on_disk(system, root)
    watcher = "codeanalysisd-watcher.service"
    ctl(system, "add", "--no-block", root)
    at = wait_until(lambda: (now if (now := progress(system, pid))["indexed"] == files or now["phase"] == "ready"
                             else None), timeout=120, interval=0.02, what="every file of the project in the index")
    assert at["phase"] != "ready", f"the index was over before every file was in it: {at}"
    # Held (well inside the 15 s its reports are believed) while the index is looked at.
    system.systemctl("kill", "--signal=SIGSTOP", watcher)
    try:
        symbols = json.loads(ctl(system, "--json", "def", "first_index_last_definition", "-p", pid).stdout)
        hits = json.loads(ctl(system, "--json", "search", "-p", pid, "first_index_last_name").stdout)
        refs = json.loads(ctl(system, "--json", "refs", "first_index_last_name", "-p", pid, check=False).stdout)
        held = progress(system, pid)
        shown_gone = json.loads(ctl(system, "--json", "def", "first_index_gone_definition", "-p", pid).stdout)
        system.run("rm", f"{root}/{gone}")
    finally:
        system.systemctl("kill", "--signal=SIGCONT", watcher)
    assert [s["path"] for s in shown_gone] == [gone], shown_gone
    assert [(s["path"], s["line"]) for s in symbols] == [(name, 1)], symbols
    assert {h["path"] for h in hits} == {name}, hits
    # (the watcher's last report may be from the end of the showing)
    assert held["phase"] in ("showing", "indexing") and not fresh(system, pid), held
    assert refs == [], refs  # the rest of the last file's facts comes last
    wait_until(lambda: progress(system, pid)["phase"] == "ready", timeout=120, interval=0.1,
               what="the project indexed whole")
    refs = json.loads(ctl(system, "--json", "refs", "first_index_last_name", "-p", pid).stdout)
    assert [(r["path"], r["line"]) for r in refs] == [(name, 2)], refs
    # the file deleted before its rest came is deleted in the index, not left live
    left = ctl(system, "--json", "def", "first_index_gone_definition", "-p", pid, check=False).stdout
    assert json.loads(left or "[]") == [], left
    assert progress(system, pid)["indexed"] == files - 1
    figure(f"first index of {files} files: every file searchable with the project {held['phase']} "
           f"({held['done']}/{held['total']} as the watcher last reported)")


def test_projects_scanned_together_are_all_searchable_before_any_is_indexed_whole(system):
    """Two projects added while the watcher is stopped are scanned together when it starts:
    every file of both is shown before the rest of either's facts is written. (The repair
    worker is stopped with it: a stopped watcher's drift is the repair worker's, which
    would index the projects whole meanwhile.)"""
    pair = {"/srv/first-pair-a": "first-pair-a", "/srv/first-pair-b": "first-pair-b"}
    name, text = LAST
    ctl(system, "worker", "stop", "repair")
    ctl(system, "worker", "stop", "watcher")
    try:
        for root in pair:
            system.write_file(f"{root}/{name}", text)
            ctl(system, "add", "--no-block", root)
    finally:
        ctl(system, "worker", "start", "watcher")
        ctl(system, "worker", "start", "repair")
    files = {pid: on_disk(system, root) for root, pid in pair.items()}

    def all_in() -> dict | None:
        now = {pid: progress(system, pid) for pid in pair.values()}
        done = all(now[pid]["indexed"] == files[pid] for pid in now) or any(p["phase"] == "ready" for p in now.values())
        return now if done else None

    at = wait_until(all_in, timeout=120, interval=0.02, what="every file of both projects in the index")
    assert all(p["phase"] != "ready" for p in at.values()), f"a project was indexed whole before both were in: {at}"
    system.systemctl("kill", "--signal=SIGSTOP", "codeanalysisd-watcher.service")
    try:
        found = {pid: json.loads(ctl(system, "--json", "def", "first_index_last_definition", "-p", pid).stdout)
                 for pid in pair.values()}
        refs = {pid: json.loads(ctl(system, "--json", "refs", "first_index_last_name", "-p", pid,
                                    check=False).stdout) for pid in pair.values()}
    finally:
        system.systemctl("kill", "--signal=SIGCONT", "codeanalysisd-watcher.service")
    assert {pid: [s["path"] for s in rows] for pid, rows in found.items()} == {pid: [name] for pid in pair.values()}
    assert refs == {pid: [] for pid in pair.values()}, refs
    for pid in pair.values():
        wait_until(lambda pid=pid: progress(system, pid)["phase"] == "ready", timeout=120, interval=0.1,
                   what=f"{pid} indexed whole")
        refs[pid] = json.loads(ctl(system, "--json", "refs", "first_index_last_name", "-p", pid).stdout)
    assert {pid: [r["line"] for r in rows] for pid, rows in refs.items()} == {pid: [2] for pid in pair.values()}


def test_embedding_waits_until_the_watcher_has_indexed_the_files(system):
    """The vectorizer takes no chunk while the watcher has files to index (it would take CPU
    and turns of the owner's write thread from the first index), says so in its status, and
    embeds the project once the watcher is done."""
    root, pid = "/srv/first-embed", "first-embed"
    vectorizer, watcher = "codeanalysisd-vectorizer.service", "codeanalysisd-watcher.service"
    statuses: list[str] = []  # as they changed

    def sample() -> str:
        status = system.show(vectorizer, "StatusText")["StatusText"]
        if not statuses or statuses[-1] != status:
            statuses.append(status)
        return status

    # The vectorizer looks between batches, and a batch it began before the add (rightly: the
    # watcher had nothing to index then, as when the last test's index ended) may outlast the
    # whole index, its status unchanged meanwhile. So it is stopped before the add and started
    # once the watcher has written the project's first files (their chunks are then pending),
    # the watcher held (SIGSTOP, well inside the 30 s its reports are believed) until the
    # vectorizer has looked: every status it shows is from after the add.
    system.systemctl("stop", vectorizer)
    try:
        ctl(system, "add", "--no-block", root)

        def begun() -> dict | None:
            now = progress(system, pid)
            return now if now["phase"] == "ready" or now["done"] > 0 else None

        first = wait_until(begun, timeout=60, interval=0.02, what="the watcher to write the project's first files")
        assert first["phase"] != "ready", f"the index was over before the test could hold it: {first}"
        system.systemctl("kill", "--signal=SIGSTOP", watcher)
        try:
            system.systemctl("start", vectorizer)
            wait_until(lambda: sample().startswith("paused: the watcher is indexing"), timeout=20, interval=0.05,
                       what="the vectorizer to pause for the project the watcher has")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; its statuses: {statuses}") from None
        finally:
            system.systemctl("kill", "--signal=SIGCONT", watcher)
    finally:
        system.systemctl("start", vectorizer)
    # A status counts as read while the watcher indexed only if a phase read after it was not
    # yet "ready": read the other way round, the status could be from just after the end.
    during: list[str] = []
    while True:
        status = sample()
        if progress(system, pid)["phase"] == "ready":
            break
        during.append(status)
        time.sleep(0.05)
    assert during, f"the index ended before the vectorizer's status could be read during it: {statuses}"
    assert not any(t.startswith("embedding:") for t in during), statuses
    # then it embeds the project's chunks
    wait_until(lambda: system.show(vectorizer, "StatusText")["StatusText"].startswith(("embedding:", "idle")),
               timeout=60, interval=0.1, what="the vectorizer embedding after the index")
    wait_until(lambda: busctl(system, "--json=short", "SemanticSearch", "ssu", "parse an email message", pid,
                              "3").stdout.count(pid) > 0, timeout=300, interval=1, what="the project embedded")


def test_a_first_index_converges_when_the_watcher_is_killed_mid_way(system):
    """kill -9 of the watcher while it indexes a new project, the repair worker running at a
    short interval: systemd restarts the watcher, and the index ends equal to disk, which a
    repair dry run confirms; the history has one version of a file."""
    root, pid = "/srv/first-killed", "first-killed"
    files = on_disk(system, root)
    watcher = "codeanalysisd-watcher.service"
    busctl(system, "StartRepairWorker", "sud", "", "50", "0.2")
    try:
        ctl(system, "add", "--no-block", root)
        wait_until(lambda: progress(system, pid)["indexed"] >= 30, timeout=60, interval=0.02,
                   what="the watcher part of the way through")
        at_kill = progress(system, pid)
        assert at_kill["phase"] != "ready", at_kill  # mid-way: the kill is not after the end
        before = system.show(watcher, "MainPID", "NRestarts")
        system.run("kill", "-9", before["MainPID"])
        wait_until(lambda: system.show(watcher, "NRestarts")["NRestarts"] != before["NRestarts"], timeout=30,
                   what="systemd to restart the watcher")
        wait_until(lambda: progress(system, pid)["phase"] == "ready", timeout=120, interval=0.2,
                   what="the project indexed after the kill")
        assert progress(system, pid)["indexed"] == files
        dry = json.loads(ctl(system, "--json", "repair", pid, "--dry-run").stdout)
        assert dry["actions"] == [], dry["actions"][:10]
        assert json.loads(ctl(system, "--json", "check").stdout)["ok"]
        # one version of a file whatever indexed it (the watcher, or the repair worker while it was down)
        versions = json.loads(busctl(system, "--json=short", "ListVersions", "ss", pid, "email/parser.py").stdout)
        assert len(versions["data"][0]) == 1, versions
        figure(f"watcher killed at {at_kill['indexed']} of {files} files of a first index: converged, "
               "repair dry run empty")
    finally:
        busctl(system, "StartRepairWorker", "sud", "", "0", "0")
        # a manual start, as an admin's after a crash: NRestarts counts from 0 again, as later tests expect
        ctl(system, "worker", "stop", "watcher")
        ctl(system, "worker", "start", "watcher")
        wait_until(lambda: system.show(watcher, "SubState")["SubState"] == "running", timeout=20,
                   what="the watcher running")
        assert system.show(watcher, "NRestarts")["NRestarts"] == "0"


def test_add_piped_waits_until_the_files_are_searchable_printing_progress_lines(system):
    root, pid = "/srv/first-piped", "first-piped"
    files = on_disk(system, root)
    r = ctl(system, "add", root)
    # right after it returns: every file searchable, the index fresh
    assert r.stdout.strip() == f"added project {pid} ({root})"
    projects = {p["id"]: p for p in json.loads(ctl(system, "--json", "projects").stdout)}
    assert projects[pid]["files"] == files and fresh(system, pid)
    hits = json.loads(ctl(system, "--json", "def", "BaseEventLoop", "-p", pid).stdout)
    assert [h["path"] for h in hits] == ["asyncio/base_events.py"]
    lines = r.stderr.strip().splitlines()
    assert "\r" not in r.stderr  # not a terminal: plain lines, no bar redrawn
    assert any(re.match(rf"^{pid}: (waiting|scanning|making searchable|indexing)", line) for line in lines), lines
    assert re.match(rf"^{pid}: indexed, {files} file\(s\) in [\d.]+ s$", lines[-1]), lines
    figure(f"add, piped, of {files} files: {len(lines)} progress line(s); {lines[-1]}")


def test_add_on_a_terminal_draws_a_bar_in_place(system):
    root, pid = "/srv/first-tty", "first-tty"
    files = on_disk(system, root)
    # script(1) gives it a terminal and keeps what was written to it, carriage returns and all
    system.run("script", "-qefc", f"codeanalysisctl add {root}", "/tmp/first-tty.typescript")
    out = base64.b64decode(system.run("base64", "-w0", "/tmp/first-tty.typescript").stdout).decode()
    assert f"added project {pid} ({root})" in out
    redrawn = re.findall(r"\r(?!\n)([^\r\n]*)", out)  # a return not ending a line: a frame drawn over the last
    assert any(f.startswith(f"{pid}: ") for f in redrawn), repr(out)
    bars = [f for f in redrawn if re.match(rf"{pid}: indexing \[[#-]{{24}}\] \d+/{files} files", f)]
    assert bars, repr(out)
    assert re.search(rf"{pid}: indexed, {files} file\(s\) in [\d.]+ s\r?\n", out), repr(out)
    figure(f"add, on a terminal, of {files} files: {len(redrawn)} frame(s) drawn in place, {len(bars)} with a bar")
    assert fresh(system, pid)


def test_progress_counts_the_files_made_searchable_then_those_indexed_whole(system):
    """A new project's files are shown (made searchable) before the rest of their facts is
    written, and progress counts both: IndexProgress's phase ``showing`` with the files shown
    of all, then ``indexing`` with the files written whole; ``add``, ``status`` and the
    watcher's status line say which. The watcher is held to a tenth of a core while it shows
    (a unit's CPUQuota=, as an admin would set it), so that the phase lasts long enough to be
    looked at."""
    root, pid = "/srv/first-phases", "first-phases"
    watcher = "codeanalysisd-watcher.service"
    files = on_disk(system, root)
    system.systemctl("set-property", "--runtime", watcher, "CPUQuota=10%")
    try:
        # add, waiting, as a user runs it with its output to a file (not a terminal: plain lines)
        system.run("systemd-run", "--unit=first-phases-add", "--property=StandardOutput=file:/tmp/first-phases.out",
                   "--property=StandardError=file:/tmp/first-phases.err", "codeanalysisctl", "add", root)

        def shown_some() -> dict | None:
            if busctl(system, "IndexProgress", "s", pid, check=False).returncode:
                return None  # add has not registered it yet
            now = progress(system, pid)
            return now if (now["phase"] == "showing" and now["done"] > 0) or now["phase"] == "ready" else None

        showing = wait_until(shown_some, timeout=120, interval=0.05, what="files of the project shown")
        status = ctl(system, "status").stdout
        line = system.show(watcher, "StatusText")["StatusText"]
    finally:
        system.systemctl("set-property", "--runtime", watcher, "CPUQuota=")
    assert showing["phase"] == "showing" and 0 < showing["done"] < showing["total"] == files, showing
    assert showing["indexed"] >= showing["done"], showing  # what is counted shown is in the index
    assert re.search(rf"^   {pid}: making searchable \[[#-]{{24}}\] \d+/{files} files", status, re.M), status
    assert re.match(rf"showing {pid}: \d+ of {files} file\(s\) searchable", line), line
    wait_until(lambda: system.show("first-phases-add.service", "ActiveState")["ActiveState"] in ("inactive", "failed"),
               timeout=120, interval=0.2, what="add to return once the project is indexed")
    assert system.show("first-phases-add.service", "Result")["Result"] == "success"
    lines = system.run("cat", "/tmp/first-phases.err").stdout.strip().splitlines()
    # a plain line at each new phase: the files made searchable, then those indexed whole
    searchable = [i for i, text in enumerate(lines) if re.match(rf"^{pid}: making searchable \d+/{files} files", text)]
    whole = [i for i, text in enumerate(lines) if re.match(rf"^{pid}: indexing \d+/{files} files", text)]
    assert searchable and whole and searchable[0] < whole[0], lines
    assert re.match(rf"^{pid}: indexed, {files} file\(s\) in [\d.]+ s$", lines[-1]), lines
    assert progress(system, pid)["indexed"] == files
    figure(f"add of {files} files, the watcher at CPUQuota=10% while showing: seen showing at "
           f"{showing['done']}/{showing['total']} ({showing['indexed']} in the index); {len(lines)} progress line(s)")


def test_add_no_block_returns_before_the_index_and_status_shows_progress(system):
    root, pid = "/srv/first-noblock", "first-noblock"
    files = on_disk(system, root)
    started = time.monotonic()
    r = ctl(system, "--json", "add", "--no-block", root)
    took = time.monotonic() - started
    assert json.loads(r.stdout) == {"id": pid, "root": root}
    first = progress(system, pid)
    assert first["phase"] in ("waiting", "scanning", "showing", "indexing") and first["indexed"] < files, first
    status = ctl(system, "status").stdout
    working = re.search(rf"^   {pid}: (waiting|scanning|making searchable|indexing)", status, re.M)
    assert working or fresh(system, pid), status
    wait_until(lambda: progress(system, pid)["phase"] == "ready", timeout=120, interval=0.2,
               what="the project indexed")
    assert progress(system, pid)["indexed"] == files
    assert f"   {pid}: " not in ctl(system, "status").stdout  # nothing to show once it is indexed
    figure(f"add --no-block of {files} files returned in {took:.2f} s, at phase {first['phase']}")


def test_ctrl_c_stops_the_waiting_not_the_indexing(system):
    root, pid = "/srv/first-sigint", "first-sigint"
    files = on_disk(system, root)
    # SIGINT one second in, as Ctrl-C would send it; timeout(1) passes the command's own status on
    r = system.run("timeout", "--preserve-status", "-s", "INT", "1", "codeanalysisctl", "add", root, check=False)
    assert r.returncode == 128 + signal.SIGINT, (r.returncode, r.stderr)
    assert f"stopped waiting; {pid} is still being indexed" in r.stderr, r.stderr
    assert progress(system, pid)["phase"] != "ready"  # it was stopped before the end...
    wait_until(lambda: progress(system, pid)["phase"] == "ready", timeout=120, interval=0.2,
               what="the project indexed all the same")
    assert progress(system, pid)["indexed"] == files

"""History and repair under a real system manager, on a copy of part of the standard library.

Files are deleted and changed while the watcher is stopped, rows are put into each repair
case by hand (with the DB owner stopped), and the suite is then driven only through
systemctl, codeanalysisctl and the bus.
"""

from __future__ import annotations

import hashlib
import json
import math
import time

import pytest
from conftest import SRC, figure
from helpers import SERVICES, copy_stdlib, ctl, journal_cursor, settled_parser_units, start_suite, stop_suite
from sandbox.box import wait_until

PY = "/usr/lib/codeanalysisd/bin/python"
ROOT = "/srv/repair-tree"
PID = "repair-tree"
PACKAGES = ("asyncio", "email", "json", "importlib", "concurrent", "xml", "unittest", "http", "urllib",
            "multiprocessing", "ctypes", "wsgiref", "tomllib", "zoneinfo", "sqlite3", "dbm", "html", "xmlrpc",
            "lib2to3", "logging", "re", "collections", "curses", "encodings")
WORKERS = ("codeanalysisd-watcher.service", "codeanalysisd-vectorizer.service", "codeanalysisd-repair.service")


def disk_hashes(box) -> dict[str, str]:
    return json.loads(box.run(PY, f"{SRC}/tests/support/dbcheck.py", "disk", ROOT).stdout)


def live_files(box) -> dict[str, str]:
    """Live files indexed whole (a file shown ahead of the rest of its facts is not yet)."""
    rows = json.loads(box.run(PY, f"{SRC}/tests/support/dbcheck.py", "files", PID).stdout)["files"]
    return {p: f["sha256"] for p, f in rows.items() if f["state"] == "live" and f["whole"]}


def rows(box) -> dict[str, dict]:
    return json.loads(box.run(PY, f"{SRC}/tests/support/dbcheck.py", "files", PID).stdout)["files"]


def dump(box) -> dict:
    return json.loads(box.run(PY, f"{SRC}/tests/support/dbedit.py", "dump", PID).stdout)


def edit(box, cmd: str, paths: list[str]) -> None:
    box.run(PY, f"{SRC}/tests/support/dbedit.py", cmd, PID, *paths)


def unit_states(box) -> dict[str, tuple[str, str, str]]:
    out = {}
    for unit in SERVICES:
        s = box.show(unit, "ActiveState", "SubState", "MainPID")
        out[unit] = (s["ActiveState"], s["SubState"], s["MainPID"])
    return out


def converged(box) -> bool:
    return live_files(box) == disk_hashes(box)


def repair(box, *flags: str, check: bool = True) -> dict:
    r = ctl(box, "--json", "repair", PID, *flags, check=check)
    return json.loads(r.stdout)


@pytest.fixture(scope="module", autouse=True)
def tree(system):
    start_suite(system)
    copy_stdlib(system, ROOT, PACKAGES)
    # root's tree, 0755: the service reads it and may write nothing in it; restores are
    # written by codeanalysisctl, as root here
    ctl(system, "add", ROOT)
    wait_until(lambda: converged(system), timeout=60, interval=0.2, what="the tree to be indexed")
    yield
    ctl(system, "remove", PID, check=False)


def test_dry_run_changes_nothing_and_repair_restores_every_case(system):
    files = sorted(disk_hashes(system))
    assert len(files) >= 250, len(files)
    # deleted while watched: the history records the deletion (for the 'only in the history' case)
    watched_deletions = files[-5:]
    system.run("rm", *[f"{ROOT}/{p}" for p in watched_deletions])
    wait_until(lambda: not set(watched_deletions) & set(live_files(system)), timeout=10, what="deletions seen")

    system.systemctl("stop", "codeanalysisd-watcher.service", "codeanalysisd-repair.service")
    deleted, changed = files[0:100:2], files[1:100:2]  # 50 and 50
    originals = disk_hashes(system)
    system.run("rm", *[f"{ROOT}/{p}" for p in deleted])
    system.sh(" && ".join(f"echo '# changed by the test' >> {ROOT}/{p}" for p in changed))
    on_disk_cases = files[100:130]
    revive, stale, unindexed, unpreserved = (on_disk_cases[0:5], on_disk_cases[5:10], on_disk_cases[10:15],
                                             on_disk_cases[15:20])
    lost = deleted[:5]  # gone from disk and, by hand, from the history too

    system.systemctl("stop", "codeanalysisd-db.service")
    wait_until(lambda: system.show("codeanalysisd-db.service", "ActiveState")["ActiveState"] == "inactive",
               what="the owner to stop")
    edit(system, "revive-case", revive)
    edit(system, "stale-case", stale)
    edit(system, "drop-row", unindexed + watched_deletions)
    edit(system, "drop-history", unpreserved + lost)
    system.systemctl("start", "codeanalysisd-db.service", "codeanalysisd-vectorizer.service")
    wait_until(lambda: unit_states(system)["codeanalysisd-vectorizer.service"][1] == "running", what="vectorizer")

    # A parser unit's verdict (a file's syntax column) landing between the two snapshots would
    # be a change the dry run did not make: they wait meanwhile.
    parsers = settled_parser_units(system)
    assert parsers, "the owner runs parser units"
    system.systemctl("stop", *parsers)
    try:
        before_db, before_tree, before_units = dump(system), disk_hashes(system), unit_states(system)
        dry = repair(system, "--dry-run", "--restore-missing")
        assert dump(system) == before_db
        assert disk_hashes(system) == before_tree
        assert unit_states(system) == before_units
    finally:
        system.systemctl("start", *parsers)
    assert dry["stopped"] == [] and dry["dry_run"] is True
    planned = {(a["path"], a["action"]) for a in dry["actions"]}
    expected = ({(p, "revive") for p in revive} | {(p, "reindex") for p in stale + changed}
                | {(p, "index") for p in unindexed} | {(p, "preserve") for p in unpreserved + lost}
                | {(p, "restore") for p in deleted} | {(p, "add-deleted") for p in watched_deletions})
    assert planned == expected
    cases = {a["path"]: a["case"] for a in dry["actions"]}
    assert {cases[p] for p in lost} == {"lost"} and {cases[p] for p in deleted[5:]} == {"in-history"}
    assert {cases[p] for p in revive + stale + changed + unindexed} == {"on-disk"}

    started = time.monotonic()
    done = repair(system, "--restore-missing")
    figure(f"repair --restore-missing of {done['checked']} files, {len(done['actions'])} actions: "
           f"{done['seconds']:.2f} s in the owner, {time.monotonic() - started:.2f} s through the CLI")
    assert done["failed"] == ""
    assert {(a["path"], a["action"]) for a in done["actions"]} == expected
    assert done["stopped"] == done["restarted"] == ["codeanalysisd-vectorizer.service"]
    # the owner listed the missing files; codeanalysisctl wrote each back afterwards
    assert sorted(r["path"] for r in done["restored"]) == sorted(deleted)
    assert all(r["written"] and r["error"] == "" for r in done["restored"]), done["restored"]
    after = disk_hashes(system)
    assert {p: after.get(p) for p in deleted} == {p: originals[p] for p in deleted}  # byte for byte
    # written with the mode the files had (0644 under root's umask 022), recorded as restored
    modes = system.sh(f"cd {ROOT} && stat -c '%a %U' {' '.join(deleted)} | sort -u").stdout.split("\n")
    assert [m for m in modes if m] == ["644 root"], modes
    for p in deleted[:3] + lost[:2]:
        assert json.loads(ctl(system, "--json", "history", PID, p).stdout)[-1]["reason"] == "restored"
    assert converged(system)
    states = {u: s[1] for u, s in unit_states(system).items()}
    assert states == {"codeanalysisd-db.service": "running", "codeanalysisd-vectorizer.service": "running",
                      "codeanalysisd-watcher.service": "dead", "codeanalysisd-repair.service": "dead"}
    table = rows(system)
    assert all(table[p]["state"] == "deleted" for p in watched_deletions)
    for p in lost + unpreserved:
        history = json.loads(ctl(system, "--json", "history", PID, p).stdout)
        assert any(v["sha256"] == originals.get(p, table[p]["sha256"]) for v in history)
    assert repair(system, "--dry-run")["actions"] == []

    start_suite(system)


def test_repair_restarts_exactly_the_running_units(system):
    start_suite(system)
    pids = {u: s[2] for u, s in unit_states(system).items()}
    done = repair(system)
    assert done["failed"] == "" and done["actions"] == []
    assert sorted(done["stopped"]) == sorted(done["restarted"]) == sorted(WORKERS)
    wait_until(lambda: all(s[1] == "running" for s in unit_states(system).values()), what="all running again")
    now = {u: s[2] for u, s in unit_states(system).items()}
    assert now["codeanalysisd-db.service"] == pids["codeanalysisd-db.service"]
    assert all(now[u] != pids[u] for u in WORKERS)  # stopped and started through systemd
    # an unknown project is refused by name
    r = ctl(system, "repair", "no-such-project", check=False)
    assert r.returncode != 0 and "Error.NotFound" in r.stderr


def test_restore_an_older_version_through_the_cli(system):
    path = "json/tool.py"
    first = system.run("cat", f"{ROOT}/{path}").stdout
    for n in (1, 2):
        system.sh(f"echo '# edit {n}' >> {ROOT}/{path}")
        wait_until(lambda n=n: len(json.loads(ctl(system, "--json", "history", PID, path).stdout)) >= n + 1,
                   timeout=10, what=f"edit {n} in the history")
    history = json.loads(ctl(system, "--json", "history", PID, path).stdout)
    assert [v["reason"] for v in history][:3] == ["added", "modified", "modified"]
    v1 = history[0]["version"]
    shown = system.run("codeanalysisctl", "show", PID, path, "--version", str(v1)).stdout
    assert shown == first
    refused = ctl(system, "restore", PID, path, "--version", str(v1), check=False)
    assert refused.returncode == 1 and f"{ROOT}/{path} exists; ask for overwrite" in refused.stderr, refused.stderr
    replaced = system.run("sha256sum", f"{ROOT}/{path}").stdout.split()[0]
    result = json.loads(ctl(system, "--json", "restore", PID, path, "--version", str(v1), "--overwrite").stdout)
    assert system.run("sha256sum", f"{ROOT}/{path}").stdout.split()[0] == hashlib.sha256(first.encode()).hexdigest()
    history = json.loads(ctl(system, "--json", "history", PID, path).stdout)
    by_number = {v["version"]: v for v in history}
    assert by_number[result["replaced_version"]]["sha256"] == replaced  # the replaced content is a version
    assert history[-1]["reason"] == "restored"
    # content nobody indexed yet (the watcher is stopped, and the repair worker, whose drift
    # that would be) becomes an 'overwritten' version
    system.systemctl("stop", "codeanalysisd-watcher.service", "codeanalysisd-repair.service")
    system.sh(f"echo '# unseen edit' >> {ROOT}/{path}")
    unseen = system.run("sha256sum", f"{ROOT}/{path}").stdout.split()[0]
    result = json.loads(ctl(system, "--json", "restore", PID, path, "--version", str(v1), "--overwrite").stdout)
    history = json.loads(ctl(system, "--json", "history", PID, path).stdout)
    kept = [v for v in history if v["sha256"] == unseen]
    assert [(v["version"], v["reason"]) for v in kept] == [(result["replaced_version"], "overwritten")]
    system.systemctl("start", "codeanalysisd-watcher.service", "codeanalysisd-repair.service")
    # bad versions get named errors
    for bad in ("999", "zz-not-a-version", "abcdef123"):
        r = ctl(system, "show", PID, path, "--version", bad, check=False)
        assert r.returncode != 0 and "Error.NotFound" in r.stderr, (bad, r.stderr)
    r = ctl(system, "restore", PID, "../etc/passwd", check=False)
    assert r.returncode != 0 and "Error.InvalidArgument" in r.stderr


def test_repair_worker_converges_within_its_bound(system):
    interval, batch = 1.0, 60
    system.write_file("/etc/codeanalysisd/codeanalysisd.conf.d/50-repair-test.conf",
                      f"[Repair]\nPollInterval={interval:g}s\nBatchSize={batch}\n")
    try:
        system.systemctl("stop", "codeanalysisd-watcher.service")
        system.systemctl("restart", "codeanalysisd-repair.service")
        files = sorted(disk_hashes(system))
        system.sh(" && ".join(f"echo '# stale {i}' >> {ROOT}/{p}" for i, p in enumerate(files[200:210])))
        system.run("rm", *[f"{ROOT}/{p}" for p in files[210:215]])
        system.sh(" && ".join(f"printf 'def fresh_{i}():\\n    return {i}\\n' > {ROOT}/json/fresh_{i}.py"
                              for i in range(5)))
        started = time.monotonic()
        total = len(disk_hashes(system)) + 5
        bound = interval * math.ceil(total / batch) + 15.0  # + slack: a cycle's listing, restarts
        wait_until(lambda: converged(system), timeout=bound, interval=0.2, what="the repair worker to converge")
        took = time.monotonic() - started
        figure(f"repair worker converged on {total} files (batch {batch}, every {interval:g} s) in {took:.1f} s "
               f"(bound {bound:.0f} s)")
        status = json.loads(ctl(system, "--json", "worker", "status", "repair").stdout)
        assert status["cycle_done"] > 0 and "checked" in status["StatusText"]
        assert status["schedule"] == f"{batch} file(s) every {interval:g} s over all projects; from config"
        assert all(p in rows(system) and rows(system)[p]["state"] == "deleted" for p in files[210:215])
    finally:
        system.run("rm", "-f", "/etc/codeanalysisd/codeanalysisd.conf.d/50-repair-test.conf")
        system.systemctl("restart", "codeanalysisd-repair.service")
        system.systemctl("start", "codeanalysisd-watcher.service")


def test_garbage_database_is_moved_aside_and_rebuilt_with_history_intact(system):
    path = "json/tool.py"
    versions_before = json.loads(ctl(system, "--json", "history", PID, path).stdout)
    expected = disk_hashes(system)
    assert converged(system)
    stop_suite(system)
    system.sh("head -c 200000 /dev/urandom > /var/lib/codeanalysisd/index.sqlite3")
    cursor = journal_cursor(system)
    start_suite(system)
    wait_until(lambda: live_files(system) == expected, timeout=60, interval=0.2, what="the rebuilt index")
    # (journalctl's -p together with --after-cursor misses entries here: filter by hand)
    entries = [json.loads(line) for line in system.run(
        "journalctl", "--after-cursor", cursor, "-u", "codeanalysisd-db.service", "-o", "json", "--no-pager"
    ).stdout.splitlines()]
    errors = "\n".join(e["MESSAGE"] for e in entries if int(e.get("PRIORITY", 6)) <= 3)
    assert "is not a sound database" in errors and "moved aside" in errors
    aside = system.sh("ls /var/lib/codeanalysisd/").stdout
    assert "index.sqlite3.corrupt-" in aside
    assert json.loads(ctl(system, "--json", "history", PID, path).stdout)[:len(versions_before)] == versions_before
    hits = json.loads(ctl(system, "--json", "search", "-p", PID, "JSONDecodeError").stdout)
    assert hits
    check = json.loads(ctl(system, "--json", "check").stdout)
    assert check["ok"] is True and check["index"] == [] and check["history"] == []
    assert all(s[1] == "running" for s in unit_states(system).values())

"""Faults and hostile input against the running suite: a frozen worker, and bad bus calls."""

from __future__ import annotations

import json
import re

import pytest
from conftest import SRC
from helpers import busctl, dbus_send, start_suite
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox.box import wait_until

PY = "/usr/lib/codeanalysisd/bin/python"
ROOT, PID = "/srv/hostile", "hostile"
DROPIN = "/etc/systemd/system/codeanalysisd-watcher.service.d/50-watchdog-test.conf"


def test_a_frozen_worker_is_killed_and_restarted_by_the_watchdog(system):
    start_suite(system)
    system.write_file(DROPIN, "[Service]\nWatchdogSec=2s\n")
    unit = "codeanalysisd-watcher.service"
    try:
        system.systemctl("daemon-reload")
        system.systemctl("restart", unit)
        before = system.show(unit, "MainPID", "NRestarts")
        system.run("kill", "-STOP", before["MainPID"])  # alive, but its loop no longer sends WATCHDOG=1
        wait_until(lambda: system.show(unit, "NRestarts")["NRestarts"] != before["NRestarts"], timeout=30,
                   what="systemd's watchdog to restart the frozen watcher")
        wait_until(lambda: system.show(unit, "SubState")["SubState"] == "running", timeout=15, what="running again")
        assert system.show(unit, "MainPID")["MainPID"] != before["MainPID"]
        assert "Watchdog timeout" in system.journal(unit, "-o", "cat")
    finally:
        system.run("rm", "-f", DROPIN)
        system.systemctl("daemon-reload")
        system.systemctl("restart", unit)


@pytest.fixture(scope="module")
def hostile_project(system):
    start_suite(system)
    system.sh(f"rm -rf {ROOT} && mkdir -p {ROOT} && echo 'def a(): pass' > {ROOT}/a.py && "
              f"ln -s /etc/passwd {ROOT}/escape.py && ln -s /etc {ROOT}/out")
    system.run("codeanalysisctl", "add", ROOT)
    wait_until(lambda: json.loads(system.run("codeanalysisctl", "--json", "def", "a", "-p", PID).stdout),
               timeout=20, what="the project indexed")
    # and its syntax verified: a parser unit's verdict landing mid-test would change the state
    # the tests compare before and after
    wait_until(lambda: json.loads(system.run("busctl", "--json=short", "get-property", "org.codeanalysis1",
                                             "/org/codeanalysis1", "org.codeanalysis1.Manager",
                                             "SyntaxPending").stdout)["data"] == 0,
               timeout=60, what="the project's syntax verified")
    yield
    system.run("codeanalysisctl", "remove", PID, check=False)


LONG = "x" * 5000
NUL_CALL = """
import asyncio
from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus
async def main():
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        reply = await asyncio.wait_for(bus.call(Message(
            destination="org.codeanalysis1", path="/org/codeanalysis1", interface="org.codeanalysis1.Manager",
            member="GetFileSource", signature="sss", body=["hostile", "a\\0.py", ""])), 5)
        print("reached the service" if reply.message_type != MessageType.ERROR or
              reply.error_name.startswith("org.codeanalysis1") else reply.error_name)
    except Exception as exc:
        print("refused:", type(exc).__name__, exc)
asyncio.run(main())
"""
# (member, dbus-send arguments, the error name expected)
HOSTILE = [
    ("AddProject", ["string:relative/dir"], "InvalidArgument"),
    ("AddProject", ["string:"], "InvalidArgument"),
    ("AddProject", ["string:/etc/../etc"], "InvalidArgument"),
    ("AddProject", ["string:/no/such/dir"], "InvalidArgument"),
    ("AddProject", [f"string:/{LONG}"], "InvalidArgument"),
    ("AddProject", [f"string:{ROOT}"], "Exists"),
    ("RemoveProject", ["string:no-such-project"], "NotFound"),
    ("RemoveProject", ["string:"], "InvalidArgument"),
    ("StartWorker", ["string:../../bin/sh"], "InvalidArgument"),
    ("StopWorker", ["string:codeanalysisd-db.service"], "InvalidArgument"),
    ("FindSymbol", ["string:", "string:", "string:", "uint32:0"], "InvalidArgument"),
    ("FindSymbol", ["string:a", "string:", "string:bogus", "uint32:0"], "InvalidArgument"),
    ("FindSymbol", ["string:a", "string:no-such-project", "string:", "uint32:0"], "NotFound"),
    ("Search", ["string:a", "string:no-such-project", "uint32:4294967295"], "NotFound"),
    ("GetFileSource", ["string:", "string:a.py", "string:"], "InvalidArgument"),
    ("GetFileSource", ["string:no-such-project", "string:a.py", "string:"], "NotFound"),
    ("GetFileSource", [f"string:{PID}", "string:../../etc/passwd", "string:"], "InvalidArgument"),
    ("GetFileSource", [f"string:{PID}", "string:/etc/passwd", "string:"], "InvalidArgument"),
    ("GetFileSource", [f"string:{PID}", f"string:{LONG}", "string:"], "InvalidArgument"),
    ("GetFileSource", [f"string:{PID}", "string:escape.py", "string:"], "NotFound"),
    ("GetFileSource", [f"string:{PID}", "string:out/passwd", "string:"], "NotFound"),
    ("GetFileSource", [f"string:{PID}", "string:a.py", "string:999"], "NotFound"),
    ("GetFileSource", [f"string:{PID}", "string:a.py", f"string:{LONG}"], "InvalidArgument"),
    ("ListVersions", [f"string:{PID}", "string:../a.py"], "InvalidArgument"),
    ("ListVersions", [f"string:{PID}", "string:nothing-here.py"], "NotFound"),
    ("RestoreFile", [f"string:{PID}", "string:out/passwd", "string:", "boolean:true"], "NotFound"),
    ("RestoreFile", [f"string:{PID}", "string:../x.py", "string:1", "boolean:true"], "InvalidArgument"),
    ("RestoreFile", [f"string:{PID}", "string:a.py", "string:deadbeef00", "boolean:true"], "NotFound"),
    # what a client reports having written: checked like everything else, and never for a file it did not
    ("RecordRestore", [f"string:{PID}", "string:../x.py", "uint32:1", "int64:0", "boolean:true", "array:byte:0x41",
                       "uint32:0"], "InvalidArgument"),
    ("RecordRestore", [f"string:{PID}", "string:a.py", "uint32:1", "int64:0", "boolean:false", "array:byte:0x41",
                       "uint32:0"], "InvalidArgument"),
    ("RecordRestore", [f"string:{PID}", "string:a.py", "uint32:999", "int64:0", "boolean:true", "array:byte:0x41",
                       "uint32:420"], "NotFound"),
    ("RecordRestore", ["string:no-such-project", "string:a.py", "uint32:1", "int64:0", "boolean:true",
                       "array:byte:0x41", "uint32:420"], "NotFound"),
    ("Repair", ["string:no-such-project", "boolean:true"], "NotFound"),
    ("Repair", ["string:", "boolean:false"], "InvalidArgument"),
    ("RepairAndRestore", ["string:no-such-project", "boolean:false"], "NotFound"),
    ("RestartWorker", ["string:"], "InvalidArgument"),
    ("FindReferences", ["string: ", "string:", "uint32:0"], "InvalidArgument"),
    ("FindReferences", ["string:a", "string:no-such-project", "uint32:0"], "NotFound"),
    ("Search", ["string:!!! ???", "string:", "uint32:0"], "InvalidArgument"),
    ("ListProblems", ["string:no-such-project", "uint32:0", "uint32:0"], "NotFound"),
]


def _state(system) -> str:
    return (system.run(PY, f"{SRC}/tests/support/dbedit.py", "dump", PID).stdout
            + busctl(system, "ListProjects", "uu", "0", "0").stdout + system.run("sha256sum", "/etc/passwd").stdout)


def test_hostile_calls_get_named_errors_and_change_nothing(system, hostile_project):
    before, pid = _state(system), system.show("codeanalysisd-db.service", "MainPID")["MainPID"]
    for member, args, error in HOSTILE:
        r = dbus_send(system, member, *args)
        assert r.returncode != 0 and f"org.codeanalysis1.Error.{error}" in r.stderr, (member, args[:2], r.stderr)
    # every method with wrong argument types: refused before any handler runs
    xml = system.run("cat", f"{SRC}/dbus/org.codeanalysis1.xml").stdout
    manager = xml.split('<interface name="org.codeanalysis1.Manager">')[1].split("</interface>")[0]
    methods = re.findall(r'<method name="(\w+)">', manager)
    assert len(methods) >= 17, methods
    for member in methods:
        r = dbus_send(system, member, "uint32:7", "double:1.5")
        # dbus-fast matches methods by name and signature: "no such method with that signature"
        assert r.returncode != 0 and "org.freedesktop.DBus.Error.UnknownMethod" in r.stderr, (member, r.stderr)
    # a NUL inside a string never reaches the service either (D-Bus strings cannot hold one)
    r = system.run(PY, "-c", NUL_CALL, check=False)
    assert "reached the service" not in r.stdout, r.stdout
    assert system.show("codeanalysisd-db.service", "MainPID")["MainPID"] == pid  # never crashed
    assert _state(system) == before  # nothing written


# D-Bus strings are UTF-8 without NUL: anything else is refused by the bus itself.
BUS_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=60)
PATH_PIECES = st.one_of(st.sampled_from(["/", "..", ".", "a.py", "escape.py", "out", "out/passwd", "//", ROOT,
                                         "/etc/passwd", "~", "%2e%2e"]), BUS_TEXT)
BUS_PATHS = st.lists(st.lists(PATH_PIECES, max_size=6).map("".join), min_size=1, max_size=8)
ANSWERS = {"ok"} | {f"org.codeanalysis1.Error.{n}" for n in ("InvalidArgument", "NotFound", "Exists")}


def test_any_path_over_the_bus_gets_an_answer_and_writes_nothing(system, hostile_project):
    before, pid = _state(system), system.show("codeanalysisd-db.service", "MainPID")["MainPID"]
    seen: set[str] = set()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(BUS_PATHS)
    def calls(paths):
        out = json.loads(system.run(PY, f"{SRC}/tests/support/pathcalls.py",
                                    input=json.dumps([PID, paths])).stdout)
        seen.update(out)
        assert set(out) <= ANSWERS, (paths, out)

    calls()
    assert "org.codeanalysis1.Error.InvalidArgument" in seen and "org.codeanalysis1.Error.NotFound" in seen
    assert system.show("codeanalysisd-db.service", "MainPID")["MainPID"] == pid
    assert _state(system) == before


def test_directories_beyond_the_watch_limit_are_reported_and_rescanned(system):
    start_suite(system)
    conf = "/etc/codeanalysisd/codeanalysisd.conf.d/50-watch-limit.conf"
    root, pid = "/srv/watchlimit", "watchlimit"
    system.sh(f"rm -rf {root} && for i in 0 1 2 3 4 5 6 7; do mkdir -p {root}/d$i/sub && "
              f"echo \"v$i = 1\" > {root}/d$i/sub/m.py; done")
    system.write_file(conf, "[Index]\nMaxWatches=3\nRescanInterval=1s\n")
    try:
        system.systemctl("reload", "codeanalysisd-watcher.service")
        system.run("codeanalysisctl", "add", root)

        def paths() -> set[str]:
            r = system.run("codeanalysisctl", "--json", "search", "-p", pid, "watchlimit_marker", check=False)
            return {hit["path"] for hit in json.loads(r.stdout or "[]")}

        def warnings() -> str:
            return system.journal("codeanalysisd-watcher.service", "-p", "warning", "-o", "cat")

        wait_until(lambda: "watchlimit are not watched" in warnings(), timeout=20, what="the unwatched dirs reported")
        warning = warnings()
        assert "watchlimit are not watched ([Index] MaxWatches=3)" in warning and "rescanned every 1 s" in warning
        # the status line follows once the step that set the project up is done
        wait_until(lambda: "rescanned every 1 s (watch limit)"
                   in system.show("codeanalysisd-watcher.service", "StatusText")["StatusText"],
                   timeout=10, what="the status to name the rescanned directories")
        # nothing is missed: new files in every directory, and in a directory made afterwards
        system.sh(f"for i in 0 1 2 3 4 5 6 7; do echo 'watchlimit_marker = 1' > {root}/d$i/sub/new.py; done && "
                  f"mkdir -p {root}/d7/later && echo 'watchlimit_marker = 2' > {root}/d7/later/n.py")
        expected = {f"d{i}/sub/new.py" for i in range(8)} | {"d7/later/n.py"}
        wait_until(lambda: paths() == expected, timeout=20, what="every new file found")
    finally:
        system.run("rm", "-f", conf)
        system.systemctl("reload", "codeanalysisd-watcher.service")
        system.run("codeanalysisctl", "remove", pid, check=False)


def test_a_full_disk_is_reported_reads_go_on_and_writing_resumes(system):
    from helpers import stop_suite

    state, root, pid = "/var/lib/codeanalysisd", "/srv/fulldisk", "fulldisk"
    stop_suite(system)
    # the state directory on a small filesystem of its own (the old state waits underneath)
    system.run("mount", "-t", "tmpfs", "-o", "size=48M,mode=0750", "tmpfs", state)
    try:
        system.run("chown", "codeanalysis:codeanalysis", state)
        start_suite(system)
        system.sh(f"rm -rf {root} && mkdir -p {root} && echo 'def before_full(): pass' > {root}/a.py")
        system.run("codeanalysisctl", "add", root)

        def found(name: str) -> bool:
            r = system.run("codeanalysisctl", "--json", "def", name, "-p", pid, check=False)
            return bool(json.loads(r.stdout or "[]"))

        wait_until(lambda: found("before_full"), timeout=20, what="the project indexed")
        owner_pid = system.show("codeanalysisd-db.service", "MainPID")["MainPID"]
        system.run("dd", "if=/dev/zero", f"of={state}/filler", "bs=1M", check=False)  # until ENOSPC
        # a file whose transaction needs new space (780 KB of source: parsed, below MaxParseSize),
        # in one long literal: cheap for libcst, whose parser holds the GIL for seconds on 130,000
        # short lines, which would make this test about libcst's speed instead of the full disk
        system.sh(f"python3 -c \"print('def after_full():\\n    pass\\nBLOB = ' + repr('x' * 780000))\" "
                  f"> {root}/big.py")
        def owner_journal() -> list[dict]:
            # the whole unit's journal: nothing before this test fills a disk
            out = system.run("journalctl", "-u", "codeanalysisd-db.service", "-o", "json", "--no-pager")
            return [json.loads(line) for line in out.stdout.splitlines()]

        try:
            wait_until(lambda: any("disk holding the database is full" in e["MESSAGE"] for e in owner_journal()),
                       timeout=20, what="the full disk reported")
        except TimeoutError as exc:
            raise AssertionError(system.sh(f"df -h {state}; ls -la {state} {root}; journalctl -n 30 -o cat "
                                           "-u 'codeanalysisd-*'").stdout) from exc
        entries = owner_journal()
        assert any(e["PRIORITY"] == "3" and "disk holding the database is full" in e["MESSAGE"] for e in entries)
        assert found("before_full") and not found("after_full")  # reads go on; nothing half-written
        # another writer may meet the full disk first (a syntax verdict, a vector): the watcher
        # says it waits once its own batch is refused
        wait_until(lambda: "waiting for the DB owner" in system.show("codeanalysisd-watcher.service",
                                                                     "StatusText")["StatusText"],
                   timeout=20, what="the watcher to say it waits for the owner")
        system.run("rm", f"{state}/filler")
        wait_until(lambda: found("after_full"), timeout=30, what="writing to resume once there is space")
        assert system.show("codeanalysisd-db.service", "MainPID")["MainPID"] == owner_pid  # never restarted
        assert json.loads(system.run("codeanalysisctl", "--json", "check").stdout)["ok"] is True
        system.run("codeanalysisctl", "remove", pid)
    finally:
        try:
            stop_suite(system)
        finally:  # the next tests need the real state directory back, whatever happened here
            system.run("umount", state, check=False)
            start_suite(system)

"""The repair worker's own commands under a real system manager: StartRepairWorker,
StopRepairWorker and RepairWorkerStatus, through busctl, codeanalysisctl and an MCP client.

A copy of part of the standard library (about 250 files, root's, world-readable) and a small
project only root can read (the service by ACL); `rwuser` is a caller (codeanalysis-users)
and `rwadmin` an admin (codeanalysis-admin) who cannot read the private project either.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest
from conftest import SRC, figure
from helpers import IFACE, NAME, OBJ, busctl, copy_stdlib, ctl, dbus_send, start_suite
from mcp_client import served, tool
from sandbox.box import wait_until

ROOT, PID = "/srv/rw-tree", "rw-tree"
PRIVATE, PRIVATE_ID = "/srv/rw-private", "rw-private"
PACKAGES = ("asyncio", "email", "json", "xml", "unittest", "http", "importlib", "concurrent", "multiprocessing",
            "logging", "urllib", "wsgiref", "lib2to3", "collections")
UNIT = "codeanalysisd-repair.service"
USER = {"user": "rwuser", "groups": "codeanalysis-users"}
ADMIN = {"user": "rwadmin", "groups": "codeanalysis-users,codeanalysis-admin"}
HOLD = "cad-hold-repair"  # the transient unit that holds the worker stopped (tests/support/hold.py)
BUS_POLICY = "/etc/dbus-1/system.d/zz-codeanalysis-repair-worker-test.conf"


def reply(r) -> dict:
    """busctl --json=short's a{sv} reply as plain values."""
    (found,) = json.loads(r.stdout)["data"]
    return {key: value["data"] for key, value in found.items()}


def start_on(system, project: str, batch: int, interval: float, **who) -> dict:
    return reply(busctl(system, "--json=short", "StartRepairWorker", "sud", project, str(batch), str(interval),
                        **who))


def status(system, *args: str, who: dict | None = None) -> dict:
    return json.loads(ctl(system, "--json", "worker", "status", "repair", *args, **(who or {})).stdout)


def row(system, project: str, who: dict | None = None) -> dict:
    return next(p for p in status(system, who=who)["projects"] if p["project"] == project)


def watcher_quiet(system) -> bool:
    rows = json.loads(ctl(system, "--json", "worker", "status").stdout)
    return next(r for r in rows if r["name"] == "watcher")["pending"] == 0


def files_on_disk(system) -> int:
    return int(system.sh(f"find {ROOT} -name '*.py' | wc -l").stdout)


def indexed(system, root: str, count: int) -> bool:
    return any(p["root"] == root and p["files"] == count for p in json.loads(ctl(system, "--json", "projects").stdout))


def running(system) -> bool:
    return system.show(UNIT, "SubState")["SubState"] == "running"


def back_to_running(system) -> None:
    system.systemctl("stop", HOLD, check=False)
    system.systemctl("reset-failed", UNIT, HOLD, check=False)
    system.systemctl("start", UNIT)
    wait_until(lambda: running(system), timeout=15, what="the repair worker running again")


def hold(system) -> str:
    """Hold the repair worker's main process stopped, as if hung: it acts on no signal but SIGKILL."""
    pid = system.show(UNIT, "MainPID")["MainPID"]
    system.run("systemd-run", f"--unit={HOLD}", "/usr/bin/python3", f"{SRC}/tests/support/hold.py", pid)
    wait_until(lambda: "(tracing stop)" in system.run("grep", "State", f"/proc/{pid}/status").stdout,
               timeout=5, what="the worker held")
    return pid


@pytest.fixture(scope="module", autouse=True)
def world(system):
    start_suite(system)
    copy_stdlib(system, ROOT, PACKAGES)
    system.sh(f"rm -rf {PRIVATE} && mkdir -m 0700 {PRIVATE} && echo 'PRIVATE = 1' > {PRIVATE}/private_mod.py && "
              f"setfacl -R -m u:codeanalysis:rX {PRIVATE}")
    system.sh("useradd -M -G codeanalysis-users rwuser && useradd -M -G codeanalysis-users,codeanalysis-admin rwadmin")
    ctl(system, "add", ROOT)
    ctl(system, "add", PRIVATE)
    total = files_on_disk(system)
    wait_until(lambda: indexed(system, ROOT, total) and indexed(system, PRIVATE, 1), timeout=60, interval=0.2,
               what="both projects indexed")
    yield
    back_to_running(system)
    busctl(system, "StartRepairWorker", "sud", "", "0", "0")  # the configured schedule again, for what follows
    system.run("rm", "-f", BUS_POLICY)
    system.run("busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
               "ReloadConfig")
    for project in (PID, PRIVATE_ID):
        ctl(system, "remove", project, check=False)
    system.sh(f"rm -rf {ROOT} {PRIVATE}; userdel rwuser; userdel rwadmin; true")


def test_a_schedule_set_through_busctl_is_followed_batch_by_batch(system):
    wait_until(lambda: watcher_quiet(system), timeout=40, what="the watcher done indexing")
    started = start_on(system, PID, 50, 0.5)
    assert {k: started[k] for k in ("scope", "project", "batch_size", "poll_interval", "source", "ActiveState")} == {
        "scope": "project", "project": PID, "batch_size": 50, "poll_interval": 0.5, "source": "StartRepairWorker",
        "ActiveState": "active"}
    assert started["unit"] == UNIT and started["MainPID"] > 0 and started["since"] > 0

    # Every batch the worker checks shows as a step of cycle_done; a new cycle starts again from 0.
    steps: list[tuple[float, int]] = []  # (when seen, files in the step)
    windows: list[float] = []  # each step's window: from when the poll before was asked to when it was seen
    last, last_asked = None, 0.0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(steps) < 6:
        asked = time.monotonic()
        s = status(system)
        now = (s["cycle"], s["cycle_done"])
        if last is not None and now != last:
            steps.append((time.monotonic(), now[1] - last[1] if now[0] == last[0] else now[1]))
            windows.append(time.monotonic() - last_asked)
        last, last_asked = now, asked
        time.sleep(0.05)
    s = status(system)
    assert s["cycle_files"] == files_on_disk(system), s  # the cycle covers that project alone
    assert len(steps) >= 3, steps
    # A step is what one poll saw change since the one before; a slow poll (a loaded machine)
    # can see two batches at once. Batches end 0.5 s apart at the least, so a step whose
    # window is w seconds holds at most floor(w / 0.5) + 1 of them; and most steps are one
    # batch of at most 50, which a batch size over 50 would never show.
    assert all(0 < n <= 50 * (int(w / 0.5) + 1) for (_, n), w in zip(steps, windows, strict=True)), (steps, windows)
    assert sum(1 for _, n in steps if n <= 50) * 2 >= len(steps), steps
    took = steps[-1][0] - steps[0][0]
    # Never faster than the schedule. The schedule spaces the batches' starts (0.5 s apart at
    # the least, and a start waits for the batch before to end); a step is seen once its batch
    # has ended, and a batch's length varies (the owner may wait for the watcher's report). So
    # k batches after the first end at least (k - 1) * 0.5 s after it, and the first was seen
    # at most its window after it ended.
    assert took >= (len(steps) - 2) * 0.5 - windows[0], (steps, windows)
    figure(f"repair worker at 50 files every 0.5 s: {len(steps) - 1} batches in {took:.2f} s")
    assert "50 every 0.5 s (one project, set by StartRepairWorker)" in s["StatusText"], s["StatusText"]
    assert s["schedule"] == f"50 file(s) every 0.5 s over project {PID}; from StartRepairWorker"
    # WorkerStatus names the schedule in the repair worker's row
    rows = json.loads(ctl(system, "--json", "worker", "status").stdout)
    assert next(r for r in rows if r["name"] == "repair")["schedule"] == s["schedule"]
    assert f"{UNIT} schedule: 50 file(s) every 0.5 s over project {PID}" in ctl(system, "worker", "status").stdout


def test_an_admin_agent_sets_the_schedule_and_kills_a_hung_worker_through_mcp(system):
    """The same commands as MCP tools, from `codeanalysisctl mcp` run as an admin."""
    wait_until(lambda: watcher_quiet(system), timeout=40, what="the watcher done indexing")

    async def schedule(s):
        started = await tool(s, "start_repair_worker", project=PID, batch_size=50, poll_interval=0.5)
        seen: list[tuple[float, tuple[int, int]]] = []  # (when, (cycle, cycle_done)) at each change
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(seen) < 5:
            now = await tool(s, "repair_worker_status", project=PID)
            assert not now.error, now.text
            step = (now.data["cycle"], now.data["cycle_done"])
            if not seen or seen[-1][1] != step:
                seen.append((time.monotonic(), step))
            await asyncio.sleep(0.05)
        return started, now, seen

    started, last, seen = served(system, schedule, ADMIN)
    assert not started.error, started.text
    assert {k: started.data[k] for k in ("scope", "project", "batch_size", "poll_interval", "source")} == {
        "scope": "project", "project": PID, "batch_size": 50, "poll_interval": 0.5, "source": "StartRepairWorker"}
    assert last.data["schedule"] == f"50 file(s) every 0.5 s over project {PID}; from StartRepairWorker"
    assert last.data["cycle_files"] == files_on_disk(system)
    assert len(seen) >= 4, seen  # the first sighting, then at least three batches
    steps = [(b[1] - a[1]) if a[0] == b[0] else b[1] for (_, a), (_, b) in itertools.pairwise(seen)]
    assert all(0 < n <= 50 for n in steps), seen
    took = seen[-1][0] - seen[1][0]
    assert took >= (len(seen) - 2) * 0.5 - 0.3, seen  # never faster than one batch every 0.5 s

    wait_until(lambda: running(system), timeout=15, what="the repair worker running")
    try:
        hold(system)
        stopped = served(system, lambda s: tool(s, "stop_repair_worker", timeout=1.0, force=True), ADMIN)
        assert not stopped.error, stopped.text
        assert stopped.data["result"] == "killed" and 1.0 <= stopped.data["seconds"] < 5.0, stopped.data
        assert system.show(UNIT, "Result")["Result"] == "signal"
    finally:
        back_to_running(system)


def test_the_cli_sets_a_schedule_and_shows_the_last_action_per_project(system):
    system.systemctl("stop", "codeanalysisd-watcher.service")  # what goes stale now is the repair worker's to find
    try:
        out = ctl(system, "worker", "start", "repair", "--batch-size", "50", "--poll-interval", "0.5",
                  "-p", PID).stdout
        assert f"started {UNIT} (active): 50 file(s) every 0.5 s over project {PID}; from StartRepairWorker" in out
        system.sh(f"echo '# stale' >> {ROOT}/json/tool.py")
        wait_until(lambda: (row(system, PID)["action"], row(system, PID)["path"]) == ("reindex", "json/tool.py"),
                   timeout=15, interval=0.2, what="json/tool.py reindexed by the repair worker")
        found = row(system, PID)
        assert found["repaired"] >= 1 and found["checked"] > 0
        assert abs(found["at"] - float(system.run("date", "+%s.%N").stdout)) < 20
        text = ctl(system, "worker", "status", "repair").stdout
        assert f"● {UNIT}" in text and "Active: active (running)" in text, text
        assert f"Schedule: 50 file(s) every 0.5 s over project {PID}; from StartRepairWorker" in text, text
        assert "reindex json/tool.py" in text, text
        # a file only root may read: its name is not shown to a caller who could not read it
        system.sh(f"umask 077 && echo 'HIDDEN = 1' > {ROOT}/json/zz_hidden.py && "
                  f"setfacl -m u:codeanalysis:r {ROOT}/json/zz_hidden.py")  # the service reads it, rwuser not
        wait_until(lambda: row(system, PID)["path"] == "json/zz_hidden.py", timeout=15, interval=0.2,
                   what="the new file indexed by the repair worker")
        theirs = row(system, PID, USER)
        assert (theirs["action"], theirs["path"]) == ("index", ""), theirs
        assert "zz_hidden" not in ctl(system, "worker", "status", "repair", **USER).stdout
    finally:
        system.run("rm", "-f", f"{ROOT}/json/zz_hidden.py")
        system.systemctl("start", "codeanalysisd-watcher.service")


def test_status_shows_each_caller_only_the_projects_they_may_see(system):
    mine = {p["project"] for p in status(system)["projects"]}
    assert {PID, PRIVATE_ID} <= mine
    for who in (USER, ADMIN):
        theirs = {p["project"] for p in status(system, who=who)["projects"]}
        assert PID in theirs and PRIVATE_ID not in theirs, (who, theirs)
        assert [p["project"] for p in status(system, "-p", PID, who=who)["projects"]] == [PID]
        r = ctl(system, "worker", "status", "repair", "-p", PRIVATE_ID, check=False, **who)
        assert r.returncode == 1 and "[org.codeanalysis1.Error.NotFound]" in r.stderr, r.stderr
        made_up = ctl(system, "worker", "status", "repair", "-p", "no-such-project", check=False, **who)
        assert made_up.stderr.replace("no-such-project", PRIVATE_ID) == r.stderr  # as if it did not exist
    # the schedule on a project they may not see: one project, not which
    start_on(system, PRIVATE_ID, 50, 0.5)
    theirs = status(system, who=USER)
    assert (theirs["scope"], theirs["project"]) == ("project", "")
    assert theirs["schedule"] == "50 file(s) every 0.5 s over one project; from StartRepairWorker"
    assert PRIVATE_ID not in json.dumps(theirs) and PRIVATE_ID not in ctl(system, "worker", "status", **USER).stdout
    assert status(system)["project"] == PRIVATE_ID
    # an admin sets a schedule too, on what they may see; the configured one again with zeros
    assert start_on(system, "", 0, 0, **ADMIN)["source"] == "config"
    assert status(system)["schedule"] == "200 file(s) every 10 s over all projects; from config"


def test_only_root_and_admins_may_start_or_stop_it(system):
    pid = system.show(UNIT, "MainPID")["MainPID"]
    for args in (("start", "repair", "--batch-size", "10"), ("stop", "repair", "--timeout", "1", "--force")):
        r = ctl(system, "worker", *args, check=False, **USER)
        assert r.returncode == 1 and "AccessDenied" in r.stderr, (args, r.stderr)
    for member, sig, values in (("StartRepairWorker", "sud", ("", "10", "1")),
                                ("StopRepairWorker", "db", ("1", "true"))):
        r = busctl(system, member, sig, *values, check=False, **USER)
        assert r.returncode != 0 and "Access denied" in r.stderr, (member, r.stderr)
    # behind a bus policy opened to him, the service refuses him itself
    system.write_file(BUS_POLICY, '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
                      ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n<busconfig>\n'
                      '  <policy user="rwuser">\n'
                      f'    <allow send_destination="{NAME}" send_interface="{IFACE}"/>\n'
                      '  </policy>\n</busconfig>\n')
    reload_bus = ("busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "ReloadConfig")
    try:
        system.run(*reload_bus)
        for member, values in (("StartRepairWorker", ("string:", "uint32:10", "double:1")),
                               ("StopRepairWorker", ("double:1", "boolean:true"))):
            r = system.run("dbus-send", "--system", "--print-reply", f"--dest={NAME}", OBJ, f"{IFACE}.{member}",
                           *values, check=False, **USER)
            assert "org.codeanalysis1.Error.AccessDenied" in r.stderr, (member, r.stderr)
            assert "is for root and the members of the admin group" in r.stderr
    finally:
        system.run("rm", "-f", BUS_POLICY)
        system.run(*reload_bus)
    assert system.show(UNIT, "MainPID")["MainPID"] == pid


@pytest.mark.parametrize(("args", "error", "says"), [
    (("string:", "uint32:100001", "double:0"), "InvalidArgument", "batch_size must be from 1 to 100000 files"),
    (("string:", "uint32:0", "double:0.05"), "InvalidArgument", "poll_interval must be from 0.1 to 86400 seconds"),
    (("string:", "uint32:0", "double:86401"), "InvalidArgument", "poll_interval must be from 0.1 to 86400 seconds"),
    (("string:no-such-project", "uint32:50", "double:1"), "NotFound", "no project 'no-such-project'"),
])
def test_a_bad_schedule_is_refused_by_name(system, args, error, says):
    before = status(system)["schedule"]
    r = dbus_send(system, "StartRepairWorker", *args)
    assert f"org.codeanalysis1.Error.{error}" in r.stderr and says in r.stderr, r.stderr
    assert status(system)["schedule"] == before


def test_an_admin_may_not_aim_it_at_a_project_they_cannot_see(system):
    r = dbus_send(system, "StartRepairWorker", f"string:{PRIVATE_ID}", "uint32:50", "double:1")
    assert r.returncode == 0, r.stderr  # root may
    r = system.run("dbus-send", "--system", "--print-reply", f"--dest={NAME}", OBJ, f"{IFACE}.StartRepairWorker",
                   f"string:{PRIVATE_ID}", "uint32:50", "double:1", check=False, **ADMIN)
    assert "org.codeanalysis1.Error.NotFound" in r.stderr, r.stderr
    start_on(system, "", 0, 0)


def test_a_worker_that_does_not_answer_sigterm_is_killed_after_the_timeout_with_force(system):
    wait_until(lambda: running(system), timeout=15, what="the repair worker running")
    try:
        hold(system)
        done = reply(busctl(system, "--json=short", "StopRepairWorker", "db", "1", "true"))
        assert done["result"] == "killed", done
        # killed after the timeout, well before the unit's own TimeoutStopSec= (10 s)
        assert 1.0 <= done["seconds"] < 5.0, done
        assert done["ActiveState"] in ("inactive", "failed") and done["MainPID"] == 0, done
        assert system.show(UNIT, "Result")["Result"] == "signal"
        assert "Sent signal SIGKILL" in system.journal(UNIT, "-n", "20", "-o", "cat")
        figure(f"StopRepairWorker(1 s, force) of a worker ignoring SIGTERM: killed after {done['seconds']:.2f} s")
    finally:
        back_to_running(system)


def test_without_force_the_reply_says_it_is_still_stopping(system):
    try:
        hold(system)
        r = ctl(system, "--json", "worker", "stop", "repair", "--timeout", "1", check=False)
        done = json.loads(r.stdout)
        assert r.returncode == 1 and done["result"] == "still-stopping" and 1.0 <= done["seconds"] < 3.0, done
        assert done["ActiveState"] == "deactivating", done
        # systemd's own TimeoutStopSec= (10 s) ends it in the end
        wait_until(lambda: system.show(UNIT, "ActiveState")["ActiveState"] in ("inactive", "failed"), timeout=15,
                   interval=0.2, what="systemd to kill the worker at TimeoutStopSec=")
    finally:
        back_to_running(system)
    # and a worker that answers SIGTERM is simply stopped, in the CLI's words
    out = ctl(system, "worker", "stop", "repair", "--timeout", "5", "--force").stdout
    assert out.startswith(f"stopped {UNIT} in "), out
    assert system.show(UNIT, "Result")["Result"] == "success"
    back_to_running(system)

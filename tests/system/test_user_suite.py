"""The same suite, from the same sources, under a user manager with the session bus."""

from __future__ import annotations

import json
import time

from conftest import figure
from helpers import (
    SERVICES,
    all_running,
    busctl,
    ctl,
    dbus_send,
    journal_cursor,
    owner_answers,
    status_once_every_unit_is_active,
    stop_suite,
)
from sandbox.box import wait_until

PROJECT = "/srv/user-project"


def test_user_units_verify(user_box):
    files = [f"/usr/lib/systemd/user/{u}" for u in (*SERVICES, "codeanalysisd.target")]
    r = user_box.run("systemd-analyze", "--user", "verify", *files, check=False)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


def test_start_status(user_box):
    stop_suite(user_box)  # whatever ran before, the figure is a start from stopped
    started = time.monotonic()
    user_box.systemctl("start", "codeanalysisd.target")
    figure(f"user manager: start codeanalysisd.target -> all ready: {time.monotonic() - started:.2f} s")
    assert all_running(user_box)
    for unit in SERVICES:
        out = user_box.systemctl("status", unit, "--no-pager").stdout
        assert "Active: active (running)" in out and "Status: " in out, out
    status = user_box.show("codeanalysisd-db.service", "StatusText")["StatusText"]
    assert status.startswith("serving org.codeanalysis1")
    # the DB owner starts the parser units through the user's own manager (no polkit there)
    wait_until(lambda: user_box.show("codeanalysisd-parser@1.service", "ActiveState")["ActiveState"] == "active",
               timeout=15, what="the first parser unit")
    # the user's own state directory, not the system's
    assert "/root/.config/codeanalysisd/index.sqlite3" in user_box.journal("codeanalysisd-db.service", "-o", "cat")
    assert "session bus" in user_box.journal("codeanalysisd-db.service", "-o", "cat")


def test_add_list_and_persist(user_box):
    user_box.sh(f"mkdir -p {PROJECT} && echo 'def f(): pass' > {PROJECT}/m.py")
    assert busctl(user_box, "AddProject", "s", PROJECT).stdout.strip() == 's "user-project"'
    assert f'"{PROJECT}"' in busctl(user_box, "ListProjects", "uu", "0", "0").stdout
    user_box.systemctl("restart", "codeanalysisd-db.service")
    assert f'"{PROJECT}"' in busctl(user_box, "ListProjects", "uu", "0", "0").stdout
    r = dbus_send(user_box, "AddProject", "string:not/absolute")
    assert "org.codeanalysis1.Error.InvalidArgument" in r.stderr


def test_cli_and_worker_control(user_box):
    wait_until(lambda: all_running(user_box), timeout=15, what="workers back after the owner restart")
    assert "user-project" in ctl(user_box, "projects").stdout
    data = status_once_every_unit_is_active(user_box, "codeanalysisctl", *user_box.user)
    assert data["manager"]["Projects"] == 1
    pid = user_box.show("codeanalysisd-repair.service", "MainPID")["MainPID"]
    ctl(user_box, "worker", "restart", "repair")  # the user's manager, no polkit involved
    assert user_box.show("codeanalysisd-repair.service", "MainPID")["MainPID"] != pid
    assert "codeanalysisd-repair.service" in ctl(user_box, "worker", "status", "repair").stdout


def test_restore_is_written_by_the_client_in_the_per_user_suite(user_box):
    """The same path as on the system bus: RestoreFile answers, codeanalysisctl --user writes
    (the user's DB owner cannot: its sandbox makes /srv read-only), RecordRestore records."""
    wait_until(lambda: all_running(user_box), timeout=15, what="all running")
    path, file = "private.py", f"{PROJECT}/private.py"

    def history() -> list[dict]:
        r = ctl(user_box, "--json", "history", "user-project", path, check=False)
        return json.loads(r.stdout) if r.returncode == 0 else []

    user_box.sh(f"umask 077 && echo 'KEY = 1' > {file}")
    wait_until(lambda: len(history()) == 1, timeout=15, what="private.py indexed")
    user_box.sh(f"echo 'KEY = 2' > {file}")
    wait_until(lambda: len(history()) == 2, timeout=15, what="the edit recorded")
    done = json.loads(ctl(user_box, "--json", "restore", "user-project", path, "--version", "1", "--overwrite").stdout)
    assert done["written"] is True and done["replaced_version"] == 2, done
    assert user_box.sh(f"cat {file}; stat -c %a {file}").stdout == "KEY = 1\n600\n"
    user_box.run("rm", file)
    wait_until(lambda: history()[-1]["reason"] == "deleted", timeout=15, what="the deletion recorded")
    ctl(user_box, "restore", "user-project", path)
    assert user_box.sh(f"cat {file}; stat -c %a {file}").stdout == "KEY = 1\n600\n"  # the recorded mode
    assert [v["reason"] for v in history()][-1] == "restored"
    pid = user_box.show("codeanalysisd-db.service", "MainPID")["MainPID"]
    r = user_box.run("nsenter", f"--target={pid}", "--mount", "touch", f"{PROJECT}/probe.py", check=False)
    assert r.returncode != 0, r.stderr


def test_the_repair_workers_own_commands_on_the_session_bus(user_box):
    wait_until(lambda: all_running(user_box), timeout=15, what="all running")
    started = json.loads(ctl(user_box, "--json", "worker", "start", "repair", "--batch-size", "20",
                             "--poll-interval", "0.5").stdout)
    assert (started["source"], started["batch_size"], started["poll_interval"], started["ActiveState"]) == (
        "StartRepairWorker", 20, 0.5, "active"), started

    def status() -> dict:
        return json.loads(ctl(user_box, "--json", "worker", "status", "repair").stdout)

    wait_until(lambda: "every 0.5 s (set by StartRepairWorker)" in status()["StatusText"], timeout=10,
               what="the worker on the new schedule")
    assert "user-project" in [p["project"] for p in status()["projects"]]
    stopped = json.loads(ctl(user_box, "--json", "worker", "stop", "repair", "--timeout", "5", "--force").stdout)
    assert stopped["result"] == "stopped" and stopped["ActiveState"] == "inactive", stopped
    again = json.loads(ctl(user_box, "--json", "worker", "start", "repair", "--batch-size", "0").stdout)
    assert again["source"] == "config" and again["ActiveState"] == "active", again


def test_kill_9_and_journal(user_box):
    before = user_box.show("codeanalysisd-db.service", "MainPID", "NRestarts")
    user_box.run("kill", "-9", before["MainPID"])
    wait_until(lambda: user_box.show("codeanalysisd-db.service", "NRestarts")["NRestarts"] != before["NRestarts"],
               timeout=15, what="the user manager to restart the owner")
    wait_until(lambda: owner_answers(user_box), timeout=15, what="the owner to answer again")
    lines = [json.loads(line) for line in user_box.journal("codeanalysisd-db.service", "-o", "json").splitlines()]
    own = [e for e in lines if e.get("SYSLOG_IDENTIFIER") == "codeanalysisd-db"]
    assert any(e["MESSAGE"].startswith("registered project user-project") and e["PRIORITY"] == "6" for e in own)


def test_stop_within_2s(user_box):
    wait_until(lambda: all_running(user_box), timeout=15, what="all running")
    pids = {u: user_box.show(u, "MainPID")["MainPID"] for u in SERVICES}
    cursor = journal_cursor(user_box)
    took = stop_suite(user_box)
    figure(f"user manager: stop codeanalysisd.target -> all inactive: {took:.2f} s")
    assert took < 2.0
    # The manager's own lines about a unit carry USER_UNIT= (--user-unit finds them); the
    # service's lines are found by its PID. journald files lines asynchronously: poll.
    def manager_log(unit: str) -> str:
        return user_box.journal(unit, "-o", "cat", f"--after-cursor={cursor}")

    def own_log(unit: str) -> str:
        return user_box.run("journalctl", "--no-pager", "-o", "cat", f"_PID={pids[unit]}").stdout

    wait_until(lambda: all("SIGTERM received, stopping" in own_log(u) and "stopped cleanly" in own_log(u)
                           and "Stopped codeanalysisd" in manager_log(u) for u in SERVICES),
               timeout=5, what="every unit's clean-stop lines")
    for unit in SERVICES:
        log = manager_log(unit)
        assert "Killing" not in log and "Failed with result" not in log and "status=" not in log

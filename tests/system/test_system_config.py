"""Configuration: drop-ins are read, and a bad value fails the unit with the key and file named."""

from __future__ import annotations

import json
import time

from helpers import start_suite

DROPIN = "/etc/codeanalysisd/codeanalysisd.conf.d/50-test.conf"


def test_bad_value_names_key_and_file_and_is_not_restarted(system):
    start_suite(system)
    system.write_file(DROPIN, "[Workers]\nReportInterval=soon\n")
    try:
        assert system.systemctl("restart", "codeanalysisd-db.service", check=False).returncode != 0
        shown = system.show("codeanalysisd-db.service", "ActiveState", "ExecMainStatus", "NRestarts")
        assert shown["ActiveState"] == "failed" and shown["ExecMainStatus"] == "78"
        assert shown["NRestarts"] == "0"
        err = system.journal("codeanalysisd-db.service", "-p", "err", "-o", "cat")
        assert (f"configuration error: {DROPIN}: [Workers] ReportInterval= must be seconds between 0.1 and 3600, "
                "got 'soon'") in err
        status = system.show("codeanalysisd-db.service", "StatusText")["StatusText"]
        assert "configuration error" in status
    finally:
        system.run("rm", "-f", DROPIN)
        system.systemctl("reset-failed", "codeanalysisd-db.service", check=False)
    start_suite(system)


def test_a_valid_dropin_applies(system):
    system.write_file(DROPIN, "[Workers]\nReportInterval=0.2\n")
    try:
        system.systemctl("restart", "codeanalysisd-db.service")  # the workers restart with it
        start_suite(system)
        # Past the first report, the age of the latest report tells the interval in force:
        # with the default (5 s) it would be ~1.5 s here, with 0.2 s it stays below 0.6 s.
        time.sleep(1.5)
        for _ in range(3):
            row = json.loads(system.run("codeanalysisctl", "--json", "worker", "status", "watcher").stdout)[0]
            assert 0 <= row["reported_ago"] < 0.6, row
    finally:
        system.run("rm", "-f", DROPIN)
    system.systemctl("restart", "codeanalysisd-db.service")
    start_suite(system)


def _live_paths(system, project: str) -> set[str]:
    r = system.run("codeanalysisctl", "--json", "search", "-p", project, "reload_marker", check=False)
    return {hit["path"] for hit in json.loads(r.stdout or "[]")}


def test_reload_applies_exclude_live_and_refuses_a_bad_file(system):
    from helpers import journal_cursor
    from sandbox.box import wait_until

    start_suite(system)
    system.sh("rm -rf /srv/reload && mkdir -p /srv/reload/keep /srv/reload/gen && "
              "echo 'reload_marker = 1' > /srv/reload/keep/a.py && echo 'reload_marker = 2' > /srv/reload/gen/b.py")
    system.run("codeanalysisctl", "add", "/srv/reload")
    wait_until(lambda: _live_paths(system, "reload") == {"keep/a.py", "gen/b.py"}, timeout=20, what="indexed")
    pids = {u: system.show(u, "MainPID")["MainPID"] for u in ("codeanalysisd-db.service",
                                                               "codeanalysisd-watcher.service")}
    system.write_file(DROPIN, "[Index]\nExclude=gen/\n")
    try:
        system.systemctl("reload", "codeanalysisd-watcher.service")
        wait_until(lambda: _live_paths(system, "reload") == {"keep/a.py"}, timeout=20,
                   what="gen/ to leave the index after the reload")
        # a file created under the newly excluded directory stays out; the rest is still watched
        system.sh("echo 'reload_marker = 3' > /srv/reload/gen/c.py && echo 'reload_marker = 4' > /srv/reload/keep/d.py")
        wait_until(lambda: "keep/d.py" in _live_paths(system, "reload"), timeout=20, what="keep/d.py")
        assert _live_paths(system, "reload") == {"keep/a.py", "keep/d.py"}
        assert "changed exclude" in system.journal("codeanalysisd-watcher.service", "-o", "cat")

        # a bad value on reload: named with its file, the unit keeps running with what it had
        cursor = journal_cursor(system)
        system.write_file(DROPIN, "[History]\nMaxVersions=many\n")
        system.systemctl("reload", "codeanalysisd-db.service", "codeanalysisd-watcher.service")
        wait_until(lambda: "reload refused" in system.run(
            "journalctl", "--after-cursor", cursor, "-u", "codeanalysisd-db.service", "-o", "cat").stdout,
            what="the refusal in the journal")
        refused = system.run("journalctl", "--after-cursor", cursor, "-u", "codeanalysisd-db.service",
                             "-o", "json").stdout
        entry = next(json.loads(line) for line in refused.splitlines() if "reload refused" in line)
        assert entry["PRIORITY"] == "3" and DROPIN in entry["MESSAGE"] and "MaxVersions=" in entry["MESSAGE"]
        for unit, pid in pids.items():
            shown = system.show(unit, "MainPID", "ActiveState")
            assert (shown["MainPID"], shown["ActiveState"]) == (pid, "active"), (
                unit, system.journal(unit, "-n", "25", "-o", "cat"))
    finally:
        system.run("rm", "-f", DROPIN)
        system.systemctl("reload", "codeanalysisd-watcher.service", "codeanalysisd-db.service")
        system.run("codeanalysisctl", "remove", "reload", check=False)

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

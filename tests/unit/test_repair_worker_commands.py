"""The pure parts of the repair worker's commands: what a schedule may be, what the replies hold."""

from __future__ import annotations

import math
import time

import pytest
from dbus_fast import Message, Variant

from codeanalysisd.bus import api, errors
from codeanalysisd.cli.main import build_parser
from codeanalysisd.owner import failures
from codeanalysisd.owner.guard import bus_error
from codeanalysisd.owner.repair_worker import (
    FROM_CALL,
    FROM_CONFIG,
    Schedule,
    check_schedule,
    check_stop_wait,
    describe,
    progress_entries,
    schedule_entries,
    stop_entries,
    unit_entries,
)
from codeanalysisd.owner.reports import MAX_ACTION, WorkerReports
from codeanalysisd.owner.worker_control import Stopped

CONFIGURED = (200, 10.0)  # the worker's [Repair] BatchSize= and PollInterval=
STATE = {"ActiveState": "active", "SubState": "running", "MainPID": 321, "StatusText": "cycle 1"}


def marshals(reply: dict[str, Variant]) -> bool:
    """The reply goes onto the bus as the a{sv} the Manager declares (each value its signature)."""
    Message(destination="org.codeanalysis1", path="/org/codeanalysis1", interface="org.codeanalysis1.Manager",
            member="Reply", signature="a{sv}", body=[reply])._marshall(False)
    return True


@pytest.mark.parametrize(("batch_size", "poll_interval"), [(0, 0.0), (1, 0.1), (100_000, 86400.0), (50, 0.5)])
def test_a_schedule_within_the_configuration_bounds_is_taken(batch_size, poll_interval):
    check_schedule(batch_size, poll_interval)


@pytest.mark.parametrize(("batch_size", "poll_interval", "says"), [
    (100_001, 0.0, "batch_size must be from 1 to 100000 files"),
    (0, 0.05, "poll_interval must be from 0.1 to 86400 seconds"),
    (0, 86400.5, "poll_interval must be from 0.1 to 86400 seconds"),
    (0, -1.0, "got -1"),
    (0, math.nan, "got nan"),
    (0, math.inf, "got inf"),
])
def test_a_schedule_out_of_bounds_is_an_invalid_argument_that_says_why(batch_size, poll_interval, says):
    with pytest.raises(failures.Refused) as refused:
        check_schedule(batch_size, poll_interval)
    assert says in str(refused.value)
    assert isinstance(bus_error(refused.value), errors.InvalidArgument)


@pytest.mark.parametrize("timeout", [0.0, 0.5, 600.0])
def test_a_stop_may_wait_from_nothing_to_ten_minutes(timeout):
    check_stop_wait(timeout)


@pytest.mark.parametrize("timeout", [-0.1, 600.5, math.nan, math.inf])
def test_a_stop_wait_beyond_that_is_refused(timeout):
    with pytest.raises(failures.Refused, match="timeout must be from 0 to 600 seconds"):
        check_stop_wait(timeout)


def test_zero_stands_for_the_configured_value_and_says_where_the_schedule_came_from():
    assert Schedule().in_force(CONFIGURED) == (200, 10.0) and Schedule().source == FROM_CONFIG
    assert Schedule("", 0, 0.0, time.time()).source == FROM_CONFIG  # set again to the configuration's
    assert Schedule("", 50, 0.0).in_force(CONFIGURED) == (50, 10.0)
    assert Schedule("", 0, 0.5).in_force(CONFIGURED) == (200, 0.5)
    assert Schedule("app", 0, 0.0).source == Schedule("", 50, 0.0).source == FROM_CALL


def test_a_project_the_caller_may_not_see_is_only_said_to_be_one():
    schedule = Schedule("app", 50, 0.5, 1000.0)
    shown = schedule_entries(schedule, CONFIGURED, "app")
    hidden = schedule_entries(schedule, CONFIGURED, "")
    assert shown["scope"].value == hidden["scope"].value == "project"
    assert shown["project"].value == "app" and hidden["project"].value == ""
    assert "app" not in repr({k: v.value for k, v in hidden.items()})
    assert describe(schedule, CONFIGURED, "") == "50 file(s) every 0.5 s over one project; from StartRepairWorker"
    assert describe(schedule, CONFIGURED, "app") == "50 file(s) every 0.5 s over project app; from StartRepairWorker"
    assert describe(Schedule(), CONFIGURED, "") == "200 file(s) every 10 s over all projects; from config"
    everything = schedule_entries(Schedule(), CONFIGURED, "")
    assert (everything["scope"].value, everything["batch_size"].value, everything["poll_interval"].value,
            everything["source"].value, everything["since"].value) == ("all", 200, 10.0, "config", 0.0)
    assert marshals(shown)


def test_the_status_reply_marshals_with_the_reported_rows():
    reports = WorkerReports()
    assert progress_entries(reports.repair, [], time.monotonic())["reported_ago"].value == -1.0
    reports.record_repair(3, 312, 150, 2, (60, 1.0), [("app", 1000, 2, "reindex" * 10, "pkg/m.py", 1_700_000_000.5)])
    progress = reports.repair
    assert progress.projects["app"].action == ("reindex" * 10)[:MAX_ACTION]
    # 0 in a schedule stands for what the worker itself is configured with, as it reported
    assert Schedule("app", 0, 0.5).in_force(progress.configured) == (60, 0.5)
    rows: list[api.RepairProjectRow] = [("app", 1000, 2, "reindex", "pkg/m.py", 1_700_000_000.5),
                                        ("other", 0, 0, "", "", 0.0)]
    reply = {**unit_entries(STATE), **schedule_entries(Schedule(), CONFIGURED, ""),
             **progress_entries(progress, rows, progress.at + 1.5)}
    assert (reply["cycle"].value, reply["cycle_files"].value, reply["cycle_done"].value,
            reply["cycle_repaired"].value, reply["reported_ago"].value) == (3, 312, 150, 2, 1.5)
    assert reply["projects"].signature == api.REPAIR_PROJECTS and reply["MainPID"].value == 321
    assert marshals(reply)


@pytest.mark.parametrize("result", ["stopped", "killed", "still-stopping"])
def test_the_stop_reply_says_what_happened_and_how_long_it_took(result):
    reply = stop_entries(Stopped(result, 1.25), 1.0, True, {**STATE, "ActiveState": "inactive", "MainPID": 0})
    assert {k: v.value for k, v in reply.items()} == {
        "result": result, "seconds": 1.25, "timeout": 1.0, "force": True, "unit": "codeanalysisd-repair.service",
        "ActiveState": "inactive", "SubState": "running", "MainPID": 0}
    assert marshals(reply)


def test_the_command_line_takes_the_repair_workers_options_and_refuses_a_negative_count(capsys):
    args = build_parser().parse_args(["worker", "start", "repair", "--batch-size", "50", "--poll-interval", "0.5",
                                      "-p", "app"])
    assert (args.batch_size, args.poll_interval, args.project) == (50, 0.5, "app")
    args = build_parser().parse_args(["worker", "stop", "repair", "--timeout", "2", "--force"])
    assert (args.timeout, args.force) == (2.0, True)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["worker", "start", "repair", "--batch-size", "-1"])
    assert "a whole number of 0 or more is needed" in capsys.readouterr().err

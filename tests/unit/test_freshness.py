"""IndexStatus's rule: a project's index is fresh only while the watcher runs, has reported
lately, follows the project and has nothing of it left to index; anything else is stale,
with the reason."""

from codeanalysisd.owner.freshness import max_report_age
from codeanalysisd.owner.reports import WorkerReports, freshness
from codeanalysisd.records import ProjectInfo

APP = ProjectInfo("app", "app", "/srv/app", 12, "active")
NOW = 1000.0


def reported(rows, at=NOW - 1) -> WorkerReports:
    reports = WorkerReports()
    reports.record_backlog(rows)
    reports.backlog_at = at
    return reports


def test_fresh_when_the_watcher_runs_and_has_nothing_pending():
    row = freshness(APP, "active", reported([("app", 0, 1234.5)]), NOW, 30)
    assert (row.project, row.indexed, row.pending, row.last_change, row.stale, row.why) == ("app", 12, 0, 1234.5,
                                                                                            False, "")


def test_pending_paths_make_it_stale_and_are_counted():
    row = freshness(APP, "active", reported([("app", 3, 1234.5), ("other", 0, 0.0)]), NOW, 30)
    assert row.stale and row.pending == 3 and "3 path(s)" in row.why


def test_a_stopped_watcher_makes_every_project_stale_keeping_what_it_last_said():
    for state in ("inactive", "failed", "deactivating"):
        row = freshness(APP, state, reported([("app", 0, 1234.5)]), NOW, 30)
        assert row.stale and state in row.why and row.last_change == 1234.5
    assert "starting" in freshness(APP, "activating", reported([("app", 0, 0.0)]), NOW, 30).why


def test_no_report_an_old_report_or_a_project_not_in_it_is_stale():
    assert "not reported yet" in freshness(APP, "active", WorkerReports(), NOW, 30).why
    old = freshness(APP, "active", reported([("app", 0, 0.0)], at=NOW - 31), NOW, 30)
    assert old.stale and "31 s" in old.why
    assert "not set this project up" in freshness(APP, "active", reported([("other", 0, 0.0)]), NOW, 30).why


def test_a_missing_root_is_stale_whatever_the_watcher_says():
    gone = ProjectInfo("app", "app", "/srv/app", 12, "missing")
    assert freshness(gone, "active", reported([("app", 0, 0.0)]), NOW, 30).stale


def test_a_report_replaces_the_last_and_bad_numbers_are_clamped():
    reports = reported([("app", 5, 1.0)])
    reports.record_backlog([("other", -1, -5.0)])
    assert "app" not in reports.backlog and reports.backlog["other"].pending == 0
    assert reports.backlog["other"].last_change == 0.0


def test_reports_are_believed_for_three_intervals_and_never_less_than_30_s():
    assert max_report_age(5) == 30 and max_report_age(60) == 180

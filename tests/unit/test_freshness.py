"""IndexStatus's rule: a project's index is fresh only while the watcher runs, has reported
lately, follows the project and has nothing of it left to index; anything else is stale,
with the reason. And whether the watcher's writes have overtaken a look at disk, and whether
it has read every change up to a moment."""

import asyncio
import contextlib
import time

from codeanalysisd.owner.freshness import max_report_age
from codeanalysisd.owner.reports import WATCHER_HAS, WorkerReports, freshness, progress
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


def phase(rows, watcher="active", at=NOW - 1, project=APP):
    return progress(project, watcher, reported(rows, at), NOW, 30)


def test_the_phase_follows_the_watcher_from_waiting_through_scanning_and_indexing_to_ready():
    assert phase([("other", 0, 0.0)]).phase == "waiting"  # not set up yet
    assert phase([("app", 1, 0.0, True, 0, 0)]).phase == "scanning"  # comparing, nothing counted
    shown = phase([("app", 380, 0.0, True, 100, 480)])
    assert (shown.phase, shown.done, shown.total, shown.indexed) == ("indexing", 100, 480, 12)
    assert phase([("app", 2, 0.0)]).phase == "indexing"  # a live change queued
    # a large change's files shown ahead of their facts: the counts are the files shown
    showing = phase([("app", 480, 0.0, False, 150, 480, True)])
    assert (showing.phase, showing.done, showing.total) == ("showing", 150, 480)
    assert phase([("app", 480, 0.0, False, 0, 480, False)]).phase == "indexing"  # then the rest of their facts
    ready = phase([("app", 0, 0.0)])
    assert (ready.phase, ready.why) == ("ready", "")


def test_the_watcher_has_a_project_only_while_it_is_at_work_on_it():
    has = {"waiting", "scanning", "showing", "indexing"}
    assert has == WATCHER_HAS
    assert phase([("app", 0, 0.0)], watcher="activating", at=0).phase in has  # its scan comes
    assert phase([("app", 3, 0.0)]).phase in has
    assert phase([("app", 300, 0.0, False, 10, 300, True)]).phase in has
    # stopped, silent or facing a missing root: the drift is nobody's but the repair worker's
    assert phase([("app", 3, 0.0)], watcher="inactive").phase == "stale"
    assert phase([("app", 3, 0.0)], at=NOW - 31).phase == "stale"
    gone = ProjectInfo("app", "app", "/srv/app", 12, "missing")
    assert phase([("app", 3, 0.0)], project=gone).phase == "stale"
    assert phase([("app", 0, 0.0)]).phase == "ready"


def test_counts_sent_are_clamped_and_a_total_is_never_below_what_is_done():
    reports = reported([("app", 1, 0.0, True, -4, 0), ("b", 1, 0.0, False, 9, 5)])
    assert (reports.backlog["app"].done, reports.backlog["app"].total) == (0, 0)
    assert (reports.backlog["b"].done, reports.backlog["b"].total) == (9, 9)


def test_a_look_at_disk_is_outdated_by_a_watcher_write_under_way_or_ended_after_it_began():
    reports = WorkerReports()
    assert not reports.watcher_wrote_since("app", 0.0)
    looked_at = time.monotonic()
    with reports.watcher_writing("app"):
        assert reports.watcher_wrote_since("app", looked_at)
        assert reports.watcher_wrote_since("app", time.monotonic() + 60)   # under way: whenever it began
        assert not reports.watcher_wrote_since("other", 0.0)
    assert reports.watcher_wrote_since("app", looked_at)                  # ended after the look began
    assert not reports.watcher_wrote_since("app", time.monotonic() + 1)   # a look begun after it ended


def test_a_failed_write_still_dates_the_looks_before_it_and_two_at_once_count_as_two():
    reports = WorkerReports()
    with reports.watcher_writing("app"), reports.watcher_writing("app"):
        pass
    later = time.monotonic() + 1
    assert not reports.watcher_wrote_since("app", later)
    with contextlib.suppress(RuntimeError), reports.watcher_writing("app"):
        with reports.watcher_writing("app"):
            pass
        assert reports.watcher_wrote_since("app", later + 60)             # the outer one is still under way
        raise RuntimeError("the transaction rolled back")
    assert not reports.watcher_wrote_since("app", later + 60)
    assert reports.watcher_wrote_since("app", later - 1)


def test_a_wait_for_the_watcher_to_read_past_a_moment_ends_with_the_first_report_that_did():
    async def run() -> None:
        reports = WorkerReports()
        bar = time.monotonic()
        waiting = asyncio.ensure_future(reports.read_past(bar, 5.0))
        await asyncio.sleep(0.01)
        reports.record_backlog([("app", 0, 0.0)], bar - 0.5)   # made before the moment: not yet
        await asyncio.sleep(0.01)
        assert not waiting.done()
        reports.record_backlog([("app", 1, 0.0)], bar + 0.01)
        assert await asyncio.wait_for(waiting, 1.0)
        assert reports.read_to == bar + 0.01 and reports.backlog["app"].pending == 1
        assert await reports.read_past(bar, 0.0)               # already past: no wait at all

    asyncio.run(run())


def test_a_watcher_that_does_not_report_past_the_moment_is_waited_for_no_longer_than_asked():
    async def run() -> None:
        reports = WorkerReports()
        reports.record_backlog([("app", 0, 0.0)], time.monotonic())
        began = time.monotonic()
        assert not await reports.read_past(time.monotonic() + 60, 0.05)
        assert 0.05 <= time.monotonic() - began < 1.0
        assert reports.unanswered                  # not a word: hung, or far behind
        reports.record_backlog([("app", 0, 0.0)], time.monotonic())
        assert not reports.unanswered

    asyncio.run(run())


def test_a_watcher_that_reports_but_has_not_read_past_the_moment_is_not_taken_for_hung():
    async def run() -> None:
        reports = WorkerReports()
        bar = time.monotonic() + 60
        waiting = asyncio.ensure_future(reports.read_past(bar, 0.1))
        await asyncio.sleep(0.01)
        reports.record_backlog([("app", 3, 0.0)], time.monotonic())  # events still coming in
        assert not await waiting
        assert not reports.unanswered

    asyncio.run(run())

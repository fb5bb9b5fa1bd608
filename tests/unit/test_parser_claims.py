"""Which parser unit verifies which file: each pending file goes to one instance at a time,
until it answers or its claim lapses; none while the watcher has a backlog; and whether any
instance is verifying, which embedding waits for."""

import time

from codeanalysisd.owner.parsers import CLAIM_SECONDS, EXPECT_SECONDS, SyntaxClaims, watcher_busy
from codeanalysisd.owner.reports import WorkerReports

NOW = 110.0  # within a claim's time of every step of the tests below
FOLLOWED = {"p", "q", "big", "quiet"}  # the projects followed


def test_a_claimed_file_is_held_from_the_others_not_from_its_claimant():
    claims = SyntaxClaims()
    claims.take("p", ":1.5", ["a.py", "b.py"], now=100.0)
    assert claims.held_by_others("p", ":1.6", 101.0) == {"a.py", "b.py"}
    assert claims.held_by_others("p", ":1.5", 101.0) == set()
    assert claims.held_by_others("q", ":1.6", 101.0) == set()  # another project's paths are its own


def test_a_verdict_releases_the_file():
    claims = SyntaxClaims()
    claims.take("p", ":1.5", ["a.py", "b.py"], now=100.0)
    claims.release("p", ["a.py"], now=NOW)
    assert claims.held_by_others("p", ":1.6", 101.0) == {"b.py"}


def test_a_claim_lapses_so_a_killed_instances_files_go_to_the_others():
    claims = SyntaxClaims()
    claims.take("p", ":1.5", ["a.py"], now=100.0)
    assert claims.held_by_others("p", ":1.6", 100.0 + CLAIM_SECONDS - 1) == {"a.py"}
    assert claims.held_by_others("p", ":1.6", 100.0 + CLAIM_SECONDS) == set()
    # taken again by another, it is held for that one now
    claims.take("p", ":1.6", ["a.py"], now=100.0 + CLAIM_SECONDS)
    assert claims.held_by_others("p", ":1.5", 100.0 + CLAIM_SECONDS + 1) == {"a.py"}


def test_the_watcher_is_busy_while_any_project_has_files_pending_or_a_scan():
    reports = WorkerReports()
    assert not watcher_busy(reports, time.monotonic(), 15.0)  # no report yet
    reports.record_backlog([("p", 0, 0.0, False, 0, 0), ("q", 0, 0.0, False, 0, 0)])
    assert not watcher_busy(reports, time.monotonic(), 15.0)
    reports.record_backlog([("p", 0, 0.0, False, 0, 0), ("q", 3, 1.0, False, 0, 0)])
    assert watcher_busy(reports, time.monotonic(), 15.0)
    reports.record_backlog([("p", 0, 0.0, True, 0, 0)])
    assert watcher_busy(reports, time.monotonic(), 15.0)


def test_a_watcher_that_stopped_reporting_holds_nothing_back():
    reports = WorkerReports()
    reports.record_backlog([("p", 5, 1.0, True, 0, 0)])
    assert watcher_busy(reports, reports.backlog_at + 14.0, 15.0)
    assert not watcher_busy(reports, reports.backlog_at + 16.0, 15.0)


def test_an_instance_that_leaves_the_bus_leaves_its_files_at_once():
    claims = SyntaxClaims()
    claims.take("p", ":1.5", ["a.py"], now=100.0)
    claims.take("p", ":1.7", ["b.py"], now=100.0)
    claims.forget(":1.5")
    assert claims.held_by_others("p", ":1.6", 101.0) == {"b.py"}


def _claims_counting_settled() -> tuple[SyntaxClaims, list[int]]:
    claims, settled = SyntaxClaims(), [0]

    def count() -> None:
        settled[0] += 1

    claims.on_settled = count
    return claims, settled


def test_an_instance_handed_files_is_verifying_until_an_ask_finds_nothing():
    claims, settled = _claims_counting_settled()
    assert not claims.verifying(NOW, lambda: FOLLOWED)
    claims.take("p", ":1.5", ["a.py", "b.py"], now=100.0)
    assert claims.verifying(NOW, lambda: FOLLOWED)
    claims.release("p", ["a.py", "b.py"], now=NOW)  # its verdicts: it asks again at once
    assert claims.verifying(NOW, lambda: FOLLOWED) and settled == [0]
    claims.take("p", ":1.5", ["c.py"], now=101.0)
    claims.release("p", ["c.py"], now=NOW)
    claims.take("p", ":1.5", [], now=102.0)  # nothing left
    assert not claims.verifying(NOW, lambda: FOLLOWED) and settled == [1]
    claims.take("q", ":1.5", [], now=102.0)  # nothing in the next project either: said once
    assert settled == [1]


def test_verification_is_settled_when_the_last_instance_has_nothing_left():
    claims, settled = _claims_counting_settled()
    claims.take("p", ":1.5", ["a.py"], now=100.0)
    claims.take("p", ":1.6", ["b.py"], now=100.0)
    claims.release("p", ["a.py"], now=NOW)
    claims.take("p", ":1.5", [], now=101.0)
    assert claims.verifying(NOW, lambda: FOLLOWED) and settled == [0]  # :1.6 still has b.py
    claims.release("p", ["b.py"], now=NOW)
    claims.take("p", ":1.6", [], now=102.0)
    assert not claims.verifying(NOW, lambda: FOLLOWED) and settled == [1]


def test_an_instance_that_passed_over_all_it_was_handed_is_not_verifying():
    """Files changed on disk since they were indexed are passed over unread while the watcher
    is stopped, and handed out again at the instance's next look: embedding must not wait on
    them for good."""
    claims, settled = _claims_counting_settled()
    claims.take("p", ":1.5", ["changed.py"], now=100.0)
    assert claims.verifying(NOW, lambda: FOLLOWED)
    claims.take("p", ":1.5", ["changed.py"], now=105.0)  # asked again, no verdict since
    assert not claims.verifying(NOW, lambda: FOLLOWED) and settled == [1]
    claims.take("p", ":1.5", ["changed.py"], now=110.0)
    assert not claims.verifying(NOW, lambda: FOLLOWED) and settled == [1]
    claims.release("p", ["changed.py"], now=NOW)  # indexed again and verified after all
    assert claims.verifying(NOW, lambda: FOLLOWED)


def test_an_instance_that_leaves_the_bus_is_no_longer_verifying():
    claims, settled = _claims_counting_settled()
    claims.take("p", ":1.5", ["a.py"], now=100.0)
    claims.forget(":1.5")
    assert not claims.verifying(NOW, lambda: FOLLOWED) and settled == [1]
    claims.forget(":1.5")
    assert settled == [1]


def test_an_instance_with_nothing_left_in_one_project_is_still_verifying_another():
    """An instance asks of every project in turn: nothing in one says nothing of the others."""
    claims, settled = _claims_counting_settled()
    claims.take("big", ":1.5", ["a.py"], now=100.0)
    claims.take("quiet", ":1.5", [], now=100.0)
    assert claims.verifying(NOW, lambda: FOLLOWED) and settled == [0]
    claims.release("big", ["a.py"], now=NOW)
    claims.take("quiet", ":1.5", [], now=101.0)
    claims.take("big", ":1.5", ["b.py"], now=101.0)
    assert claims.verifying(NOW, lambda: FOLLOWED) and settled == [0]


def test_files_passed_over_in_one_project_do_not_stop_the_verifying_of_another():
    claims, settled = _claims_counting_settled()
    claims.take("p", ":1.5", ["changed.py"], now=100.0)  # passed over
    claims.take("q", ":1.5", ["a.py"], now=100.0)
    claims.release("q", ["a.py"], now=NOW)
    claims.take("p", ":1.5", ["changed.py"], now=101.0)  # again, no verdict there since
    claims.take("q", ":1.5", ["b.py"], now=101.0)
    assert claims.verifying(NOW, lambda: FOLLOWED) and settled == [0]
    claims.release("q", ["b.py"], now=NOW)
    claims.take("p", ":1.5", ["changed.py"], now=102.0)
    claims.take("q", ":1.5", [], now=102.0)
    assert not claims.verifying(NOW, lambda: FOLLOWED) and settled == [1]


def test_verifying_lapses_with_the_claims_and_with_the_project():
    """An instance hung on a file, or a project removed or gone missing (the instance asks no
    more of it), does not hold embedding back for good."""
    claims, settled = _claims_counting_settled()
    claims.take("p", ":1.5", ["a.py"], now=100.0)
    assert claims.verifying(100.0 + CLAIM_SECONDS - 1, lambda: {"p"})
    assert not claims.verifying(100.0 + CLAIM_SECONDS, lambda: {"p"}) and settled == [1]
    claims.take("p", ":1.5", ["b.py"], now=200.0)
    claims.release("p", ["b.py"], now=201.0)
    assert claims.verifying(202.0, lambda: {"p", "q"})
    assert not claims.verifying(202.0, lambda: {"q"}) and settled == [2]  # p removed


def test_the_projects_followed_are_read_only_while_an_instance_is_verifying():
    """The vectorizer asks before every batch; reading the projects is a query of the owner's."""
    claims, _ = _claims_counting_settled()
    reads: list[int] = []

    def followed() -> set[str]:
        reads.append(1)
        return {"p"}

    assert not claims.verifying(NOW, followed) and not reads
    claims.take("p", ":1.5", ["a.py"], now=100.0)
    assert claims.verifying(NOW, followed) and len(reads) == 1


def test_verification_counts_as_begun_from_the_index_settling_until_an_instance_is_handed_files():
    """The signal that the index settled wakes the vectorizer with the parser units: it must
    not take a batch in the moment before they ask."""
    claims, settled = _claims_counting_settled()
    claims.take("p", ":1.5", [], now=99.0)  # an instance asked while the watcher indexed
    claims.expect(100.0)
    assert claims.verifying(100.5, lambda: FOLLOWED)
    claims.take("quiet", ":1.5", [], now=100.5)  # nothing in one project: the others to come
    assert claims.verifying(100.6, lambda: FOLLOWED)
    claims.take("p", ":1.5", ["a.py"], now=100.6)  # begun: told by who holds what from here
    claims.release("p", ["a.py"], now=101.0)
    claims.take("p", ":1.5", [], now=101.5)
    assert not claims.verifying(101.6, lambda: FOLLOWED) and settled == [1]


def test_an_expected_beginning_lapses_when_no_instance_is_handed_files():
    """The files left are nobody's to verify now (held by an instance hung on them, say):
    embedding waits EXPECT_SECONDS, not for good."""
    claims, _ = _claims_counting_settled()
    claims.take("p", ":1.5", [], now=99.0)
    claims.expect(100.0)
    assert claims.verifying(100.0 + EXPECT_SECONDS - 0.1, lambda: FOLLOWED)
    assert not claims.verifying(100.0 + EXPECT_SECONDS, lambda: FOLLOWED)


def test_no_beginning_is_expected_with_no_instance_on_the_bus():
    """The parser units stopped: embedding must not wait EXPECT_SECONDS after every save."""
    claims, _ = _claims_counting_settled()
    claims.expect(100.0)  # none has asked since the owner started
    assert not claims.verifying(100.5, lambda: FOLLOWED)
    claims.take("p", ":1.5", [], now=101.0)
    claims.forget(":1.5")  # it left the bus
    claims.expect(102.0)
    assert not claims.verifying(102.5, lambda: FOLLOWED)
    claims.take("p", ":1.8", [], now=103.0)  # a new instance
    claims.expect(104.0)
    assert claims.verifying(104.5, lambda: FOLLOWED)

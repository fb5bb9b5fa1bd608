"""The bookkeeping that holds a worker's read of a restored file until the restore is recorded."""

from __future__ import annotations

import hashlib

from codeanalysisd.owner.restores_pending import Held, PendingRestores

A, B = b"x = 1\n", b"x = 2\n"
KEY = ("app", "m.py")


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def held(data: bytes, path: str = "m.py", reason: str | None = None) -> Held:
    return Held("app", (path, len(data), 1, data, "{}", 0o644), reason)


def test_the_restored_bytes_wait_for_the_record_and_are_dropped_by_it():
    p = PendingRestores(lasts=10)
    p.handed_out(KEY, sha(A), now=0)
    assert p.hold(KEY, sha(A), held(A), now=1)
    assert p.next_lapse() == 10
    assert p.lapsed(now=9) == []
    assert p.recorded(KEY) == held(A)
    assert KEY not in p and p.next_lapse() is None and p.lapsed(now=20) == []


def test_other_bytes_are_not_held_and_supersede_what_was():
    p = PendingRestores()
    p.handed_out(KEY, sha(A), now=0)
    assert p.hold(KEY, sha(A), held(A), now=1)
    assert not p.hold(KEY, sha(B), held(B), now=2)  # edited again: that edit is indexed now
    assert p.next_lapse() is None  # and the restored bytes it replaced are not indexed later
    assert p.recorded(KEY) is None


def test_nothing_is_held_for_a_path_or_a_project_not_handed_out():
    p = PendingRestores()
    p.handed_out(KEY, sha(A), now=0)
    assert not p.hold(("app", "other.py"), sha(A), held(A, "other.py"), now=1)
    assert not p.hold(("lib", "m.py"), sha(A), Held("lib", ("m.py", 6, 1, A, "{}", 0), None), now=1)


def test_an_unrecorded_restore_lapses_and_gives_back_what_it_held():
    p = PendingRestores(lasts=10)
    p.handed_out(KEY, sha(A), now=0)
    assert p.hold(KEY, sha(A), held(A, reason="repaired"), now=3)
    assert p.lapsed(now=10) == [held(A, reason="repaired")]
    assert KEY not in p
    assert not p.hold(KEY, sha(A), held(A), now=11)  # lapsed: a later read is indexed as sent


def test_a_hand_out_past_its_time_holds_nothing():
    p = PendingRestores(lasts=10)
    p.handed_out(KEY, sha(A), now=0)
    assert not p.hold(KEY, sha(A), held(A), now=10)


def test_asked_again_the_path_keeps_what_it_held_under_the_new_hand_out():
    p = PendingRestores(lasts=10)
    p.handed_out(KEY, sha(A), now=0)
    assert p.hold(KEY, sha(A), held(A), now=1)
    p.handed_out(KEY, sha(B), now=5)
    assert p.next_lapse() == 15
    assert p.lapsed(now=12) == []
    assert p.lapsed(now=15) == [held(A)]


def test_the_oldest_hand_outs_lapse_past_the_most_remembered():
    p = PendingRestores(lasts=10, most=3)
    p.handed_out(("app", "0.py"), sha(A), now=0)
    assert p.hold(("app", "0.py"), sha(A), held(A, "0.py"), now=0)
    for n in range(1, 6):
        p.handed_out(("app", f"{n}.py"), sha(A), now=n)
    assert len(p) <= 4  # three hand-outs, and the oldest until the owner writes what it held
    assert p.next_lapse() == 3  # pushed out at the fourth hand-out: due at once
    assert p.lapsed(now=5) == [held(A, "0.py")]
    assert len(p) == 3 and ("app", "5.py") in p and ("app", "1.py") not in p


def test_held_bytes_are_bounded():
    p = PendingRestores(held_bytes=10)
    for path in ("a.py", "b.py"):
        p.handed_out(("app", path), sha(A), now=0)
    assert p.hold(("app", "a.py"), sha(A), held(A, "a.py"), now=0)
    assert not p.hold(("app", "b.py"), sha(A), held(A, "b.py"), now=0)  # 6 + 6 > 10: indexed as sent
    assert p.hold(("app", "a.py"), sha(A), held(A, "a.py"), now=1)  # its own bytes do not count twice

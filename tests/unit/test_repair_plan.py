"""The repair rule: every branch of plan.classify, as a table."""

import pytest

from codeanalysisd.index.record import NO_CONTENT
from codeanalysisd.records import FileState
from codeanalysisd.repair.plan import (
    NEEDS_CONTENT,
    InHistory,
    InIndex,
    OnDisk,
    RepairAction,
    RepairCase,
    classify,
)

ON_DISK, IN_HISTORY, LOST = RepairCase.ON_DISK, RepairCase.IN_HISTORY, RepairCase.LOST
A, B = b"a" * 32, b"b" * 32
DISK = OnDisk(10, 100, A)
LIVE = InIndex(FileState.LIVE, 10, 100, A, True)
GONE = InIndex(FileState.DELETED, 10, 100, A, True)
HELD = InHistory(holds_index_content=True, latest_present=True, moved_away=False)
HELD_DELETED = InHistory(True, False, False)
LACKING = InHistory(False, True, False)
MOVED = InHistory(False, False, True)


def live(**kw):
    return InIndex(**{"state": FileState.LIVE, "size": 10, "mtime_ns": 100, "sha256": A, "has_source": True, **kw})


CASES = [
    # on disk
    ("new file", DISK, None, None, False, [(ON_DISK, "index")]),
    ("deleted row", DISK, GONE, HELD, False, [(ON_DISK, "revive")]),
    ("stale content", DISK, live(sha256=B), HELD, False, [(ON_DISK, "reindex")]),
    ("facts from before bindings", DISK, live(current=False), HELD, False, [(ON_DISK, "reindex")]),
    ("new stat", DISK, live(mtime_ns=5), HELD, False, [(ON_DISK, "touch")]),
    ("new size", DISK, live(size=11), HELD, False, [(ON_DISK, "touch")]),
    ("history lacks it", DISK, LIVE, LACKING, False, [(ON_DISK, "preserve")]),
    ("no history", DISK, LIVE, None, False, [(ON_DISK, "preserve")]),
    ("touch and preserve", DISK, live(mtime_ns=5), None, True, [(ON_DISK, "touch"), (ON_DISK, "preserve")]),
    # unreadable content is never preserved (there are no bytes)
    ("unreadable", OnDisk(10, 100, NO_CONTENT), live(sha256=NO_CONTENT), None, False, []),
    ("consistent", DISK, LIVE, HELD, False, []),
    ("consistent, history says deleted", DISK, LIVE, HELD_DELETED, False, []),
    # gone from disk, no row
    ("history only", None, None, HELD_DELETED, False, [(IN_HISTORY, "add-deleted")]),
    ("history only, present", None, None, HELD, True, [(IN_HISTORY, "add-deleted")]),
    ("moved away", None, None, MOVED, False, []),
    ("unknown", None, None, None, True, []),
    # gone from disk, content in history
    ("live row", None, LIVE, HELD, False, [(IN_HISTORY, "mark-deleted")]),
    ("live row, restore", None, LIVE, HELD, True, [(IN_HISTORY, "restore")]),
    ("deleted unrecorded", None, GONE, HELD, False, [(IN_HISTORY, "mark-deleted")]),
    ("deleted unrecorded, restore", None, GONE, HELD, True, [(IN_HISTORY, "mark-deleted")]),
    ("deleted and recorded", None, GONE, HELD_DELETED, True, []),
    # gone from disk, content only in the index
    ("lost", None, LIVE, None, False, [(LOST, "preserve"), (LOST, "mark-deleted")]),
    ("lost, restore", None, LIVE, LACKING, True, [(LOST, "preserve"), (LOST, "restore")]),
    ("lost, deleted row", None, GONE, None, False, [(LOST, "preserve")]),
    ("lost, deleted row, history present", None, GONE, LACKING, False, [(LOST, "preserve"), (LOST, "mark-deleted")]),
    ("no source", None, live(has_source=False), None, True, [(LOST, "mark-deleted")]),
    ("never readable", None, live(sha256=NO_CONTENT), LACKING, True, [(LOST, "mark-deleted")]),
    ("no source, deleted", None, InIndex(FileState.DELETED, 0, 0, A, False), None, False, []),
    ("never readable, deleted", None, InIndex(FileState.DELETED, 0, 0, NO_CONTENT, True), LACKING, False, []),
]


@pytest.mark.parametrize("disk, row, kept, restore, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify(disk, row, kept, restore, expected):
    actions = classify("p/m.py", disk, row, kept, restore)
    assert [(a.case, a.action) for a in actions] == expected
    assert all(a.path == "p/m.py" and a.detail for a in actions)


def test_details_say_why_content_is_missing():
    (never,) = classify("m.py", None, live(sha256=NO_CONTENT), None)
    (unstored,) = classify("m.py", None, live(has_source=False), None)
    assert (never.detail, unstored.detail) == ("its content was never readable", "no stored source")


def test_actions_and_cases_keep_the_words_the_bus_reply_and_the_log_use():
    assert [str(a) for a in RepairAction] == ["index", "revive", "reindex", "restore", "touch", "preserve",
                                              "mark-deleted", "add-deleted"]
    assert [f"{c}" for c in RepairCase] == ["on-disk", "in-history", "lost"]
    assert sorted(NEEDS_CONTENT) == ["index", "reindex", "revive"]
    assert "reindex" in NEEDS_CONTENT and "touch" not in NEEDS_CONTENT  # as the repair worker's strings come back

"""What codeanalysisctl add and status show of a project's indexing: the line, the bar, the
rate and the time left, on a terminal and elsewhere."""

import io

from codeanalysisd.cli.progress import Display, Rate, Row, bar, clock, describe


def row(phase="indexing", done=0, total=0, indexed=0, why=""):
    return Row("app", phase, done, total, indexed, why)


def test_the_clock_reads_minutes_and_hours():
    assert [clock(s) for s in (0, 7.4, 125, 3723, -3)] == ["0:00", "0:07", "2:05", "1:02:03", "0:00"]


def test_the_bar_fills_by_the_share_done_and_never_overflows():
    assert bar(0, 100, 10) == "[----------]"
    assert bar(55, 100, 10) == "[#####-----]"
    assert bar(100, 100, 10) == bar(150, 100, 10) == "[##########]"
    assert bar(0, 0, 4) == "[####]"  # nothing to do is done


def test_the_rate_is_taken_over_the_recent_window_and_new_work_starts_it_again():
    rate = Rate(window=10)
    assert rate.per_second() is None
    rate.add(0, 0)
    assert rate.per_second() is None  # one sample tells no speed
    rate.add(2, 100)
    assert rate.per_second() == 50
    for t in range(3, 30):
        rate.add(t, 100 + (t - 2) * 10)  # slower now: 10 files a second
    assert rate.per_second() == 10
    rate.add(31, 5)  # the count went back: other work, whose speed is not known yet
    assert rate.per_second() is None


def test_an_indexing_line_has_files_share_rate_and_time_left():
    line = describe(row(done=120, total=480), 40.0, with_bar=True)
    assert line == "app: indexing [######------------------] 120/480 files  25%, 40 files/s, 0:09 left"
    plain = describe(row(done=120, total=480), None, with_bar=False)
    assert plain == "app: indexing 120/480 files  25%"


def test_a_showing_line_counts_the_files_made_searchable():
    line = describe(row("showing", done=240, total=480), 120.0, with_bar=True)
    assert line == "app: making searchable [############------------] 240/480 files  50%, 120 files/s, 0:02 left"


def test_elsewhere_showing_then_indexing_are_two_phases_each_with_its_line_and_its_own_rate():
    out = io.StringIO()
    shown = Display(out, terminal=False, plain_every=3.0)
    shown.show(row("showing", done=0, total=100), 0.0)
    shown.show(row("showing", done=100, total=100), 1.0)
    shown.show(row("indexing", done=0, total=100), 1.5)  # the count goes back: a new phase, a new rate
    shown.show(row("indexing", done=20, total=100), 2.5)
    lines = out.getvalue().splitlines()
    assert lines == ["app: making searchable 0/100 files   0%", "app: indexing 0/100 files   0%"], lines
    assert shown.rate.per_second() == 20


def test_the_other_phases_say_what_is_going_on():
    assert describe(row("scanning"), None, True) == "app: scanning (comparing the files on disk with the index)"
    assert describe(row("indexing"), None, True) == "app: indexing (counting the files to index)"
    assert describe(row("ready", indexed=7), None, True) == "app: indexed, 7 file(s)"
    stale = describe(row("stale", why="the watcher is inactive"), None, True)
    assert stale == "app: stale: the watcher is inactive"


def test_a_terminal_gets_one_line_redrawn_in_place_cut_to_its_width():
    out = io.StringIO()
    shown = Display(out, terminal=True, width=30)
    shown.show(row(done=1, total=10), 0.0)
    shown.show(row(done=5, total=10), 1.0)
    shown.end("app: indexed")
    frames = out.getvalue().split("\r")
    assert "\n" not in "".join(frames[:-1])  # every frame overwrites the last
    assert [len(f) for f in frames[1:-1]] == [29, 29, 29]  # padded to the width less one: the last frame erased
    assert frames[2].startswith("app: indexing [") and frames[3].strip() == ""
    assert out.getvalue().endswith("\r" + " " * 29 + "\rapp: indexed\n")


def test_elsewhere_a_plain_line_every_few_seconds_and_at_each_new_phase():
    out = io.StringIO()
    shown = Display(out, terminal=False, plain_every=3.0)
    shown.show(row("scanning"), 0.0)
    shown.show(row(done=0, total=100), 0.5)  # a new phase: a line at once
    for t in range(1, 10):
        shown.show(row(done=10 * t, total=100), 0.5 + t * 0.5)  # 4.5 s of answers: one more line, at 3.5 s
    shown.show(row("ready", indexed=100), 5.5)  # no line of its own: the end line says it
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert lines[0].startswith("app: scanning") and lines[1].startswith("app: indexing 0/100")
    # 60 files since the first answer, 3.5 s before
    assert lines[2].startswith("app: indexing 60/100 files  60%, 17 files/s, 0:02 left"), lines[2]

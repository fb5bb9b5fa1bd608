"""codeanalysisctl mcp's pure parts: arguments checked against the tools' own schemas, cursors,
answers bounded to max_chars without a silent cut, and what each tool asks the Manager (a
recording stand-in for the bus; the real bus is in tests/system/test_system_mcp.py)."""

from __future__ import annotations

import asyncio
import json

import pytest
from dbus_fast import DBusError
from hypothesis import given, settings
from hypothesis import strategies as st

from codeanalysisd.cli import restore_write
from codeanalysisd.cli.client import signature_of
from codeanalysisd.cli.mcp import pages, tools
from codeanalysisd.cli.mcp.args import INVALID_ARGUMENT, ToolError, check
from codeanalysisd.cli.mcp.bus import failure, when
from codeanalysisd.cli.mcp.pages import Cursor, dumps, fit, fit_lines, lines_of, page_answer, path_matcher, resume

SEARCH = tools.BY_NAME["search"].input_schema


def refused(schema, arguments) -> str:
    with pytest.raises(ToolError) as caught:
        check(schema, arguments)
    assert caught.value.name == INVALID_ARGUMENT
    return caught.value.message


# ----------------------------------------------------------------------------- arguments
def test_defaults_are_filled_in_and_null_means_not_given():
    args = check(SEARCH, {"query": "join", "project": None})
    assert args == {"query": "join", "mode": "hybrid", "project": "", "path": "", "limit": 20,
                    "max_chars": pages.DEFAULT_CHARS}


@pytest.mark.parametrize(("arguments", "says"), [
    ({}, "query must be given"),
    ({"query": ""}, "query must not be empty"),
    ({"query": 5}, "query must be a string"),
    ({"query": "x", "limit": -1}, "limit must be from 1 to 100"),
    ({"query": "x", "limit": 0}, "limit must be from 1 to 100"),
    ({"query": "x", "limit": 101}, "limit must be from 1 to 100"),
    ({"query": "x", "limit": "ten"}, "limit must be an integer"),
    ({"query": "x", "limit": True}, "limit must be an integer"),
    ({"query": "x", "limit": 2.5}, "limit must be a whole number"),
    ({"query": "x", "mode": "fuzzy"}, "mode must be one of hybrid, text, semantic"),
    ({"query": "x", "max_chars": 10}, "max_chars must be from 1000 to 40000"),
    ({"query": "x", "colour": "red"}, "unknown argument(s) colour"),
    ({"query": "a\0b"}, "must not hold a NUL"),
    ({"query": "x" * 1025}, "at most 1024 characters"),
])
def test_bad_arguments_are_named_with_what_they_must_be(arguments, says):
    assert says in refused(SEARCH, arguments)


def test_a_whole_float_is_an_integer_and_numbers_take_integers():
    assert check(SEARCH, {"query": "x", "limit": 5.0})["limit"] == 5
    stop = tools.BY_NAME["stop_repair_worker"].input_schema
    assert check(stop, {"timeout": 3})["timeout"] == 3.0
    assert "must be a number" in refused(stop, {"timeout": float("nan")})
    assert "force must be true or false" in refused(stop, {"force": "yes"})


def test_every_tool_schema_is_checkable_and_closed():
    for tool in tools.TOOLS:
        s = tool.input_schema
        assert s["type"] == "object" and s["additionalProperties"] is False
        given = {name: s["properties"][name].get("enum", ["x" * 3])[0] for name in s.get("required", ())}
        defaults = check(s, given)
        # every argument but the required ones has a default
        assert set(defaults) == set(s["properties"]) - {"cursor"}, tool.name
    assert len(tools.TOOLS) <= 16
    assert {"repair_database", "start_repair_worker", "stop_repair_worker", "repair_worker_status"} <= set(
        tools.BY_NAME)


# ----------------------------------------------------------------------------- cursors
def test_a_cursor_round_trips_and_belongs_to_its_tool():
    cursor = Cursor("search", {"query": "a b", "mode": "text"}, 40, {"sha": "ab"})
    text = cursor.encode()
    assert text.isascii() and "=" not in text
    assert Cursor.decode("search", text) == cursor
    with pytest.raises(ToolError, match="continues 'search', not find_symbol"):
        Cursor.decode("find_symbol", text)


@given(st.text(max_size=200))
@settings(max_examples=300)
def test_any_text_as_a_cursor_is_a_bad_argument_or_a_cursor(text):
    try:
        decoded = Cursor.decode("search", text)
    except ToolError as exc:
        assert exc.name == INVALID_ARGUMENT
    else:
        assert decoded.offset >= 0 and isinstance(decoded.query, dict)


def test_resume_takes_the_query_from_the_cursor_and_refuses_a_different_one():
    keys = ("query", "mode", "project", "path")
    start = check(SEARCH, {"query": "join"})
    query, offset, _ = resume("search", start, {"query": "join"}, keys)
    assert offset == 0 and query["query"] == "join"
    text = Cursor("search", query, 20).encode()
    again = check(SEARCH, {"cursor": text, "query": "join", "limit": 5})
    assert resume("search", again, {"cursor": text, "query": "join", "limit": 5}, keys)[:2] == (query, 20)
    only = check(SEARCH, {"query": "join", "cursor": text})
    assert resume("search", only, {"cursor": text}, keys)[1] == 20
    other = check(SEARCH, {"cursor": text, "query": "split"})
    with pytest.raises(ToolError, match="another query"):
        resume("search", other, {"cursor": text, "query": "split"}, keys)


# ----------------------------------------------------------------------------- bounding
def rows(n: int, width: int = 50) -> list[dict]:
    return [{"project": "app", "path": f"m{i}.py", "text": "x" * width} for i in range(n)]


def builder(items):
    def build(shown, compact):
        out = {"results": shown, "more": len(shown) < len(items)}
        if out["more"]:
            out["next_cursor"] = Cursor("search", {}, len(shown)).encode()
        out["freshness"] = {"app": {"stale": False}} if compact else {"app": {"stale": False, "why": "y" * 50}}
        return out

    return build


def page_of(items, max_chars, cuttable=("text",)):
    return fit(items, max_chars, builder(items), cuttable)


@given(st.integers(0, 300), st.integers(1000, 20000), st.integers(0, 500), st.booleans())
@settings(max_examples=200)
def test_an_answer_never_exceeds_max_chars_and_says_what_it_left_out(count, max_chars, width, uneven):
    items = rows(count, width)
    if uneven:  # items of different lengths, some of them not ASCII: lengths are characters
        items = [{**item, "text": "é" * (i * 37 % (width + 1))} for i, item in enumerate(items)]
    answer = page_of(items, max_chars)
    assert len(dumps(answer)) <= max_chars
    shown = answer["results"]
    assert shown == items[:len(shown)] or ("cut" in shown[0] and len(shown) == 1)
    if len(shown) < count:
        assert answer["more"] and answer["next_cursor"]
        assert any("did not fit" in n for n in answer.get("notes", []))
    if shown == items[:len(shown)] and len(shown) < count:  # as many as fit: one more would not
        compact = "why" not in dumps(answer["freshness"])
        one_more = page_answer(items, items[:len(shown) + 1], max_chars, builder(items), compact)
        assert len(dumps(one_more)) > max_chars


def test_a_result_too_long_alone_is_cut_and_says_so():
    answer = page_of(rows(3, 5000), 1000)
    (only,) = answer["results"]
    assert only["cut"].startswith("text: the first ") and only["cut"].endswith(" of 5000 characters")
    assert len(dumps(answer)) <= 1000 and answer["more"]


def test_no_items_no_notes():
    answer = page_of([], 1000)
    assert answer["results"] == [] and "notes" not in answer and not answer["more"]


def test_lines_keep_their_ends_as_python_numbers_them():
    assert lines_of("a\nb\r\nc\rd") == ["a\n", "b\r\n", "c\r", "d"]
    assert lines_of("") == []


def lines_page(lines, first, column, last, max_chars):
    def build(span):
        out = {"start_line": span.first, "end_line": span.last, "text": span.text, "more": span.next is not None}
        if span.next:
            out["next_cursor"] = Cursor("read_file", {}, 0, {"line": span.next[0], "column": span.next[1]}).encode()
        return out

    return fit_lines(lines, first, column, last, max_chars, build)


def test_a_file_read_in_pages_is_every_character_once():
    text = "".join(f"line {i}: " + "é\t\"" * (i % 7) * 40 + "\n" for i in range(1, 400)) + "x" * 9000 + "\nend"
    lines = lines_of(text)
    got, line, column = "", 1, 0
    for _ in range(1000):
        answer = lines_page(lines, line, column, len(lines), 2000)
        assert len(dumps(answer)) <= 2000
        got += answer["text"]
        if not answer["more"]:
            break
        at = Cursor.decode("read_file", answer["next_cursor"]).extra
        line, column = at["line"], at["column"]
    assert got == text


def test_path_globs_match_across_directories():
    assert path_matcher("")("any/thing.py")
    assert path_matcher("tests/*")("tests/unit/test_a.py") and not path_matcher("tests/*")("src/tests.py")
    assert path_matcher("src/")("src/pkg/mod.py") and path_matcher("/src/*")("src/m.py")
    assert path_matcher("*/models.py")("app/db/models.py")


# ----------------------------------------------------------------------------- the tools
class Recorder:
    """The bus as the tools see it: each call recorded, answered from a table."""

    def __init__(self, replies):
        self.calls: list[tuple] = []
        self.replies = replies

    async def __call__(self, member, *body):
        self.calls.append((member, *body))
        reply = self.replies[member]
        if isinstance(reply, Exception):
            raise reply
        return reply(*body) if callable(reply) else reply

    async def properties(self):
        return {"ChunksPending": 0}


FRESH = [["app", 3, 0, 1700000000.0, False, ""]]


def run(name, arguments, replies, default_project=""):
    bus = Recorder({"IndexStatus": [FRESH], **replies})
    tool = tools.BY_NAME[name]
    bridge = tools.Bridge(bus, default_project, cwd="/")
    return asyncio.run(tool.run(bridge, tool.check(arguments))), bus.calls


def test_repair_worker_tools_call_the_manager_with_their_arguments():
    report = [{"running": True, "batch_size": 50}]
    answer, calls = run("start_repair_worker", {"project": "app", "batch_size": 50, "poll_interval": 2},
                        {"StartRepairWorker": report})
    assert ("StartRepairWorker", "app", 50, 2.0) in calls and answer["running"] is True
    assert answer["freshness"]["app"]["stale"] is False
    _, calls = run("start_repair_worker", {}, {"StartRepairWorker": report})
    assert ("StartRepairWorker", "", 0, 0.0) in calls
    _, calls = run("stop_repair_worker", {"timeout": 5, "force": True}, {"StopRepairWorker": report})
    assert calls == [("StopRepairWorker", 5.0, True)]
    _, calls = run("stop_repair_worker", {}, {"StopRepairWorker": report})
    assert calls == [("StopRepairWorker", 30.0, False)]
    status = [{"cycle": 2, "projects": [["app", 10, 1, "reindex", "m.py", 1.0]]}]
    answer, calls = run("repair_worker_status", {"project": "app"}, {"RepairWorkerStatus": status})
    assert ("RepairWorkerStatus", "app") in calls
    assert answer["by_project"] == [["app", 10, 1, "reindex", "m.py", 1.0]] and answer["cycle"] == 2
    for member, reply in (("StartRepairWorker", "sud"), ("StopRepairWorker", "db"), ("RepairWorkerStatus", "s")):
        assert signature_of(member) == reply


def test_a_service_without_a_method_is_a_clear_tool_error():
    missing = failure(DBusError("org.freedesktop.DBus.Error.UnknownMethod", "No such method"), "StartRepairWorker")
    assert missing.name == "org.freedesktop.DBus.Error.UnknownMethod"
    assert missing.message.startswith("this codeanalysisd does not have StartRepairWorker")
    unknown = DBusError("org.freedesktop.DBus.Error.UnknownMethod", "No such method")
    with pytest.raises(ToolError, match="does not have StopRepairWorker"):
        run("stop_repair_worker", {}, {"StopRepairWorker": failure(unknown, "StopRepairWorker")})


def test_search_pages_over_the_services_ranking_with_freshness_of_the_projects_shown():
    hits = [["app", f"m{i}.py", i + 1, "", f"hit {i}", 1.0 - i / 100] for i in range(30)]
    answer, calls = run("search", {"query": "hit", "mode": "text", "limit": 10},
                        {"Search": lambda q, p, n: [hits[:n]]})
    assert calls[0] == ("Search", "hit", "", 11)
    assert [r["path"] for r in answer["results"]] == [f"m{i}.py" for i in range(10)]
    assert answer["more"] and answer["freshness"] == {"app": {"stale": False, "files_indexed": 3,
                                                              "files_pending": 0,
                                                              "last_change": when(1700000000.0)}}
    second, calls = run("search", {"cursor": answer["next_cursor"], "limit": 10},
                        {"Search": lambda q, p, n: [hits[:n]]})
    assert calls[0] == ("Search", "hit", "", 21) and second["results"][0]["path"] == "m10.py"
    last, _ = run("search", {"cursor": second["next_cursor"], "limit": 10}, {"Search": lambda q, p, n: [hits[:n]]})
    assert [r["path"] for r in last["results"]] == [f"m{i}.py" for i in range(20, 30)] and not last["more"]


def test_hybrid_search_without_the_vectorizer_answers_full_text_and_says_so():
    down = ToolError("org.codeanalysis1.Error.Unavailable", "the vectorizer is not running")
    answer, calls = run("search", {"query": "join"}, {"HybridSearch": down,
                                                      "Search": [[["app", "a.py", 1, "", "join", 1.0]]]})
    assert answer["mode"] == "text" and answer["results"][0]["path"] == "a.py"
    assert [c[0] for c in calls if c[0] != "IndexStatus"] == ["HybridSearch", "Search"]
    assert any("full-text results only" in n for n in answer["notes"])
    with pytest.raises(ToolError):
        run("search", {"query": "join", "mode": "semantic"}, {"SemanticSearch": down})


def test_a_path_filter_asks_for_more_until_the_page_is_full():
    hits = [["app", f"{'tests' if i % 10 == 0 else 'src'}/m{i}.py", 1, "", "t", 1.0] for i in range(1000)]
    answer, calls = run("search", {"query": "t", "mode": "text", "path": "tests/*", "limit": 20},
                        {"Search": lambda q, p, n: [hits[:n]]})
    assert len(answer["results"]) == 20 and all(r["path"].startswith("tests/") for r in answer["results"])
    assert [c[3] for c in calls if c[0] == "Search"] == [200, 800]


def test_read_file_pins_the_content_of_its_first_page():
    source = "".join(f"print({i})\n" for i in range(2000)).encode()
    answer, calls = run("read_file", {"project": "app", "path": "m.py", "max_chars": 1000},
                        {"GetFileSource": [source]})
    assert answer["start_line"] == 1 and answer["more"] and answer["lines"] == 2000
    _, calls = run("read_file", {"cursor": answer["next_cursor"]}, {"GetFileSource": [source]})
    assert calls[0] == ("GetFileSource", "app", "m.py", answer["sha256"][:16])
    with pytest.raises(ToolError, match="past the end"):
        run("read_file", {"project": "app", "path": "m.py", "start_line": 5000}, {"GetFileSource": [source]})


def test_a_file_tool_finds_the_project_holding_an_absolute_path():
    answer, calls = run("file_history", {"path": "/srv/app/pkg/m.py"},
                        {"ListProjects": [[["other", "other", "/srv", 1, "active"],
                                           ["app", "app", "/srv/app", 1, "active"]]],
                         "ListVersions": [[[1, "ab" * 32, 1.0, 3, "added", True, ""]]]})
    assert ("ListVersions", "app", "/srv/app/pkg/m.py") in calls and answer["versions"][0]["version"] == 1
    with pytest.raises(ToolError, match="project must be given"):
        run("file_history", {"path": "m.py"}, {"ListProjects": [[]]})


def test_a_restore_the_client_refuses_is_named_as_the_service_would():
    assert tools.refusal(restore_write.TargetExists("there")).name == "org.codeanalysis1.Error.Exists"
    assert tools.refusal(restore_write.LinkOnTheWay("link")).name == "org.codeanalysis1.Error.AccessDenied"
    assert tools.refusal(restore_write.Mismatch("sha")).name == "org.codeanalysis1.Error.Failed"


def test_a_report_of_unknown_shape_is_bounded_and_says_what_was_cut():
    report = {"checked": list(range(20000)), "state": "running"}
    out = tools.shrink(report, 1000)
    assert len(dumps(out)) <= 1000 and out["state"] == "running"
    assert out["checked"] == list(range(len(out["checked"])))
    assert any(n.startswith("checked: the first ") for n in out["notes"])
    assert tools.shrink({"a": 1}, 1000) == {"a": 1}


def test_answers_are_json_an_agent_reads():
    answer, _ = run("list_projects", {}, {"ListProjects": [[["app", "app", "/srv/app", 3, "active"]]]})
    assert json.loads(dumps(answer))["projects"][0]["project"] == "app"


def test_freshness_is_asked_once_for_a_burst_of_calls_and_again_after_a_change(monkeypatch):
    bus = Recorder({"IndexStatus": [FRESH]})
    bridge = tools.Bridge(bus, "", cwd="/")
    clock = [100.0]
    monkeypatch.setattr(tools.time, "monotonic", lambda: clock[0])
    for _ in range(3):
        assert asyncio.run(bridge.freshness(""))[0]["app"][4] is False
    assert len(bus.calls) == 1
    clock[0] += 2 * tools.FRESH_FOR
    asyncio.run(bridge.freshness(""))
    bridge.changed()
    asyncio.run(bridge.freshness(""))
    assert len(bus.calls) == 3


# ----------------------------------------------------------------------------- structure
MORE_CALLS = ["", "", "", "25 more calls not shown", 25, "more"]


def test_structure_arguments_are_checked_before_the_bus_is_asked():
    relations = tools.BY_NAME["relations"].input_schema
    assert "kind must be one of hierarchy, calls, usages" in refused(relations, {"kind": "imports", "target": "a"})
    assert "target must be given" in refused(relations, {"kind": "usages"})
    assert "depth must be from 0 to 64" in refused(relations, {"kind": "calls", "target": "f", "depth": -1})
    for arguments, says in (({"kind": "hierarchy", "target": "C", "direction": "callers"},
                             "direction for hierarchy must be up or down"),
                            ({"kind": "calls", "target": "f", "direction": "down"},
                             "direction for calls must be callers, callees or both"),
                            ({"kind": "usages", "target": "f", "direction": "up"}, "leave direction out"),
                            ({"kind": "usages", "target": "f", "depth": 3}, "leave depth out")):
        with pytest.raises(ToolError, match=says):
            run("relations", {**arguments, "project": "app"}, {})
    with pytest.raises(ToolError, match="leave direction out"):
        run("imports", {"project": "app", "module": "a", "to": "b", "direction": "in"}, {})
    imports = tools.BY_NAME["imports"].input_schema
    assert "direction must be one of out, in" in refused(imports, {"module": "a", "direction": "up"})
    assert "module must be given" in refused(imports, {})
    assert "path must be given" in refused(tools.BY_NAME["outline"].input_schema, {"project": "app"})


def test_a_direction_left_out_is_the_kinds_first():
    _, calls = run("relations", {"kind": "calls", "target": "pkg.f", "project": "app"}, {"CallGraph": [[]]})
    assert ("CallGraph", "app", "pkg.f", "callers", 1) in calls
    _, calls = run("relations", {"kind": "hierarchy", "target": "C", "project": "app"}, {"ClassHierarchy": [[]]})
    assert ("ClassHierarchy", "app", "C", "up") in calls
    answer, calls = run("relations", {"kind": "usages", "target": "pkg.f", "limit": 10}, {"FindUsages": [[]]})
    assert ("FindUsages", "pkg.f", "", 10) in calls and "direction" not in answer
    assert answer["results"] == [] and "no use of pkg.f found" in answer["notes"]


def test_calls_are_paged_over_the_services_answer_and_its_cut_is_said():
    rows = [["pkg.f", f"pkg.g{i}", "pkg/m.py", "f", i + 1, "resolved"] for i in range(1000)] + [MORE_CALLS]
    answer, calls = run("relations", {"kind": "calls", "target": "pkg.f", "direction": "callees", "depth": 0,
                                      "project": "app", "limit": 200, "max_chars": 40000},
                        {"CallGraph": [rows]})
    assert ("CallGraph", "app", "pkg.f", "callees", 0) in calls
    assert answer["results"][0] == {"caller": "pkg.f", "callee": "pkg.g0", "path": "pkg/m.py", "in": "f",
                                    "line": 1, "resolution": "resolved"}
    assert answer["more"] and answer["freshness"]["app"]["stale"] is False
    assert any("25 more calls not shown" in n for n in answer["notes"])
    seen, cursor = [r["callee"] for r in answer["results"]], answer["next_cursor"]
    while cursor:
        page, _ = run("relations", {"cursor": cursor, "limit": 200, "max_chars": 40000}, {"CallGraph": [rows]})
        seen += [r["callee"] for r in page["results"]]
        cursor = page.get("next_cursor")
    assert seen == [f"pkg.g{i}" for i in range(1000)]  # every row once, the service's cut row never among them


def test_usages_ask_the_service_for_what_the_page_needs_and_go_on_past_it():
    def usages(target, project, limit):
        rows = [["app", f"m{i}.py", "", "call", "f", i + 1, 0, "resolved"] for i in range(min(limit, 30))]
        return [rows + ([["", "", "", "more", f"{30 - limit} more uses not shown", 30 - limit, 0, "more"]]
                        if limit < 30 else [])]

    answer, calls = run("relations", {"kind": "usages", "target": "pkg.f", "limit": 20}, {"FindUsages": usages})
    assert ("FindUsages", "pkg.f", "", 20) in calls and len(answer["results"]) == 20 and answer["more"]
    assert not any("at most" in n for n in answer.get("notes", []))  # not the service's bound: the next page
    rest, calls = run("relations", {"cursor": answer["next_cursor"], "limit": 20}, {"FindUsages": usages})
    assert ("FindUsages", "pkg.f", "", 40) in calls
    assert [r["path"] for r in rest["results"]] == [f"m{i}.py" for i in range(20, 30)] and not rest["more"]


def test_hierarchy_keeps_the_levels_asked_for():
    rows = [["pkg.C", "pkg", "pkg/__init__.py", 3, 0], ["pkg.base.B", "pkg.base", "pkg/base.py", 1, 1],
            ["object", "builtins", "", 0, 2]]
    near, _ = run("relations", {"kind": "hierarchy", "target": "C", "project": "app"}, {"ClassHierarchy": [rows]})
    assert [r["class"] for r in near["results"]] == ["pkg.C", "pkg.base.B"]
    every, _ = run("relations", {"kind": "hierarchy", "target": "C", "depth": 0, "project": "app"},
                   {"ClassHierarchy": [rows]})
    assert [r["depth"] for r in every["results"]] == [0, 1, 2] and every["direction"] == "up"


def test_imports_list_or_chain():
    rows = [["pkg.cli", "pkg.db", "pkg/cli.py", 2], ["pkg.cli", "os", "pkg/cli.py", 1]]
    answer, calls = run("imports", {"project": "app", "module": "pkg.cli"}, {"Imports": [rows]})
    assert ("Imports", "app", "pkg.cli", "out", 1) in calls
    assert answer["imports"][0] == {"importer": "pkg.cli", "imported": "pkg.db", "path": "pkg/cli.py", "line": 2}
    chain, calls = run("imports", {"project": "app", "module": "pkg.cli", "to": "pkg.store"},
                       {"ImportChain": [["pkg.cli", "pkg.db", "pkg.store"]]})
    assert ("ImportChain", "app", "pkg.cli", "pkg.store") in calls
    assert chain["chain"] == ["pkg.cli", "pkg.db", "pkg.store"] and chain["found"] and not chain["more"]
    none, _ = run("imports", {"project": "app", "module": "pkg.store", "to": "pkg.cli"}, {"ImportChain": [[]]})
    assert none["found"] is False and none["chain"] == [] and "does not import" in none["notes"][0]
    assert none["freshness"]["app"]["stale"] is False


def test_an_outline_says_how_deep_each_definition_is_and_a_long_one_is_paged():
    rows = [["C", "class", 1, 400, 0, "Base"]] + [[f"C.m{i}", "method", 2 + i, 2 + i, 1, "(self)"]
                                                  for i in range(300)]
    answer, calls = run("outline", {"project": "app", "path": "pkg/m.py", "max_chars": 1000},
                        {"Outline": [rows]})
    assert ("Outline", "app", "pkg/m.py") in calls
    assert answer["definitions"][0] == {"name": "C", "kind": "class", "line": 1, "end_line": 400, "depth": 0,
                                        "signature": "Base"}
    assert answer["more"] and answer["path"] == "pkg/m.py" and len(dumps(answer)) <= 1000
    names, cursor = [], None
    while True:
        page, _ = run("outline", {"cursor": cursor} if cursor else {"project": "app", "path": "pkg/m.py"},
                      {"Outline": [rows]})
        names += [d["name"] for d in page["definitions"]]
        cursor = page.get("next_cursor")
        if not page["more"]:
            break
    assert names == [r[0] for r in rows]


def test_a_structure_question_without_a_project_takes_the_working_directorys():
    bus = Recorder({"IndexStatus": [FRESH], "ListProjects": [[["app", "app", "/srv/app", 1, "active"]]],
                    "ClassHierarchy": [[["pkg.C", "pkg", "pkg/__init__.py", 3, 0]]]})
    tool = tools.BY_NAME["relations"]
    bridge = tools.Bridge(bus, "", cwd="/srv/app/pkg")
    asyncio.run(tool.run(bridge, tool.check({"kind": "hierarchy", "target": "C"})))
    assert ("ClassHierarchy", "app", "C", "up") in bus.calls
    with pytest.raises(ToolError, match="project must be given"):
        run("imports", {"module": "pkg"}, {"ListProjects": [[]]})


def test_index_status_gives_the_phase_and_while_there_is_a_count_the_files_done_of_all():
    assert tools._phase("showing", 120, 480) == {"phase": "showing", "files_done": 120, "files_in_work": 480}
    assert tools._phase("indexing", 0, 480) == {"phase": "indexing", "files_done": 0, "files_in_work": 480}
    assert tools._phase("indexing", 0, 0) == {"phase": "indexing"}  # not counted yet
    assert tools._phase("ready", 0, 0) == {"phase": "ready"}
    assert tools._phase("", 0, 0) == {"phase": ""}  # no progress row for it (a race with its removal)

"""ListProjects and ListProblems answer in pages of the caller's view, and their clients read
every page: no reply comes near the bus's message limit however many rows there are."""

import asyncio
import json
import os
import pathlib
import shutil
import tempfile
import types

import pytest

from codeanalysisd.access import Caller
from codeanalysisd.bus import api, owner_client
from codeanalysisd.cli import main as cli
from codeanalysisd.config import Config
from codeanalysisd.db.store import Store
from codeanalysisd.index.reading import file_update, read_file
from codeanalysisd.owner import lookup
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.manager import Manager
from codeanalysisd.paths import roots_overlap
from codeanalysisd.tree import Tree

ROOT = Caller(0, frozenset({0}))
NOBODY = Caller(65534, frozenset({65534}))


class AsIf:
    """The owner's caller registry, answering for one caller."""

    def __init__(self) -> None:
        self.caller = ROOT

    async def current(self) -> Caller:
        return self.caller


@pytest.fixture
def owner(tmp_path):
    """A Manager over a fresh store, with projects a, hidden and c (in that order, the middle
    one unreadable to others) and three unparsable files in a."""
    trees = pathlib.Path(tempfile.mkdtemp(dir="/tmp"))  # /tmp: searchable by every user
    trees.chmod(0o755)
    store, _ = Store.open(str(tmp_path / "index.sqlite3"), str(tmp_path / "history.sqlite3"))
    ids = []
    for name, mode in (("a", 0o755), ("hidden", 0o700), ("c", 0o755)):
        root = trees / name
        root.mkdir(mode=mode)
        root.chmod(mode)
        ids.append(store.writes.projects.add(str(root), roots_overlap).id)
    first = str(trees / "a")
    for n in range(3):
        path = pathlib.Path(first, f"bad{n}.py")
        path.write_text("def (:\n")
        path.chmod(0o644)
    updates = [file_update(read_file(Tree(first), f"bad{n}.py"), 1 << 20)[0] for n in range(3)]  # type: ignore[arg-type]
    store.writes.files.index(ids[0], updates)
    core = OwnerCore(store, types.SimpleNamespace(bus=None), Config())  # type: ignore[arg-type]
    core.callers = AsIf()  # type: ignore[assignment]
    loop = asyncio.new_event_loop()
    manager = Manager(core)

    def ask(name, *args, caller=ROOT):
        core.callers.caller = caller  # type: ignore[union-attr]
        handler = vars(Manager)[name].__dict__["__DBUS_METHOD"].fn
        return loop.run_until_complete(handler(manager, *args))

    yield types.SimpleNamespace(ask=ask, ids=ids, store=store)
    loop.close()
    store.close()
    shutil.rmtree(trees)


def test_list_projects_pages_in_creation_order(owner):
    ids = owner.ids
    assert [r[0] for r in owner.ask("ListProjects", 0, 0)] == ids
    assert [r[0] for r in owner.ask("ListProjects", 0, 2)] == ids[:2]
    assert [r[0] for r in owner.ask("ListProjects", 2, 2)] == ids[2:]
    assert owner.ask("ListProjects", 3, 2) == []
    assert owner.ask("ListProjects", 2**32 - 1, 2**32 - 1) == []


@pytest.mark.skipif(os.getuid() == NOBODY.uid, reason="the caller must be someone else")
def test_list_projects_pages_what_the_caller_may_see(owner):
    a, _hidden, c = owner.ids
    assert [r[0] for r in owner.ask("ListProjects", 0, 0, caller=NOBODY)] == [a, c]
    assert [r[0] for r in owner.ask("ListProjects", 0, 1, caller=NOBODY)] == [a]
    assert [r[0] for r in owner.ask("ListProjects", 1, 1, caller=NOBODY)] == [c]
    assert owner.ask("ListProjects", 2, 1, caller=NOBODY) == []


def test_list_problems_pages_sorted_rows(owner):
    a = owner.ids[0]
    every = owner.ask("ListProblems", a, 0, 0)
    assert [r[1] for r in every] == ["bad0.py", "bad1.py", "bad2.py"]
    assert owner.ask("ListProblems", a, 0, 2) == every[:2]
    assert owner.ask("ListProblems", a, 2, 2) == every[2:]
    assert owner.ask("ListProblems", "", 1, 1) == every[1:2]
    assert owner.ask("ListProblems", a, 3, 0) == []
    assert owner.ask("ListProblems", a, 1, 0, caller=NOBODY) == every[1:]


def test_a_long_problem_text_is_cut(owner):
    c = owner.ids[2]
    owner.store.writes.files.set_skipped(c, "", [("link.py", "x" * 10_000), ("ok.py", "y" * lookup.MAX_PROBLEM_TEXT)])
    (cut, whole) = owner.ask("ListProblems", c, 0, 0)
    assert cut[2] == "x" * (lookup.MAX_PROBLEM_TEXT - 2) + " …" and len(cut[2]) == lookup.MAX_PROBLEM_TEXT
    assert whole[2] == "y" * lookup.MAX_PROBLEM_TEXT


def test_no_page_is_larger_than_the_list_page():
    assert len(lookup.paged(range(5000), 0, 0)) == api.LIST_PAGE == 1000
    assert lookup.paged(range(5000), 10, 5000) == list(range(10, 10 + api.LIST_PAGE))
    assert lookup.paged(range(5000), 4990, 0) == list(range(4990, 5000))
    assert lookup.paged(iter(range(5)), 2**32 - 1, 0) == []


ROWS = [[f"p{n}", f"p{n}", f"/srv/p{n}", n, "active", 1000, 64769, 100 + n] for n in range(2 * api.LIST_PAGE + 5)]


def pages(rows, sent):
    """A peer answering a paged call: the rows from offset, at most limit (0: a full page)."""
    def answer(offset, limit):
        sent.append((offset, limit))
        return [rows[offset:offset + (limit or api.LIST_PAGE)]]
    return answer


def test_the_workers_client_reads_every_page(monkeypatch):
    sent: list[tuple[int, int]] = []
    answer = pages(ROWS, sent)

    async def fake_call(bus, name, path, interface, member, signature="", body=None):
        assert (member, signature) == ("Projects", "uu")
        return answer(*body)

    monkeypatch.setattr(owner_client, "call", fake_call)
    found = asyncio.run(owner_client.OwnerClient(None).list_projects())  # type: ignore[arg-type]
    assert [p.id for p in found] == [r[0] for r in ROWS]
    assert sent == [(0, 1000), (1000, 1000), (2000, 1000)]


def test_the_cli_reads_every_page(capsys):
    sent: list[tuple[int, int]] = []
    answer = pages(ROWS, sent)

    async def client(member, *body):
        assert member == "ListProjects"
        return answer(*body)

    asyncio.run(cli.cmd_projects(client, types.SimpleNamespace(json=True)))  # type: ignore[arg-type]
    assert [p["id"] for p in json.loads(capsys.readouterr().out)] == [r[0] for r in ROWS]
    assert sent == [(0, 1000), (1000, 1000), (2000, 1000)]

    problems = [["p", f"f{n}.py", "bad\nworse"] for n in range(api.LIST_PAGE)]  # exactly one full page
    sent.clear()
    answer = pages(problems, sent)

    async def client2(member, project, offset, limit):
        assert (member, project) == ("ListProblems", "p")
        return answer(offset, limit)

    asyncio.run(cli.cmd_problems(client2, types.SimpleNamespace(json=True, project="p")))  # type: ignore[arg-type]
    out = json.loads(capsys.readouterr().out)
    assert len(out) == api.LIST_PAGE and out[0] == {"project": "p", "path": "f0.py", "problems": ["bad", "worse"]}
    assert sent == [(0, 1000), (1000, 1000)]  # a full page asks for the next, which is empty

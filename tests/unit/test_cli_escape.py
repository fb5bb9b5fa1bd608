"""codeanalysisctl shows control characters from the index as escapes, never raw to a terminal."""

import argparse
import asyncio
import io
import json
import sys

import pytest

from codeanalysisd.cli import main as cli
from codeanalysisd.cli.main import printable

CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0)]


def test_every_c0_c1_control_and_del_becomes_a_visible_escape():
    for code in CONTROLS:
        assert printable(f"a{chr(code)}b") == f"a\\x{code:02x}b"
    assert printable("\x1b]0;owned\x07\x1b[2J\r\b") == "\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x08"
    assert printable("CSI\x9b31m NEL\x85") == "CSI\\x9b31m NEL\\x85"


def test_everything_else_is_unchanged():
    text = "".join(chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x800)]) + "é ● 日本 🐍 \\x1b"
    assert printable(text) == text
    assert printable("") == ""


def test_keep_spares_the_tab_of_a_line_of_source():
    assert printable("\tx = 1\t# note\x1b[0m", "\t") == "\tx = 1\t# note\\x1b[0m"
    assert printable("a\tb") == "a\\x09b"  # a tab in a path or a name is escaped
    assert printable("a\tb\nc\rd", "\t\n") == "a\tb\nc\\x0dd"


class FakeClient:
    """Answers a call with canned reply values, as Client would after the bus."""

    def __init__(self, replies):
        self.replies = replies
        self.calls = []

    async def __call__(self, member, *body):
        self.calls.append((member, body))
        return self.replies[member]


EVIL_PATH = "pkg/\x1b]0;pwned\x07evil\nname.py"
EVIL_SNIPPET = "\tx = '\x1b[2J\x1b[31m'  # \x9b1m\x7f"
SEARCH_ROWS = [["app", EVIL_PATH, 3, "C.\x1bm", EVIL_SNIPPET, 1.5], ["app", "ok.py", 1, "", "plain", 0.5]]


def run_search(json_mode):
    client = FakeClient({"Search": [SEARCH_ROWS]})
    args = argparse.Namespace(query=["x"], project="", limit=20, json=json_mode, context=None, page=1, color="auto")
    return asyncio.run(cli.cmd_search(client, args))


def test_search_prints_paths_symbols_and_snippets_escaped(capsys):
    assert run_search(json_mode=False) == 0
    out = capsys.readouterr().out
    assert out == ("app:pkg/\\x1b]0;pwned\\x07evil\\x0aname.py:3 (C.\\x1bm): "
                   "\tx = '\\x1b[2J\\x1b[31m'  # \\x9b1m\\x7f\n"
                   "app:ok.py:1: plain\n")
    assert not any(ord(ch) in CONTROLS for ch in out.replace("\n", "").replace("\t", ""))


def test_search_json_is_unchanged(capsys):
    assert run_search(json_mode=True) == 0
    out = capsys.readouterr().out
    keys = ("project", "path", "line", "symbol", "snippet", "score")
    assert json.loads(out) == [dict(zip(keys, row, strict=True)) for row in SEARCH_ROWS]
    assert "\\u001b" in out and "\x1b" not in out


def test_def_refs_and_problems_escape_what_they_print(capsys):
    client = FakeClient({
        "FindSymbol": [[["app", "m\x1b.py", "C.f\x1b", "method", 2, 4, 3, "(x='\x1b[5m')", "Doc\x9b."]]],
        "FindReferences": [[["app", "m.py", "os.\x1bx", "call", "f\x07", 2, 4]]],
        "ListProblems": [[["app", "link\x1b.py", "symbolic link to /home/v/\x1b[8m"]]],
    })
    asyncio.run(cli.cmd_def(client, argparse.Namespace(name="f", project="", kind="", limit=5, json=False)))
    asyncio.run(cli.cmd_refs(client, argparse.Namespace(name="x", project="", limit=5, json=False)))
    asyncio.run(cli.cmd_problems(client, argparse.Namespace(project="", json=False)))
    assert capsys.readouterr().out == (
        "app:m\\x1b.py:2:4: method C.f\\x1b(x='\\x1b[5m')  # Doc\\x9b.\n"
        "app:m.py:2:4: call os.\\x1bx in f\\x07\n"
        "app:link\\x1b.py: symbolic link to /home/v/\\x1b[8m\n")


def test_a_table_escapes_its_cells(capsys):
    client = FakeClient({"ListProjects": [[["app", "a\x1bpp", "/srv/\x1b[8mhidden", 3, "active"]]]})
    asyncio.run(cli.cmd_projects(client, argparse.Namespace(json=False)))
    out = capsys.readouterr().out
    assert "a\\x1bpp" in out and "/srv/\\x1b[8mhidden" in out and "\x1b" not in out


SOURCE = b"print('hi')\r\x1b[2K\tprint('other')\n\xff\xfe\n"


class Terminal:
    """stdout as a terminal: isatty, with the bytes written kept."""

    encoding = "utf-8"

    def __init__(self):
        self.buffer = io.BytesIO()

    def isatty(self):
        return True

    def flush(self):
        pass


def show(monkeypatch, stdout, source=SOURCE):
    monkeypatch.setattr(sys, "stdout", stdout)
    client = FakeClient({"GetFileSource": [source]})
    return asyncio.run(cli.cmd_show(client, argparse.Namespace(project="app", path="m.py", version="", json=False)))


def test_show_is_byte_exact_when_piped(monkeypatch):
    piped = Terminal()
    piped.isatty = lambda: False
    assert show(monkeypatch, piped) == 0
    assert piped.buffer.getvalue() == SOURCE


def test_show_escapes_on_a_terminal(monkeypatch):
    terminal = Terminal()
    assert show(monkeypatch, terminal) == 0
    assert terminal.buffer.getvalue() == b"print('hi')\\x0d\\x1b[2K\tprint('other')\n\\xff\\xfe\n"


@pytest.mark.parametrize("encoding, shown", [("utf-8", "é".encode()), ("ascii", b"\\xe9"), ("latin-1", b"\xe9")])
def test_show_on_a_terminal_writes_in_its_encoding(monkeypatch, encoding, shown):
    terminal = Terminal()
    terminal.encoding = encoding
    assert show(monkeypatch, terminal, "café = '\x1b'\n".encode()) == 0
    assert terminal.buffer.getvalue() == b"caf" + shown + b" = '\\x1b'\n"

"""Every codeanalysisctl command's --help stands on its own: what it does, its arguments, an example."""

from __future__ import annotations

import pytest

from codeanalysisd.cli.main import build_parser

PARSER = build_parser()
COMMANDS = sorted(PARSER._subparsers._group_actions[0].choices)  # argparse has no public way to list them


def test_every_designed_command_exists():
    assert {"add", "remove", "projects", "status", "search", "semantic", "def", "refs", "show", "history", "restore",
            "repair", "worker", "check", "problems"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_of_each_command(name, capsys):
    with pytest.raises(SystemExit) as done:
        PARSER.parse_args([name, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: codeanalysisctl {name}")
    description = text.split("\n\n")[1]
    assert len(description.split()) >= 12, description  # more than the one-line summary
    assert "example:\n  codeanalysisctl " in text and "--json" in text

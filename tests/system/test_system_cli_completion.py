"""Bash completion for codeanalysisctl, as installed, in a real bash against the running suite."""

from __future__ import annotations

import shlex

from helpers import ctl, start_suite
from sandbox.box import wait_until

COMPLETION = "/usr/share/bash-completion/completions/codeanalysisctl"


def complete(box, line: str) -> list[str]:
    """What pressing TAB at the end of ``line`` offers."""
    words = line.split(" ")
    script = (f"source {COMPLETION}; COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); "
              f"COMP_CWORD={len(words) - 1}; _codeanalysisctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    return sorted(filter(None, box.run("bash", "-c", script).stdout.splitlines()))


def test_commands_options_workers_and_projects_complete(system):
    start_suite(system)
    assert complete(system, "codeanalysisctl re") == ["refs", "remove", "repair", "restore"]
    assert complete(system, "codeanalysisctl repair x --d") == ["--dry-run"]
    assert complete(system, "codeanalysisctl worker restart ") == ["repair", "vectorizer", "watcher"]
    assert complete(system, "codeanalysisctl def x -k async_") == ["async_function", "async_method"]
    system.sh("mkdir -p /srv/completion-demo && echo 'x = 1' > /srv/completion-demo/m.py")
    ctl(system, "add", "/srv/completion-demo")
    try:
        wait_until(lambda: complete(system, "codeanalysisctl history completion-") == ["completion-demo"],
                   what="the project id offered")
        assert complete(system, "codeanalysisctl search -p completion-d") == ["completion-demo"]
    finally:
        ctl(system, "remove", "completion-demo")

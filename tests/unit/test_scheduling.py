"""A unit's nice carried to its session's autogroup, in a process of its own session (the
change applies to the whole session: never to the test runner's)."""

import os
import subprocess
import sys

import pytest

# `nice -n N` adds N to the runner's own nice.
RUNNER = os.getpriority(os.PRIO_PROCESS, 0)

CARRY = ("import logging, sys; from codeanalysisd import scheduling; "
         "print(scheduling.carry_nice_to_autogroup(logging.getLogger('t'), *sys.argv[1:]))")


def carried(nice: int, *path: str) -> str:
    return subprocess.run(["nice", "-n", str(nice), sys.executable, "-c", CARRY, *path], capture_output=True,
                          text=True, check=True, start_new_session=True).stdout.strip()


def test_the_process_nice_is_written_where_the_kernel_reads_it(tmp_path):
    target = tmp_path / "autogroup"
    target.write_text("")
    assert carried(7, str(target)) == "True"
    assert target.read_text() == str(min(RUNNER + 7, 19))


@pytest.mark.skipif(RUNNER != 0, reason="the tests run niced: no process of theirs has the default nice")
def test_nothing_is_written_at_the_default_nice(tmp_path):
    target = tmp_path / "autogroup"
    target.write_text("untouched")
    assert carried(0, str(target)) == "False"
    assert target.read_text() == "untouched"


def test_nothing_is_written_without_autogroup(tmp_path):
    assert carried(7, str(tmp_path / "missing")) == "False"
    assert not (tmp_path / "missing").exists()


def test_a_refusal_is_reported_not_raised(tmp_path):
    result = subprocess.run(["nice", "-n", "7", sys.executable, "-c", CARRY, str(tmp_path)], capture_output=True,
                            text=True, check=True, start_new_session=True)   # a directory: cannot be written
    assert result.stdout.strip() == "False"
    assert f"cannot give this process's session its nice {min(RUNNER + 7, 19)}" in result.stderr


@pytest.mark.skipif(not os.path.exists("/proc/self/autogroup"), reason="this kernel has no autogroup")
def test_the_session_of_a_niced_process_takes_its_nice():
    script = CARRY + "; print(open('/proc/self/autogroup').read().split()[-1])"
    out = subprocess.run(["nice", "-n", "9", sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, start_new_session=True).stdout.split()
    assert out == ["True", str(min(RUNNER + 9, 19))]

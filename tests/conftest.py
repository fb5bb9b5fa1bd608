"""Fixtures: real systemd managers (system and user) in a sandbox, with the suite installed
into them by ``make install`` exactly as a package would install it.

The sandbox is an overlay over the host's root with private /run, /tmp, /var/tmp and
journal; nothing a test or a unit does inside reaches the host.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from sandbox.box import SYSBOX, Box

REPO = pathlib.Path(__file__).resolve().parent.parent
SRC = "/opt/codeanalysisd-src"  # the repository, read-only inside the box
WHEELS = "/opt/codeanalysisd-wheels"  # prebuilt wheels: installs in the box are offline
FIGURES: list[str] = []


def wheelhouse() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("CODEANALYSISD_WHEELHOUSE", REPO / "build" / "wheels"))
    done = path / ".done"
    if not done.exists():
        pytest.exit(f"no wheelhouse at {path}: run the tests with `make test`", returncode=2)
    newest = max(p.stat().st_mtime for p in [*(REPO / "codeanalysisd").rglob("*.py"), REPO / "pyproject.toml"])
    if newest > done.stat().st_mtime:
        pytest.exit("the wheelhouse is older than the sources: run `make wheels` (or `make test`)", returncode=2)
    return path


def install_suite(box: Box) -> None:
    box.run("make", "-C", SRC, "--no-print-directory", "install", f"WHEELHOUSE={WHEELS}", timeout=600)


def _boot(mode: str) -> Box:
    subprocess.run([str(SYSBOX), "gc"], check=False, capture_output=True)
    box = Box(f"cad-{mode}-{os.getpid()}", mode=mode,
              binds=(f"{REPO}:{SRC}:ro", f"{wheelhouse()}:{WHEELS}:ro"), private_network=True)
    box.start()
    try:
        install_suite(box)
    except BaseException:
        box.stop()
        raise
    return box


@pytest.fixture(scope="session")
def system() -> Box:
    """A booted system manager + system bus + journald with the suite installed."""
    box = _boot("system")
    figure(f"sandbox boot (system manager): {box.boot_seconds:.2f} s")
    yield box
    box.stop()


@pytest.fixture(scope="session")
def user_box() -> Box:
    """A booted user manager (uid 0) + session bus + journald with the suite installed."""
    box = _boot("user")
    box.systemctl("daemon-reload")
    yield box
    box.stop()


def figure(line: str) -> None:
    """Record a measured figure; all of them are printed at the end of the run."""
    FIGURES.append(line)


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("figures measured by the tests")
        for line in FIGURES:
            terminalreporter.write_line(line)

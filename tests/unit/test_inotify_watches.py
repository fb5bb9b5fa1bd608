"""The watches of one inotify instance (watch/events.py) on the kernel's own inotify, in a
temporary directory: a directory moved out of a watched tree takes its watches with it."""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib

import pyinotify
import pytest

from codeanalysisd.watch.events import Inotify


def kernel_watches(inotify: Inotify) -> int:
    """The watches the kernel holds for the instance (its fdinfo), not pyinotify's bookkeeping."""
    with open(f"/proc/self/fdinfo/{inotify.wm.get_fd()}") as info:
        return sum(1 for line in info if line.startswith("inotify wd:"))


async def settled(inotify: Inotify) -> None:
    """Until the kernel holds no unread event and the loop has handed on what it read."""
    for _ in range(200):
        await asyncio.sleep(0.01)
        if not inotify.unread():
            await asyncio.sleep(0.02)
            if not inotify.unread():
                return
    raise AssertionError("inotify events still unread after 2 s")


def test_a_directory_moved_out_takes_its_watches_and_one_moved_back_is_watched_again(tmp_path: pathlib.Path,
                                                                                      caplog: pytest.LogCaptureFixture):
    root, outside = tmp_path / "project", tmp_path / "elsewhere"
    (root / "pkg" / "sub" / "deep").mkdir(parents=True)
    (root / "other").mkdir()
    outside.mkdir()
    seen: list[str] = []

    async def run() -> None:
        inotify = Inotify(asyncio.get_running_loop(), lambda path, mask, source: seen.append(path),
                          lambda: None, lambda root: None)
        try:
            inotify.watch(str(root), lambda rel: False)
            assert len(inotify.wm.watches) == kernel_watches(inotify) == 5
            with caplog.at_level(logging.INFO):
                os.rename(root / "pkg", outside / "pkg")
                await settled(inotify)
            # the project's root and other/ are left
            assert len(inotify.wm.watches) == kernel_watches(inotify) == 2
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
            assert any("moved out of the watched directories: 3 watch(es) removed" in r.getMessage()
                       for r in caplog.records)
            # nothing more is heard from it, though it is still changing
            seen.clear()
            (outside / "pkg" / "sub" / "deep" / "m.py").write_text("x = 1\n")
            await settled(inotify)
            assert seen == []
            os.rename(outside / "pkg", root / "back")
            await settled(inotify)
            assert len(inotify.wm.watches) == kernel_watches(inotify) == 5
            (root / "back" / "sub" / "deep" / "n.py").write_text("y = 2\n")
            await settled(inotify)
            assert str(root / "back" / "sub" / "deep" / "n.py") in seen
        finally:
            inotify.close()

    asyncio.run(run())


def test_a_directory_moved_within_a_project_is_told_by_its_parent_alone(tmp_path: pathlib.Path):
    """Its own IN_MOVE_SELF comes after both halves: passed on, it would make the new path wait
    longer than the old one, and a look between the two would see a deletion and a new file."""
    root = tmp_path / "project"
    (root / "hop4" / "inner").mkdir(parents=True)
    told: list[tuple[str, int, str | None]] = []

    async def run() -> None:
        inotify = Inotify(asyncio.get_running_loop(), lambda path, mask, source: told.append((path, mask, source)),
                          lambda: None, lambda root: None)
        try:
            inotify.watch(str(root), lambda rel: False)
            os.rename(root / "hop4", root / "hop5")
            await settled(inotify)
            assert told == [(str(root / "hop4"), pyinotify.IN_MOVED_FROM | pyinotify.IN_ISDIR, None),
                            (str(root / "hop5"), pyinotify.IN_MOVED_TO | pyinotify.IN_ISDIR, str(root / "hop4"))]
            # and the watches below it follow it
            told.clear()
            (root / "hop5" / "inner" / "h.py").write_text("x = 1\n")
            await settled(inotify)
            assert {path for path, _, _ in told} == {str(root / "hop5" / "inner" / "h.py")}
        finally:
            inotify.close()

    asyncio.run(run())

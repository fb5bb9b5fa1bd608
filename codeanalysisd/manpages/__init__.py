"""The manual pages, written at build time from the sources they describe: codeanalysisctl(1)
from the client's argument parser, codeanalysisd.conf(5) from the configuration's keys and
the shipped file, codeanalysisd(8) from the unit files, the daemons' parser and the bus API's
introspection XML. Nothing in them is written twice, so they cannot drift from the code."""

from __future__ import annotations

import os
from pathlib import Path

from codeanalysisd import __version__
from codeanalysisd.cli.main import build_parser
from codeanalysisd.manpages import conf, ctl, daemon
from codeanalysisd.manpages.roff import Page

SOURCE = f"codeanalysisd {__version__}"


def pages(tree: Path, libdir: str = "/usr/lib/codeanalysisd") -> list[Page]:
    """The pages, from a source tree (its units/, dbus/ and packaging/config/)."""
    return [
        ctl.page(build_parser(), SOURCE),
        conf.page(tree / "packaging" / "config" / "codeanalysisd.conf", SOURCE),
        daemon.page(tree / "units", tree / "dbus" / "org.codeanalysis1.xml", libdir, SOURCE),
    ]


def write(tree: Path, out: Path, libdir: str = "/usr/lib/codeanalysisd") -> list[Path]:
    """Each page as OUT/manN/NAME.N, and each alias as a symbolic link to it."""
    written = []
    for page in pages(tree, libdir):
        directory = out / f"man{page.section}"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / page.filename
        path.write_text(page.render(), encoding="ascii")
        written.append(path)
        for alias in page.aliases:
            link = directory / f"{alias}.{page.section}"
            if link.is_symlink() or link.exists():
                link.unlink()
            os.symlink(page.filename, link)
            written.append(link)
    return written

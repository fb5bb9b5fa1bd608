"""The manual pages say what the code does: every command and option of codeanalysisctl,
every configuration key with the default the parser has, every unit and bus method; and they
render without a warning from groff, with a NAME line apropos can read."""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from codeanalysisd import config, service
from codeanalysisd.cli.main import build_parser
from codeanalysisd.manpages import conf, ctl, pages, write

TREE = pathlib.Path(__file__).resolve().parents[2]
PAGES = {p.filename: p for p in pages(TREE)}
SHIPPED = TREE / "packaging" / "config" / "codeanalysisd.conf"


def plain(roff: str) -> str:
    """What a reader sees of a page, near enough: headings and text, escapes undone."""
    out = []
    for line in roff.splitlines():
        if line.startswith((".SH ", ".SS ")):
            line = line[4:].strip('"')
        elif line.startswith("."):
            continue
        line = re.sub(r"\\\[u([0-9A-F]{4,})\]", lambda m: chr(int(m.group(1), 16)), line)
        line = re.sub(r"\\f[BIRP]", "", line)
        line = line.replace("\\&", "").replace("\\-", "-").replace("\\(dq", '"').replace("\\(->", "->")
        out.append(line.replace("\\e", "\\"))
    return "\n".join(out)


def text_of(name: str) -> str:
    return plain(PAGES[name].render())


def test_three_pages():
    assert set(PAGES) == {"codeanalysisctl.1", "codeanalysisd.conf.5", "codeanalysisd.8"}


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed (tests/install-debian-deps.sh)")
@pytest.mark.parametrize("name", sorted(PAGES))
def test_renders_without_warnings(tmp_path, name):
    page = tmp_path / name
    page.write_text(PAGES[name].render(), encoding="ascii")
    done = subprocess.run(["groff", "-ww", "-man", "-Tutf8", str(page)], capture_output=True, text=True, check=True)
    assert done.stderr == ""
    shown = re.sub(".\b", "", done.stdout)  # bold and underline are overstruck
    assert "\nNAME\n" in shown and "\nSEE ALSO\n" in shown
    if shutil.which("lexgrog"):
        whatis = subprocess.run(["lexgrog", str(page)], capture_output=True, text=True)
        assert whatis.returncode == 0 and f'"{PAGES[name].name} - ' in whatis.stdout, whatis.stdout


def test_every_command_argument_and_option_of_codeanalysisctl():
    parser = build_parser()
    text = text_of("codeanalysisctl.1")
    commands = list(ctl.subcommands(parser))
    assert {c.words[0] for c in commands} >= {"add", "search", "worker", "repair", "restore"}
    body = text.split("\nCOMMANDS\n", 1)[1]
    for command in commands:
        heading = re.search(rf"^{re.escape(' '.join(command.words))}(?: |$)", body, re.M)
        assert heading, f"no entry for the command {' '.join(command.words)}"
        entry = body[heading.start():].split("\n", 1)[1]
        later = [re.search(rf"^{re.escape(' '.join(c.words))}(?: |$)", entry, re.M) for c in commands]
        entry = entry[:min([m.start() for m in later if m] + [len(entry)])]
        described = _terms(entry) | _terms(text.split("\nOPTIONS\n", 1)[1])
        for action in command.parser._actions:
            if action.option_strings:
                for flag in action.option_strings:
                    assert flag in described, (command.words, flag)
            elif action.choices:
                assert all(str(c) in text for c in action.choices)
            elif not isinstance(action, argparse._SubParsersAction):
                assert ctl.metavar(action) in entry, (command.words, ctl.metavar(action))
    options = _terms(text.split("\nOPTIONS\n", 1)[1].split("\nEXIT STATUS\n", 1)[0])
    for action in parser._actions:
        for flag in action.option_strings:
            assert flag in options, flag


def _terms(text: str) -> set[str]:
    """The options described in a part of a page: the terms "-p, --project=PROJECT", "--json"."""
    return {re.split(r"[= ]", term, maxsplit=1)[0] for line in text.splitlines() if line.startswith("-")
            for term in line.split(", ")}


def _example_commands(roff: str) -> list[str]:
    """The command lines of the page's examples (its no-fill blocks), up to a pipe or redirection."""
    literal = "\n".join(re.findall(r"^\.nf\n(.*?)\n\.fi$", roff, re.M | re.S))
    lines = [line.strip() for line in plain(literal).splitlines()]
    return [re.split(r" [|>] ", line)[0] for line in lines if line.startswith("codeanalysisctl ")]


def test_every_example_is_a_valid_command_line():
    """An example that no longer parses (a renamed option) fails here, not in a reader's shell."""
    examples = _example_commands(PAGES["codeanalysisctl.1"].render())
    assert len(examples) >= 20
    parser = build_parser()
    for line in examples:
        parser.parse_args(shlex.split(line)[1:])


def test_every_configuration_key_under_its_section():
    text = text_of("codeanalysisd.conf.5")
    for section, key in config.KEYS:
        part = text.split(f"\n[{section}] Section Options\n", 1)[1].split(" Section Options\n", 1)[0]
        assert re.search(rf"^{key}=$", part, re.M), f"[{section}] {key}= is not in codeanalysisd.conf(5)"


def test_the_shipped_file_documents_every_key():
    documented = {(k.section, k.name): k for k in conf.documented(SHIPPED)}
    assert set(documented) == set(config.KEYS)
    assert all(len(k.text.split()) >= 5 for k in documented.values())


def test_the_shipped_defaults_are_the_parsers(tmp_path):
    """The defaults the file (and so the page) shows are what the parser takes when a key is absent."""
    sections: dict[str, str] = {}
    for k in conf.documented(SHIPPED):
        sections[k.section] = sections.get(k.section, f"[{k.section}]\n") + f"{k.name}={k.default}\n"
    shown = "".join(sections.values())
    (tmp_path / "c.conf").write_text(shown)
    assert dataclasses.replace(config.load(tmp_path / "c.conf"), sources=()) == config.Config()


def test_accepted_values_come_from_the_parser():
    assert conf.accepted("History", "MaxVersions") == "a whole number from 1 to 1000000"
    assert conf.accepted("Vectorizer", "Precision") == "one of int8, exact"
    assert conf.accepted("Index", "Exclude") == ""
    assert "3153600000 s" in conf.accepted("History", "MaxAge")


def test_the_example_drop_in_is_valid(tmp_path):
    (tmp_path / "c.conf").write_text(conf.EXAMPLE_DROPIN)
    cfg = config.load(tmp_path / "c.conf")
    assert cfg.max_versions == 500 and cfg.exclude == ("build/", "*_pb2.py")


def test_daemon_page_names_every_unit_option_and_method():
    text = text_of("codeanalysisd.8")
    for unit in (TREE / "units").iterdir():
        assert f"\n{unit.name}\n" in text, unit.name
    for action in service.build_parser("codeanalysisd-db")._actions:
        for flag in action.option_strings:
            assert flag in text or flag in ("-h", "--help"), flag
    root = ET.parse(TREE / "dbus" / "org.codeanalysis1.xml").getroot()
    manager = next(i for i in root.findall("interface") if i.get("name") == "org.codeanalysis1.Manager")
    for method in manager.findall("method"):
        assert f"\n{method.get('name')}(" in text, method.get("name")
    for prop in manager.findall("property"):
        assert prop.get("name", "") in text


def test_written_with_unit_names_as_links(tmp_path):
    written = write(TREE, tmp_path, "/usr/local/lib/codeanalysisd")
    assert (tmp_path / "man1" / "codeanalysisctl.1").is_file()
    assert (tmp_path / "man5" / "codeanalysisd.conf.5").is_file()
    link = tmp_path / "man8" / "codeanalysisd-db.service.8"
    assert link.is_symlink() and link.readlink() == pathlib.Path("codeanalysisd.8") and link in written
    assert "/usr/local/lib/codeanalysisd/bin/codeanalysisd-db" in plain((tmp_path / "man8" / "codeanalysisd.8")
                                                                        .read_text())

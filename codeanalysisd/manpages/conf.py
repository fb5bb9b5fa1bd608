"""codeanalysisd.conf(5), from the configuration's own sources: the keys the parser accepts
(``config.KEYS``), what the shipped file says of each and its default (the comment above it
and the commented-out line), and the values each key takes, in the words the parser uses
to refuse a bad one."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from codeanalysisd import config
from codeanalysisd.manpages.roff import Page, bold, escape

_SECTION = re.compile(r"^\[(\w+)\]\s*$")
_KEY = re.compile(r"^#(\w+)=(.*)$")  # a key shown with its default, commented out
_FLOAT = re.compile(r"\b\d+(?:\.\d+)?e\+\d+\b")

EXAMPLE_DROPIN = "[History]\nMaxVersions=500\nMaxAge=2y\n\n[Index]\nExclude=build/ *_pb2.py\n"


@dataclass(frozen=True)
class Key:
    section: str
    name: str
    default: str  # as the shipped file writes it
    text: str  # the comment above it there


def documented(shipped: Path) -> list[Key]:
    """Every key of the shipped configuration file, in its order. A comment paragraph
    belongs to the key below it (or to each of several keys that follow it directly)."""
    keys: list[Key] = []
    section = ""
    comment: list[str] = []
    shared = ""
    for line in shipped.read_text(encoding="utf-8").splitlines():
        if match := _SECTION.match(line):
            section, comment, shared = match.group(1), [], ""
        elif match := _KEY.match(line):
            if comment:
                shared, comment = " ".join(comment), []
            if section:
                keys.append(Key(section, match.group(1), match.group(2).strip(), shared))
        elif line.startswith("#"):
            comment.append(line.lstrip("#").strip())
    return keys


def accepted(section: str, key: str) -> str:
    """What a key takes, as the parser says when refusing a bad value ("" if it takes any)."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.conf"
        probe.write_text(f"[{section}]\n{key}=?\n", encoding="utf-8")
        try:
            config.load(probe)
        except config.ConfigError as exc:
            said = str(exc).split(f"{key}= ", 1)[-1].rsplit(", got", 1)[0].removeprefix("must be ")
            # large bounds come as 3.1536e+09: written out in digits
            return _FLOAT.sub(lambda m: f"{float(m.group()):.0f}", said)
    return ""


def page(shipped: Path, source: str) -> Page:
    keys = {(k.section, k.name): k for k in documented(shipped)}
    page = Page("codeanalysisd.conf", 5, source, "codeanalysisd.conf")
    page.name_line(["codeanalysisd.conf", "codeanalysisd.conf.d"], "codeanalysisd configuration files")
    main = str(config.SYSTEM_CONFIG)
    user = "~/.config/codeanalysisd/codeanalysisd.conf"

    page.section_heading("SYNOPSIS")
    page.roff_para(escape(main))
    page.lines += [".br", escape(f"{main}.d/*.conf")]
    page.roff_para(escape(user))
    page.lines += [".br", escape(f"{user}.d/*.conf")]

    page.section_heading("DESCRIPTION")
    page.para(f"These files configure the units of codeanalysisd(8). The system suite reads `{main}`; a per-user "
              f"suite (`systemctl --user`) reads `{user}` (`$XDG_CONFIG_HOME/codeanalysisd/codeanalysisd.conf` when "
              "`$XDG_CONFIG_HOME` is set). A unit started with `--config FILE` reads that file and its drop-ins "
              "instead.")
    page.para("The file installed with the suite shows every key commented out, with its default and what it does. "
              "A missing file, or a missing key, means the default.")
    page.para("The syntax is INI, as in systemd's configuration files: `[Section]` headers, then `Key=value` lines. "
              "Lines starting with `#` or `;` are comments. Section and key names are case-sensitive. Time spans are "
              "written as in systemd.time(7): a number with a unit (`s`, `min`, `h`, `d`, `w`, `y`; `m` is minutes) "
              "or without one for seconds, such as `30s`, `5min`, `90d`. Sizes are bytes, with an optional `K`, `M` "
              "or `G` suffix (powers of 1024).")
    page.para("Every file is checked when a unit starts. An unknown key or a bad value stops the unit with exit "
              "status 78 (EX_CONFIG; it is not restarted), and its journal says which key of which file is wrong "
              "and what it takes.")

    page.section_heading("CONFIGURATION DIRECTORIES AND PRECEDENCE")
    page.para(f"The main file is read first, then every file ending in `.conf` in the directory `{main}.d/` (for "
              "another main file, the directory of the same name with `.d` appended), in the lexical order of "
              "their names. A key set in a later file overrides the same key set earlier; the other keys stay as "
              "they were.")
    page.para("It is best to leave the main file as installed and to put local settings in a drop-in, with a name "
              "that sorts after the others, such as `50-local.conf`: a new version of the package can then update "
              "the main file without asking.")

    page.section_heading("OPTIONS")
    sections: list[str] = []
    for section, _ in config.KEYS:
        if section not in sections:
            sections.append(section)
    for section in sections:
        page.subsection(f"[{section}] Section Options")
        for sec, name in config.KEYS:
            if sec != section:
                continue
            key = keys.get((sec, name))
            default = key.default if key else ""
            facts = [f"Default: `{default}`." if default else "Default: empty."]
            takes = accepted(sec, name)
            if takes:
                facts.append(f"Accepted values: {takes}.")
            page.item(bold(f"{name}="), key.text if key else "", " ".join(facts))

    page.section_heading("RELOADING")
    page.para("`systemctl reload codeanalysisd-db.service codeanalysisd-watcher.service codeanalysisd-repair.service` "
              "makes the units read the files again (`ExecReload=` sends SIGHUP). The version store's retention "
              "(`MaxVersions=`, `MaxAge=`) and `MaxPerUser=` apply in the DB owner at once; `ReportInterval=`, "
              "`PollInterval=` and `BatchSize=` from each worker's next round; a changed `Exclude=`, "
              "`MaxParseSize=` or `MaxWatches=` makes the watcher set every project up again and reconcile it with "
              "the index. `[Database] Path=` applies at the next restart of the DB owner, and `[Vectorizer] "
              "Precision=` at the next start of the vectorizer; the journal says so when either changes.")
    page.para("A file that is not valid on reload is refused: the unit logs the key and the file at priority `err` "
              "and keeps the configuration it runs with.")

    page.section_heading("EXAMPLES")
    page.roff_para(bold("Example 1. ") + escape("Keep a longer history, and leave generated code out of every project"))
    page.para(f"In `{main}.d/50-local.conf`:")
    page.example(EXAMPLE_DROPIN.splitlines())
    page.para("then:")
    page.example(["systemctl reload codeanalysisd-db.service codeanalysisd-watcher.service "
                  "codeanalysisd-repair.service"])

    page.see_also(["codeanalysisd(8)", "codeanalysisctl(1)", "systemd.time(7)", "gitignore(5)", "systemctl(1)"])
    return page

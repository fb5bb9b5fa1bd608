"""codeanalysisctl(1), from the client's own argument parser: every command, argument and
option, with the words `--help` prints, so the page says what the installed program does."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass

from codeanalysisd.manpages.roff import Page, bold, escape, inline, italic


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]  # ("worker",), or ("a", "b") for a command of a command
    parser: argparse.ArgumentParser
    summary: str  # the one line `codeanalysisctl --help` shows


def subcommands(parser: argparse.ArgumentParser, above: tuple[str, ...] = ()) -> Iterator[Command]:
    """Every command the parser takes, depth first, in the order `--help` lists them."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for listed in action._choices_actions:  # one per command (aliases are not repeated)
            sub = action.choices[listed.dest]
            yield Command((*above, listed.dest), sub, listed.help or "")
            yield from subcommands(sub, (*above, listed.dest))


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]


def positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]


def metavar(action: argparse.Action) -> str:
    if isinstance(action.metavar, str):
        return action.metavar
    return action.dest.upper().replace("-", "_")


def _sentence(text: str) -> str:
    """A help fragment ("only this project (id or root)") as a sentence."""
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def help_text(action: argparse.Action, prog: str) -> str:
    """The option's help as `--help` prints it (%(default)s and the like filled in), as a sentence."""
    text = argparse.HelpFormatter(prog)._expand_help(action) if action.help else ""
    text = _sentence(text)
    if action.choices and action.option_strings:
        text += " One of: " + ", ".join(f"`{c}`" for c in action.choices) + "."
    return text


def argument_roff(action: argparse.Action) -> str:
    """A positional argument as the synopsis shows it: ``QUERY...``, ``[NAME]``, ``start|stop``."""
    word = "|".join(bold(str(c)) for c in action.choices) if action.choices else italic(metavar(action))
    if action.nargs == "?":
        return f"[{word}]"
    if action.nargs == "+":
        return f"{word}..."
    if action.nargs == "*":
        return f"[{word}...]"
    if isinstance(action.nargs, int):
        return " ".join([word] * action.nargs)
    return word


def option_roff(action: argparse.Action) -> str:
    """``-p``, ``--project=PROJECT`` (the value after the long form, as systemd's pages write it)."""
    flags = [bold(s) for s in action.option_strings]
    if action.nargs != 0:
        value = italic(metavar(action))
        long = [s for s in action.option_strings if s.startswith("--")]
        flags[-1] += f"={value}" if long else f" {value}"
    return ", ".join(flags)


def _epilog(page: Page, epilog: str) -> None:
    """An epilog: unindented lines are prose ("example:"), indented ones a literal block."""
    literal: list[str] = []
    for line in [*epilog.splitlines(), ""]:
        if line.startswith((" ", "\t")):
            literal.append(line.strip())
            continue
        if literal:
            page.example(literal)
            literal = []
        if line.strip():
            page.lines.append(".sp")
            page.text(inline(_sentence(line)))


def _command(page: Page, command: Command, common: set[tuple[tuple[str, ...], str | None]]) -> None:
    words = " ".join(bold(w) for w in command.words)
    args = " ".join(argument_roff(a) for a in positionals(command.parser))
    page.roff_para(f"{words} {args}".strip())
    page.start_indent()
    about = command.parser.description or command.summary
    page.text(inline(_sentence(about)))
    for action in positionals(command.parser):
        if action.help and action.help != argparse.SUPPRESS and not action.choices:
            page.item(italic(metavar(action)), help_text(action, command.parser.prog))
    for action in options(command.parser):
        if isinstance(action, argparse._HelpAction) or (tuple(action.option_strings), action.help) in common:
            continue
        page.item(option_roff(action), help_text(action, command.parser.prog))
    if command.parser.epilog:
        _epilog(page, command.parser.epilog)
    page.end_indent()


EXAMPLES = [
    ("Register a project, then search it by words, by definition and by meaning",
     ["codeanalysisctl add ~/src/app", "codeanalysisctl search -p app 'unified diff'",
      "codeanalysisctl def 'JSONEncoder.*' -p app", "codeanalysisctl semantic -p app 'parse a date from a string'"]),
    ("Bring back a file deleted from disk, as it was last seen",
     ["codeanalysisctl history app pkg/mod.py", "codeanalysisctl restore app pkg/mod.py"]),
    ("Check what a repair would do, then do it",
     ["codeanalysisctl repair app --dry-run", "codeanalysisctl repair app"]),
    ("Machine-readable output, for scripts",
     ["codeanalysisctl --json projects | jq -r '.[].id'"]),
    ("The per-user suite, on the session bus",
     ["systemctl --user start codeanalysisd.target", "codeanalysisctl --user add ~/src/app",
      "codeanalysisctl --user status"]),
]


def page(parser: argparse.ArgumentParser, source: str) -> Page:
    prog = parser.prog
    page = Page(prog, 1, source, prog)
    page.name_line([prog], (parser.description or "").rstrip("."))

    page.section_heading("SYNOPSIS")
    page.synopsis(f"{bold(prog)} [OPTIONS...] {italic('COMMAND')} [ARGUMENTS...]")

    page.section_heading("DESCRIPTION")
    page.para(parser.description or "")
    page.para(f"`{prog}` talks to the suite only over D-Bus: to `org.codeanalysis1` on the system bus, or with "
              "`--user` to the per-user suite on the session bus. It never opens the database. What a caller sees is "
              "what they could read on disk themselves; on the system bus, callers are root and the members of the "
              "group `codeanalysis-users` (see codeanalysisd(8)).")
    page.para("Long operations say what they are doing on standard error. Errors name their cause: the bus error's "
              "message and its name, such as `org.codeanalysis1.Error.NotFound`. Text from the index (paths, names, "
              "lines of source) is printed with control characters shown as escapes, so that a file cannot send "
              "sequences to the terminal; `--json` output and `show` piped into a file stay exact.")
    if parser.epilog:
        page.para(parser.epilog)

    page.section_heading("COMMANDS")
    page.para("Each command takes the options `--user` and `--json` (see OPTIONS), also after its name, and "
              f"`--help`. `{prog} COMMAND --help` describes one command.")
    common = {(tuple(a.option_strings), a.help) for a in options(parser)}  # --user, --json: under OPTIONS
    for command in subcommands(parser):
        _command(page, command, common)

    page.section_heading("OPTIONS")
    page.para("These options are understood before the command and, except `--version`, after it.")
    for action in options(parser):
        if isinstance(action, argparse._HelpAction):
            page.item(option_roff(action), "Print a short help and exit; after a command, that command's help.")
        elif isinstance(action, argparse._VersionAction):
            page.item(option_roff(action), "Print the version and exit.")
        else:
            page.item(option_roff(action), help_text(action, prog))

    page.section_heading("EXIT STATUS")
    page.para("On success, 0 is returned. 1 is returned when the command failed: the bus could not be reached, the "
              "service answered with an error, a file could not be restored as asked, or a repair failed; and also "
              "when `search` and `semantic` found nothing, and when `check` found a database corrupt. 2 is returned "
              "when the command line was not understood.")

    page.section_heading("ENVIRONMENT")
    page.item(italic("$DBUS_SYSTEM_BUS_ADDRESS"), "The system bus to use instead of the default one.")
    page.item(italic("$DBUS_SESSION_BUS_ADDRESS"),
              "With `--user`: the session bus. When it is not set, the bus at `$XDG_RUNTIME_DIR/bus` is used.")

    page.section_heading("EXAMPLES")
    for n, (title, lines) in enumerate(EXAMPLES, 1):
        page.roff_para(f"{bold(f'Example {n}. ')}{escape(title)}")
        page.example(lines)

    page.see_also(["codeanalysisd(8)", "codeanalysisd.conf(5)", "systemctl(1)", "busctl(1)", "journalctl(1)"])
    return page

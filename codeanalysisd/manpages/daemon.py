"""codeanalysisd(8): the units (read from the unit files), the programs' options (from their
parser), the bus API in brief (from its introspection XML, the API's specification), the
files, the security model, the logs and the exit statuses (from the code's constants)."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from codeanalysisd import config, service
from codeanalysisd.bus import errors
from codeanalysisd.manpages.ctl import help_text, option_roff, options
from codeanalysisd.manpages.roff import Page, bold, escape, italic
from codeanalysisd.names import (
    ADMIN_GROUP,
    BUS_NAME,
    ERROR_PREFIX,
    MANAGER_INTERFACE,
    OBJECT_PATH,
    OWNER_UNIT,
    TARGET_UNIT,
    USERS_GROUP,
)
from codeanalysisd.owner.main import EXIT_CORRUPT, EXIT_SCHEMA

# What each unit does, beyond its one-line Description=.
ROLES = {
    TARGET_UNIT: "The suite. `systemctl start codeanalysisd.target` starts the four services and returns once each "
                 "has reported that it is ready; `systemctl stop codeanalysisd.target` stops them all. Installing "
                 "the package enables it.",
    OWNER_UNIT: "The DB owner: the only process that opens the database files. It migrates the schema before it "
                "reports ready, writes one transaction per operation on a single write thread while queries are "
                "answered from their own connections, keeps every file's exact source and history, and owns the "
                f"bus name `{BUS_NAME}`. The workers require it: when it restarts, systemd restarts them after it.",
    "codeanalysisd-watcher.service": "Follows every registered project with inotify: a reconcile scan at start, "
                                     "then every create, change, delete and move, and a full rescan if the kernel's "
                                     "event queue overflows. It parses changed files and hands them to the DB owner.",
    "codeanalysisd-vectorizer.service": "Embeds definitions and docstrings for semantic search, offline (the "
                                        "all-MiniLM-L6-v2 model, run as an int8 ONNX graph built at install time), "
                                        "stores the vectors through the DB owner and answers its semantic queries. "
                                        "It runs at a lower priority (`Nice=10`): indexing goes first.",
    "codeanalysisd-parser@.service": "Checks with libcst that each file's concrete syntax tree gives back its "
                                     "bytes exactly. The DB owner starts instances 1 to `[Parser] Units=` (one per "
                                     "CPU by default) and gives each file to one of them, none while the watcher "
                                     "has a backlog; they run at a lower priority (`Nice=10`).",
    "codeanalysisd-repair.service": "Every `PollInterval=` it checks the next `BatchSize=` files, round-robin over "
                                    "all projects, against disk, and repairs what differs by the same rule as "
                                    "`codeanalysisctl repair`, without stopping anything.",
}

ERROR_MEANINGS = {
    "InvalidArgument": "a path outside the project, relative or with `..`, a link leaving the root, a bad query",
    "NotFound": "no such project, file or version, or none the caller may see",
    "Exists": "the directory is already registered, or a restore would overwrite a file",
    "AccessDenied": "the caller may not do this: another user's project, the project quota, worker control "
                    f"without the group `{ADMIN_GROUP}`",
    "Busy": "a repair is running, or a query ran past its 2 s deadline and was stopped",
    "Unavailable": "semantic search while the vectorizer is stopped or still loading",
    "Failed": "anything else; the journal has the details",
}


@dataclass(frozen=True)
class Unit:
    name: str
    description: str
    exec_start: str


def units(directory: Path) -> list[Unit]:
    """The suite's unit files: the target first, then the DB owner, then the workers."""
    found = []
    for path in sorted(directory.glob("codeanalysisd*")):
        if path.suffix not in (".service", ".target"):
            continue
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
        parser.read_string(path.read_text(encoding="utf-8"))
        found.append(Unit(path.name, parser.get("Unit", "Description", fallback=""),
                          parser.get("Service", "ExecStart", fallback="")))
    order = {TARGET_UNIT: 0, OWNER_UNIT: 1}
    return sorted(found, key=lambda u: (order.get(u.name, 2), u.name))


def _signature(method: ET.Element, direction: str) -> str:
    args = []
    for arg in method.findall("arg"):
        if arg.get("direction", "in") == direction:
            name = arg.get("name")
            args.append(f"{bold(arg.get('type', ''))}{' ' + italic(name) if name else ''}")
    return ", ".join(args)


def _bus_api(page: Page, xml: Path) -> None:
    tree = ET.parse(xml)
    interface = next(i for i in tree.getroot().findall("interface") if i.get("name") == MANAGER_INTERFACE)
    page.para(f"The DB owner owns `{BUS_NAME}` on the system bus (a per-user suite on the session bus). Its object "
              f"`{OBJECT_PATH}` has the interface `{MANAGER_INTERFACE}`, whose full specification is installed as "
              f"`/usr/share/dbus-1/interfaces/{BUS_NAME}.xml`; `busctl introspect {BUS_NAME} {OBJECT_PATH}` shows "
              "it live. Every argument is checked: a bad one is an error reply, never a crash and never a write. "
              "`codeanalysisctl` is a client of this interface, and so can be any other program.")
    page.subsection("Methods")
    calls = []
    for method in sorted(interface.findall("method"), key=lambda m: m.get("name", "")):
        ins, outs = _signature(method, "in"), _signature(method, "out")
        calls.append(f"{bold(method.get('name', ''))}({ins})" + (f" \\(-> {outs}" if outs else ""))
    page.roff_para("\n.br\n".join(calls))
    page.subsection("Properties")
    page.para("Read-only, announced with `PropertiesChanged`:")
    names = [p.get("name", "") for p in interface.findall("property")]
    page.text(", ".join(bold(n) for n in sorted(names)) + ".")
    page.subsection("Errors")
    page.para(f"Errors are named `{ERROR_PREFIX}Name`, with a message a person can act on:")
    classes: list[type[errors.ServiceError]] = [*_subclasses(errors.ServiceError), errors.ServiceError]  # base last
    seen: list[str] = []
    for cls in classes:
        if cls.name in seen:
            continue
        seen.append(cls.name)
        meaning = ERROR_MEANINGS.get(cls.name, "")
        page.item(bold(ERROR_PREFIX + cls.name), f"{meaning[:1].upper()}{meaning[1:]}." if meaning else "")
    page.para("Example calls:")
    page.example([
        f"busctl call {BUS_NAME} {OBJECT_PATH} {MANAGER_INTERFACE} AddProject s /srv/src/app",
        f"busctl call {BUS_NAME} {OBJECT_PATH} {MANAGER_INTERFACE} Search ssu 'unified diff' '' 5",
        f"busctl get-property {BUS_NAME} {OBJECT_PATH} {MANAGER_INTERFACE} FilesIndexed",
    ])


def _subclasses(cls: type[errors.ServiceError]) -> list[type[errors.ServiceError]]:
    out: list[type[errors.ServiceError]] = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def page(unit_dir: Path, xml: Path, libdir: str, source: str) -> Page:
    found = units(unit_dir)
    page = Page("codeanalysisd", 8, source, "codeanalysisd")
    page.name_line(["codeanalysisd", *(u.name for u in found)], "live, exact, searchable index of Python code bases")
    page.aliases = [u.name for u in found]  # man codeanalysisd-db.service, as with systemd's own units

    page.section_heading("SYNOPSIS")
    page.roff_para("\n.br\n".join(escape(u.name) for u in found))
    programs = [u.exec_start.split()[0].replace("/usr/lib/codeanalysisd", libdir) for u in found if u.exec_start]
    for program in programs:
        page.synopsis(f"{bold(program)} [OPTIONS...]")

    page.section_heading("DESCRIPTION")
    page.para("codeanalysisd keeps a live, exact, searchable index of the Python projects registered with it: every "
              "`.py` file's source, concrete syntax, definitions, imports and references, in one SQLite database, "
              "with full-text and semantic search and a local history of every file it has seen. It follows edits "
              "through inotify within a fraction of a second, and repairs itself: the database converges to what "
              "is on disk, and a deleted or lost file can be restored byte for byte.")
    page.para("It is a suite of systemd services under one target, run as the unprivileged user `codeanalysis`, "
              "and is driven with `systemctl`, `journalctl`, `busctl` and codeanalysisctl(1). Its configuration is "
              "described in codeanalysisd.conf(5).")

    page.section_heading("UNITS")
    for unit in found:
        page.item(bold(unit.name), ROLES.get(unit.name, unit.description))
    page.para("Every service is `Type=notify`: it reports ready only when it is, keeps a `STATUS=` line saying what "
              "it is doing (shown by `systemctl status`), is watched by systemd's watchdog and restarted on "
              "failure. SIGTERM (`systemctl stop`) finishes or rolls back the current unit of work and exits 0, "
              "well inside `TimeoutStopSec=`. SIGHUP (`systemctl reload`) reads the configuration again. No "
              "service starts other processes: systemd is the only supervisor.")
    page.para("The same unit files, installed as user units, run a per-user suite for one user "
              "(`systemctl --user start codeanalysisd.target`), on that user's session bus, with the state in "
              "the user's own directories. The package does not enable it for anyone.")

    page.section_heading("OPTIONS")
    page.para("The programs are started by their units; these options are for running one by hand, to debug:")
    parser = service.build_parser("codeanalysisd-db")
    for action in options(parser):
        if action.option_strings == ["-h", "--help"]:
            continue
        page.item(option_roff(action), help_text(action, parser.prog))

    page.section_heading("BUS API")
    _bus_api(page, xml)

    page.section_heading("SECURITY")
    page.para(f"On the system bus, root and the members of the group `{USERS_GROUP}` may call the Manager "
              f"(`usermod -aG {USERS_GROUP} alice`); the bus policy denies everyone else before the service sees "
              f"the call. Controlling the worker units and checking the databases are for root and the members "
              f"of `{ADMIN_GROUP}`, in the bus policy and again in the service. The group `codeanalysis` is the "
              "service's own identity and nobody else's.")
    page.para("The model is plocate's, for content instead of names: a caller sees a file, its search hits, "
              "definitions, references, source and history only if they could read it on disk now (search "
              "permission on every directory up to it, read permission on the file, POSIX ACLs included). Root "
              "sees everything. A project belongs to the user who added it, who must be able to read its root; "
              "only its owner and root may restore into it, repair it or remove it.")
    page.para("Nothing is written into a project with the service's authority: the units cannot write project "
              "trees (`ProtectSystem=strict`, `ProtectHome=read-only`), and a restore is written by "
              "`codeanalysisctl`, as the calling user. A project root is a directory identity (device and inode), "
              "opened without following symbolic links; a root replaced by a link is reported `missing` and "
              "nothing below it is read.")
    page.para("The services are confined with systemd's sandboxing (`NoNewPrivileges=`, `ProtectSystem=strict`, "
              "no capabilities, no network but the bus socket, a system call filter, `MemoryMax=`, `TasksMax=`; see "
              "`systemd-analyze security codeanalysisd-db.service`). Only the DB owner may write the state "
              "directory (mode 0700). Every call has bounded cost: capped query words, a 2 s deadline on every "
              "read, and no reply near the bus's message size limit. A tree only its owner may read can be opened "
              "to the service alone: `setfacl -R -m u:codeanalysis:rX,d:u:codeanalysis:rX DIR`.")

    page.section_heading("FILES")
    files = [
        (str(config.SYSTEM_CONFIG), "The configuration, and its drop-ins in `codeanalysisd.conf.d/`; see "
                                    "codeanalysisd.conf(5)."),
        ("/var/lib/codeanalysisd/index.sqlite3", "The index: sources, syntax, symbols, references, full text, "
                                                  "vectors. It is derived data and can be rebuilt."),
        ("/var/lib/codeanalysisd/history.sqlite3", "The version store: every content the index has seen of every "
                                                    "file. A corrupt database file is renamed `NAME.corrupt-TIME`, "
                                                    "never deleted."),
        (libdir, "The program, in its own Python environment, with the embedding model and its int8 ONNX graph "
                 "(`share/codeanalysisd/`)."),
        ("/usr/lib/systemd/system/codeanalysisd*", "The system units; the same under `/usr/lib/systemd/user/` for "
                                                   "per-user suites."),
        (f"/usr/share/dbus-1/system.d/{BUS_NAME}.conf", "The system bus policy."),
        (f"/usr/share/polkit-1/rules.d/{BUS_NAME}.rules", "Allows the service user to start, stop and restart "
                                                          "the three worker units and the parser units, and to "
                                                          "kill the repair worker, and nothing else."),
        ("/usr/lib/sysusers.d/codeanalysisd.conf", f"The user and group `codeanalysis`, and the groups "
                                                   f"`{USERS_GROUP}` and `{ADMIN_GROUP}`."),
        ("/usr/lib/tmpfiles.d/codeanalysisd.conf", "The state and configuration directories."),
        ("~/.config/codeanalysisd/", "A per-user suite's configuration and (with systemd 252) state."),
    ]
    for path, what in files:
        page.item(italic(path), what)

    page.section_heading("LOGGING")
    page.para("Every unit logs to the journal with real priorities: `crit` when the DB owner cannot start or meets "
              "a corrupt database, `err` for failures (with a traceback), a full disk and a database moved aside, "
              "`warning` for refused unit operations, a vanished project root, an inotify queue overflow and "
              "directories that could not be watched, `notice` for refused requests, `info` for what the suite "
              "does. Entries about a project carry `CODEANALYSIS_PROJECT=`, about a file `CODEANALYSIS_PATH=`, "
              "about a unit acted on `CODEANALYSIS_UNIT=`, and every entry `CODE_FILE=`, `CODE_LINE=` and "
              "`CODE_FUNC=`.")
    page.example([
        f"journalctl -u {OWNER_UNIT}",
        "journalctl -u 'codeanalysisd-*' -p warning",
        "journalctl CODEANALYSIS_PROJECT=app",
        f"journalctl --user-unit {OWNER_UNIT}",
    ])

    page.section_heading("EXIT STATUS")
    page.para("0 after a clean stop (SIGTERM).")
    page.para(f"{EXIT_SCHEMA} (EX_DATAERR): the DB owner could not migrate the database; the previous schema is "
              "left intact and the journal says why at priority `crit`. Not restarted.")
    page.para(f"{EXIT_CORRUPT} (EX_IOERR): the DB owner met a corrupt database file; systemd restarts it, and it "
              "moves the file aside and rebuilds.")
    page.para(f"{service.EXIT_CONFIG} (EX_CONFIG): the configuration is not valid; the journal names the key and "
              "the file. Not restarted.")

    page.see_also(["codeanalysisctl(1)", "codeanalysisd.conf(5)", "systemctl(1)", "journalctl(1)", "busctl(1)",
                   "systemd.service(5)", "systemd-analyze(1)", "sysusers.d(5)", "tmpfiles.d(5)", "setfacl(1)"])
    return page

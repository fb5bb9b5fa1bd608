"""Small helpers the sandbox tests share."""

from __future__ import annotations

import json
import time

from sandbox.box import Box, wait_until

NAME, OBJ, IFACE = "org.codeanalysis1", "/org/codeanalysis1", "org.codeanalysis1.Manager"
SERVICES = ("codeanalysisd-db.service", "codeanalysisd-watcher.service",
            "codeanalysisd-vectorizer.service", "codeanalysisd-repair.service")


def busctl(box: Box, *args: str, check: bool = True, user: str | None = None, groups: str | None = None):
    return box.run("busctl", *box.user, "call", NAME, OBJ, IFACE, *args, check=check, user=user,
                   groups=groups)


def dbus_send(box: Box, member: str, *args: str, user: str | None = None):
    """dbus-send prints the error *name* of a failed call (busctl prints only the message)."""
    bus = "--session" if box.mode == "user" else "--system"
    return box.run("dbus-send", bus, "--print-reply", f"--dest={NAME}", OBJ, f"{IFACE}.{member}", *args,
                   check=False, user=user)


def ctl(box: Box, *args: str, check: bool = True, user: str | None = None, groups: str | None = None):
    return box.run("codeanalysisctl", *box.user, *args, check=check, user=user, groups=groups)


def parser_units(box: Box) -> dict[str, str]:
    """The parser units systemd has loaded (the DB owner starts them), with their ActiveState."""
    out = box.systemctl("list-units", "--all", "--plain", "--no-legend", "codeanalysisd-parser@*.service").stdout
    return {line.split()[0]: line.split()[2] for line in out.splitlines() if line.strip()}


def active_parser_units(box: Box) -> list[str]:
    return sorted(unit for unit, state in parser_units(box).items() if state == "active")


def settled_parser_units(box: Box) -> list[str]:
    """The parser units, once the owner has started them all (it does just after its
    READY=1, so right after a start some may still be activating)."""
    def settled() -> list[str] | None:
        states = parser_units(box)
        return sorted(states) if states and set(states.values()) == {"active"} else None
    return wait_until(settled, timeout=30, what="every parser unit active")


def all_running(box: Box) -> bool:
    return all(box.show(u, "SubState")["SubState"] == "running" for u in SERVICES)


def status_once_every_unit_is_active(box: Box, *ctl: str) -> dict:
    """`codeanalysisctl --json status` once every unit it lists is active.

    The target's start returns at the four services' READY=1; the DB owner starts its parser
    units just after its own, so right then they may still be activating.
    """
    def read() -> dict | None:
        status = json.loads(box.run(*ctl, "--json", "status").stdout)
        return status if {u["ActiveState"] for u in status["units"]} == {"active"} else None
    return wait_until(read, timeout=20, what="every unit in the status active")


def start_suite(box: Box) -> None:
    box.systemctl("start", "codeanalysisd.target")
    wait_until(lambda: all_running(box), timeout=20, what="all four services running")


def stop_suite(box: Box) -> float:
    """Stop the target and wait until every service is down; return the seconds it took.

    `systemctl stop` of the target returns when the target's own job is done; the services'
    stop jobs run in the same transaction, so their end is polled for.
    """
    started = time.monotonic()
    box.systemctl("stop", "codeanalysisd.target")
    try:
        wait_until(lambda: all(box.show(u, "ActiveState")["ActiveState"] in ("inactive", "failed")
                               for u in SERVICES), timeout=10, interval=0.01, what="every service to stop")
    except TimeoutError as exc:
        still = {u: box.show(u, "ActiveState", "SubState", "StatusText") for u in SERVICES}
        raise TimeoutError(f"{exc}: {still}\n" + box.run("journalctl", "-n", "40", "-o", "short-monotonic",
                                                          "--no-pager", "-u", "codeanalysisd-*").stdout) from exc
    return time.monotonic() - started


def copy_stdlib(box: Box, root: str, packages: tuple[str, ...]) -> None:
    """A fresh ``root`` holding these packages of the standard library, without __pycache__."""
    stdlib = box.run("python3", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])").stdout.strip()
    box.sh(f"rm -rf {root} && mkdir -p {root} && cd {stdlib} && "
           f"for p in {' '.join(packages)}; do if [ -d $p ]; then cp -r $p {root}/; fi; done && "
           f"find {root} -name __pycache__ -prune -exec rm -rf {{}} +")


def owner_answers(box: Box) -> bool:
    return busctl(box, "ListProjects", "uu", "0", "0", check=False).returncode == 0


def journal_cursor(box: Box) -> str:
    """The journal's current end, for reading only what happens after it (--after-cursor)."""
    out = box.run("journalctl", "--show-cursor", "-n", "0", "--no-pager").stdout
    return out.split("cursor: ")[-1].strip()

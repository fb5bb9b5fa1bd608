"""What every unit's main process shares: arguments, logging, notify, watchdog, SIGTERM.

A unit runs one asyncio loop. SIGTERM (systemd's stop) sends STOPPING=1 and cancels the
main task, which finishes or rolls back its current unit of work and returns; the process
then exits 0, well inside TimeoutStopSec=. SIGHUP (``systemctl reload``, ExecReload=)
reads the configuration again: a valid one replaces ``Context.config`` and is handed to
the unit's reload hooks; an invalid one is reported and the running one kept.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from codeanalysisd import config as configuration
from codeanalysisd import journal, scheduling
from codeanalysisd.bus.connection import BusKind
from codeanalysisd.notify import Notifier, keep_alive

EXIT_CONFIG = 78  # EX_CONFIG: systemd shows it as "status=78/CONFIG"


@dataclass
class Context:
    identifier: str
    bus_kind: BusKind
    state_dir: Path
    config: configuration.Config
    notifier: Notifier
    log: logging.Logger
    config_path: Path = configuration.SYSTEM_CONFIG
    reload_hooks: list[Callable[[configuration.Config, configuration.Config], None]] = field(default_factory=list)

    def on_reload(self, hook: Callable[[configuration.Config, configuration.Config], None]) -> None:
        """Call ``hook(old, new)`` after a successful reload."""
        self.reload_hooks.append(hook)

    def reload(self) -> bool:
        self.notifier.reloading()
        status = self.notifier.status
        try:
            new = configuration.load(self.config_path)
        except configuration.ConfigError as exc:
            self.log.error("reload refused, keeping the running configuration: %s", exc)
            self.notifier.ready(status)
            return False
        old, self.config = self.config, new
        changed = [f.name for f in fields(new) if getattr(old, f.name) != getattr(new, f.name) and f.name != "sources"]
        for hook in self.reload_hooks:
            hook(old, new)
        self.log.info("configuration reloaded from %s: %s", ", ".join(new.sources) or "defaults",
                      f"changed {', '.join(changed)}" if changed else "nothing changed")
        self.notifier.ready(status)
        return True


def state_dir(kind: BusKind, explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    from_systemd = os.environ.get("STATE_DIRECTORY")
    if from_systemd:
        return Path(from_systemd.split(":")[0])
    if kind is BusKind.SESSION:
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        return Path(base) / "codeanalysisd"
    return Path("/var/lib/codeanalysisd")


def parse_args(identifier: str, argv: list[str] | None) -> argparse.Namespace:
    return build_parser(identifier).parse_args(argv)


def build_parser(identifier: str) -> argparse.ArgumentParser:
    """A unit's command line (also what codeanalysisd(8) lists)."""
    parser = argparse.ArgumentParser(prog=identifier, description=f"{identifier}: a unit of codeanalysisd")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--system", dest="user", action="store_false", help="use the system bus (default)")
    scope.add_argument("--user", dest="user", action="store_true", help="use the session bus")
    parser.add_argument("--state-dir", metavar="DIR", help="state directory (default: $STATE_DIRECTORY)")
    parser.add_argument("--config", metavar="FILE", help="main configuration file")
    parser.add_argument("--debug", action="store_true", help="log debug messages")
    return parser


def run(identifier: str, body: Callable[[Context], Awaitable[int]], argv: list[str] | None = None) -> int:
    args = parse_args(identifier, argv)
    log = journal.setup(identifier, debug=args.debug)
    kind = BusKind.SESSION if args.user else BusKind.SYSTEM
    notifier = Notifier()
    main_config = Path(args.config) if args.config else (
        configuration.user_config() if args.user else configuration.SYSTEM_CONFIG
    )
    try:
        cfg = configuration.load(main_config)
    except configuration.ConfigError as exc:
        log.error("configuration error: %s", exc)
        notifier.set_status(f"configuration error: {exc}")
        return EXIT_CONFIG
    scheduling.carry_nice_to_autogroup(log)
    ctx = Context(identifier, kind, state_dir(kind, args.state_dir), cfg, notifier, log, main_config)
    return asyncio.run(_supervise(ctx, body))


async def _supervise(ctx: Context, body: Callable[[Context], Awaitable[int]]) -> int:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    stopping = False

    def on_sigterm() -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            ctx.log.info("SIGTERM received, stopping")
            ctx.notifier.stopping()
            worker.cancel()

    worker = asyncio.ensure_future(body(ctx))
    watchdog = asyncio.ensure_future(keep_alive(ctx.notifier))
    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    loop.add_signal_handler(signal.SIGINT, on_sigterm)
    loop.add_signal_handler(signal.SIGHUP, ctx.reload)
    try:
        return await worker
    except asyncio.CancelledError:
        if stopping:
            ctx.log.info("stopped cleanly")
            return 0
        raise
    finally:
        watchdog.cancel()


def entry(identifier: str, body: Callable[[Context], Awaitable[int]], skip_finalization: bool = False) -> None:
    """Run the unit's main process. ``skip_finalization``: once the body has returned (its work
    done or rolled back, its status reported), leave without the interpreter's teardown, which
    a daemon thread still inside native code (libcst) can turn into a crash on the way out."""
    code = run(identifier, body)
    if skip_finalization:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)

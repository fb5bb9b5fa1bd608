"""codeanalysisd-db: the DB owner. The only process that opens the database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine

from dbus_fast import NameFlag, RequestNameReply

from codeanalysisd import service, tree
from codeanalysisd.bus.connection import connect
from codeanalysisd.db import history, integrity
from codeanalysisd.db.migrations import MigrationError
from codeanalysisd.db.store import OpenReport, Store, Writes
from codeanalysisd.index import syntax
from codeanalysisd.names import BUS_NAME, OBJECT_PATH
from codeanalysisd.notify import extend_start_while_running
from codeanalysisd.owner.callers import Callers
from codeanalysisd.owner.changes import Change
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.guard import Guard
from codeanalysisd.owner.manager import Manager
from codeanalysisd.owner.parsers import match_parser_units
from codeanalysisd.owner.systemd_units import SystemdUnits
from codeanalysisd.owner.worker import WorkerInterface

EXIT_SCHEMA = 65  # EX_DATAERR: the database could not be migrated
EXIT_CORRUPT = 74  # EX_IOERR: a database file is corrupt; systemd restarts the owner, which rebuilds
PRUNE_EVERY = 3600.0


def _log_open(log, store: Store, report: OpenReport) -> None:
    for path, moved_to, why in report.moved_aside:
        log.error("%s is not a sound database (%s): moved aside to %s, starting afresh", path, why, moved_to,
                  extra={"path": path})
    for path, fixed in report.reindexed:
        log.warning("%s had damaged indexes (%s): rebuilt in place, no row lost", path, fixed, extra={"path": path})
    if report.history_salvaged_from:
        log.warning("history recovered from %s: %d version(s), %d content(s) and %d project(s) read back; "
                    "%d version(s) lost (unreadable, or their content gone)", report.history_salvaged_from,
                    report.history_salvaged_versions, report.history_salvaged_contents,
                    report.history_salvaged_projects, report.history_lost_versions,
                    extra={"path": report.history_salvaged_from})
    if report.rebuilt_projects:
        log.warning("index rebuilt from the history: %d project(s) registered again; the watcher re-reads "
                    "their files", report.rebuilt_projects)
    if report.adopted_files:
        log.warning("history started afresh: the current content of %d file(s) copied into it from the index",
                    report.adopted_files)
    if report.applied:
        log.info("database %s migrated to schema version %d (applied %s)", store.path,
                 store.schema_version, ", ".join(map(str, report.applied)), extra={"path": store.path})
    else:
        log.info("database %s at schema version %d", store.path, store.schema_version, extra={"path": store.path})
    if report.chunked_files:
        log.info("semantic search: %d file(s) cut into chunks by an upgrade; the vectorizer embeds the texts "
                 "that are new",
                 report.chunked_files)
    if report.history_applied:
        log.info("history %s created or migrated (applied %s)", store.history_path,
                 ", ".join(map(str, report.history_applied)), extra={"path": store.history_path})


async def _prune_periodically(store: Store, log, every: float = PRUNE_EVERY) -> None:
    """Prune the history and orphan vectors every hour. A failed pass (a full disk, a busy
    database) is logged and tried again at the next hour: the task never dies of it."""
    while True:
        await asyncio.sleep(every)
        try:
            pruned = await store.write(lambda w: w.history.prune())
            if pruned:
                log.info("pruned %d old version(s) from the history", pruned)
            _log_vectors_pruned(log, await store.write(lambda w: w.vectors.prune_orphans()))
        except Exception as exc:  # the next pass tries again; nothing is half-done (one transaction each)
            log.error("pruning failed: %s: %s; trying again in %.0f s", type(exc).__name__, exc, every)


def _record_root_identities(store: Store, log) -> None:
    """Projects registered before roots were identities get the directory their root names
    now (reached without following a link); a root that is not there yet gets it when it is."""
    for project in store.reads.projects.list():
        if project.root_ino:
            continue
        try:
            found = tree.identity(project.root)
        except tree.RootGone as exc:
            log.warning("cannot record the root of %s yet: %s", project.id, exc, extra={"project": project.id})
            continue
        store.writes.projects.set_identity(project.id, (found.dev, found.ino))
        log.info("recorded the root of %s as device %d inode %d", project.id, found.dev, found.ino,
                 extra={"project": project.id, "path": project.root})


def _reopen_passed_over(writes: Writes, log) -> None:
    """Files the parser units passed over for [Parser] MaxSyntaxNodes= are offered to them
    again (at start, and on a reload that changes the bound): a bound raised since lets them
    be verified, and one unchanged passes them over again by the count kept with each (an
    ast parse of those indexed before it was kept)."""
    count = writes.files.reopen_verdicts(syntax.NOT_VERIFIED)
    if count:
        log.info("%d file(s) passed over for their size offered for verification again "
                 "([Parser] MaxSyntaxNodes= may have changed)", count)


def _log_vectors_pruned(log, count: int) -> None:
    if count:
        log.info("dropped %d vector(s) of code no file holds any more", count)


async def serve(ctx: service.Context) -> int:
    log = ctx.log
    ctx.state_dir.mkdir(parents=True, exist_ok=True)
    db_path = ctx.config.database_path or str(ctx.state_dir / "index.sqlite3")
    history_path = str(ctx.state_dir / history.FILENAME)
    ctx.notifier.set_status(f"opening and migrating {db_path}")
    retention = history.Retention(ctx.config.max_versions, ctx.config.max_age)
    # Opening migrates: on a large index that can outlast TimeoutStartSec=, so it runs on a
    # thread while the loop asks systemd for more time (and still answers SIGTERM).
    extending = asyncio.ensure_future(extend_start_while_running(ctx.notifier))
    try:
        store, report = await asyncio.to_thread(Store.open, db_path, history_path, retention)
    except MigrationError as exc:
        log.critical("cannot start: %s", exc, extra={"path": db_path})
        ctx.notifier.set_status(f"failed: {exc}")
        return EXIT_SCHEMA
    finally:
        extending.cancel()
    _log_open(log, store, report)
    pruned = store.writes.history.prune()
    if pruned:
        log.info("pruned %d old version(s) from the history", pruned)
    _log_vectors_pruned(log, store.writes.vectors.prune_orphans())
    _record_root_identities(store, log)
    _reopen_passed_over(store.writes, log)

    bus = await connect(ctx.bus_kind)
    try:
        units = SystemdUnits(bus)
        await units.start()
        callers = Callers(bus)
        await callers.start()

        def refresh_status() -> None:
            projects = store.reads.projects.count()
            ctx.notifier.set_status(
                f"serving {BUS_NAME}: {projects} project(s), {store.reads.files.live_count()} file(s) indexed"
            )

        corrupt = asyncio.Event()

        def corruption(why: object) -> None:
            # The next start runs the full check, moves a corrupt file aside and rebuilds.
            if not corrupt.is_set():
                log.critical("database corruption: %s; restarting to check, move aside and rebuild", why)
                for path in (db_path, history_path):
                    integrity.mark_suspect(path, str(why))
                corrupt.set()

        core = OwnerCore(store, units, ctx.config, Guard(corruption), corruption)
        core.callers = callers
        callers.on_gone(core.syntax_claims.forget)
        core.on_change(lambda what: refresh_status() if what is not Change.VECTORS else None)

        background: set[asyncio.Future[None]] = set()

        def in_background(work: Coroutine[object, object, None]) -> None:
            task = asyncio.ensure_future(work)
            background.add(task)
            task.add_done_callback(background.discard)

        async def reopen_passed_over() -> None:
            try:
                await store.write(lambda w: _reopen_passed_over(w, log))
            except Exception as exc:  # the next start offers them again
                log.error("cannot offer the files passed over for their size again: %s", exc)

        def reloaded(old, new) -> None:
            store.retention = history.Retention(new.max_versions, new.max_age)
            core.reconfigure(new)
            if old.parser_units != new.parser_units:
                in_background(match_parser_units(units, new.parser_units))
            if old.max_syntax_nodes != new.max_syntax_nodes:
                in_background(reopen_passed_over())
            if old.database_path != new.database_path:
                log.warning("[Database] Path= changed: it applies at the next restart of %s", ctx.identifier)

        ctx.on_reload(reloaded)
        bus.export(OBJECT_PATH, Manager(core))
        bus.export(OBJECT_PATH, WorkerInterface(core))
        reply = await bus.request_name(BUS_NAME, NameFlag.DO_NOT_QUEUE)
        if reply != RequestNameReply.PRIMARY_OWNER:
            log.error("cannot own %s on the %s bus (%s); is another DB owner running?",
                      BUS_NAME, ctx.bus_kind.value, reply.name)
            return 1
        log.info("owns %s on the %s bus as uid %d", BUS_NAME, ctx.bus_kind.value, os.getuid())
        refresh_status()
        ctx.notifier.ready(ctx.notifier.status)
        # once the DB owner is active: they require it
        in_background(match_parser_units(units, ctx.config.parser_units))
        disconnected = asyncio.ensure_future(bus.wait_for_disconnect())
        corrupted = asyncio.ensure_future(corrupt.wait())
        pruning = asyncio.ensure_future(_prune_periodically(store, log))
        try:
            await asyncio.wait({disconnected, corrupted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (disconnected, corrupted, pruning, *background):
                task.cancel()
        if corrupt.is_set():
            await asyncio.sleep(0.2)  # let the reply that reported it leave
            return EXIT_CORRUPT
        log.error("lost the connection to the %s bus", ctx.bus_kind.value)
        return 1
    except asyncio.CancelledError:
        # Every write is its own transaction, so there is nothing half-done to roll back.
        raise
    finally:
        bus.disconnect()
        store.close()


def main() -> None:
    service.entry("codeanalysisd-db", serve)


if __name__ == "__main__":
    main()

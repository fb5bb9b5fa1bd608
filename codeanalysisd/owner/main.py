"""codeanalysisd-db: the DB owner. The only process that opens the database."""

from __future__ import annotations

import asyncio
import os

from dbus_fast import NameFlag, RequestNameReply

from codeanalysisd import service
from codeanalysisd.bus.connection import connect
from codeanalysisd.db.migrations import MigrationError
from codeanalysisd.db.store import Store
from codeanalysisd.names import BUS_NAME, OBJECT_PATH
from codeanalysisd.owner.manager import Manager, WorkerChannel
from codeanalysisd.owner.systemd_units import SystemdUnits

EXIT_SCHEMA = 65  # EX_DATAERR: the database could not be migrated


async def serve(ctx: service.Context) -> int:
    log = ctx.log
    ctx.state_dir.mkdir(parents=True, exist_ok=True)
    db_path = ctx.config.database_path or str(ctx.state_dir / "index.sqlite3")
    ctx.notifier.set_status(f"opening and migrating {db_path}")
    try:
        store, applied = Store.open(db_path)
    except MigrationError as exc:
        log.critical("cannot start: %s", exc, extra={"path": db_path})
        ctx.notifier.set_status(f"failed: {exc}")
        return EXIT_SCHEMA
    if applied:
        log.info("database %s migrated to schema version %d (applied %s)", db_path,
                 store.schema_version, ", ".join(map(str, applied)), extra={"path": db_path})
    else:
        log.info("database %s at schema version %d", db_path, store.schema_version, extra={"path": db_path})

    bus = await connect(ctx.bus_kind)
    try:
        units = SystemdUnits(bus)
        await units.start()

        def refresh_status() -> None:
            projects = len(store.list_projects())
            ctx.notifier.set_status(
                f"serving {BUS_NAME}: {projects} project(s), {store.files_indexed()} file(s) indexed"
            )

        manager = Manager(store, units, refresh_status)
        bus.export(OBJECT_PATH, manager)
        bus.export(OBJECT_PATH, WorkerChannel(manager))
        reply = await bus.request_name(BUS_NAME, NameFlag.DO_NOT_QUEUE)
        if reply != RequestNameReply.PRIMARY_OWNER:
            log.error("cannot own %s on the %s bus (%s); is another DB owner running?",
                      BUS_NAME, ctx.bus_kind.value, reply.name)
            return 1
        log.info("owns %s on the %s bus as uid %d", BUS_NAME, ctx.bus_kind.value, os.getuid())
        refresh_status()
        ctx.notifier.ready(ctx.notifier.status)
        await bus.wait_for_disconnect()
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

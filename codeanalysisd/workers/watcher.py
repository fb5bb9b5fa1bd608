"""codeanalysisd-watcher: follows registered projects on disk and hands changes to the DB owner."""

from __future__ import annotations

from codeanalysisd import service
from codeanalysisd.workers.loop import Progress, run_worker
from codeanalysisd.workers.owner_client import OwnerClient


async def _round(owner: OwnerClient) -> Progress:
    projects = await owner.list_projects()
    return Progress(f"idle, {len(projects)} project(s) registered, 0 changes pending")


async def serve(ctx: service.Context) -> int:
    return await run_worker(ctx, "watcher", _round)


def main() -> None:
    service.entry("codeanalysisd-watcher", serve)


if __name__ == "__main__":
    main()

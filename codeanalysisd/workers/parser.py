"""codeanalysisd-parser@N: checks with libcst that files' concrete syntax trees give back their bytes.

One instance per core by default (``[Parser] Units=``), started by the DB owner through
systemd. Each asks the owner for files pending verification (``SyntaxToVerify``): the owner
gives every file to one instance at a time, and none while the watcher has a backlog, so
the instances verify side by side once the index is done, and a save never waits for them.
Each reads the file through its project's root identity, as the watcher does, and gives its
verdict only for the content it was asked about (a file changed since is verified after it is
indexed again). A file with more syntax nodes than ``[Parser] MaxSyntaxNodes=`` by the count
the indexer kept is passed over unread.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dbus_fast.aio import MessageBus

from codeanalysisd import service
from codeanalysisd.bus.owner_client import OwnerClient
from codeanalysisd.index import syntax
from codeanalysisd.index.reading import read_file
from codeanalysisd.names import parser_name
from codeanalysisd.records import Counters, ProjectInfo, ProjectState
from codeanalysisd.tree import RootGone, RootId, Tree
from codeanalysisd.workers.libcst_thread import give_back_memory, off_the_loop
from codeanalysisd.workers.loop import RoundReport, run_worker

log = logging.getLogger("codeanalysisd.parser")

BATCH = 16  # files asked for at once: what an instance killed mid-batch leaves to the claim's lapse
MARKER = "libcst-inflight.json"
INSTANCE_VARIABLE = "CODEANALYSISD_PARSER"  # the instance number, set by the unit (Environment=)


@dataclass
class Tally:
    verified: int = 0  # given a verdict by libcst
    differ: int = 0  # of those, verdicts other than exact
    passed_over: int = 0  # not given to libcst: more than [Parser] MaxSyntaxNodes= nodes


class Parser:
    def __init__(self, state_dir: Path, max_nodes: Callable[[], int] = lambda: 0) -> None:
        self.marker = state_dir / MARKER
        self.max_nodes = max_nodes  # [Parser] MaxSyntaxNodes= as configured now (it follows a reload)
        self.claimant = ""
        self.tally = Tally()
        self.busy = False  # the last round found work: the next starts at once

    def connected(self, bus: MessageBus) -> None:
        self.claimant = bus.unique_name or ""

    async def round(self, owner: OwnerClient) -> RoundReport:
        if self.marker.exists():
            await recover_crash(owner, self.marker)
        was_busy, self.busy = self.busy, False
        for project in await owner.list_projects():
            if project.state != ProjectState.MISSING:
                self.busy |= await self.verify(owner, project)
        if was_busy and not self.busy:
            give_back_memory()  # idle now: what the last trees left is not kept (libcst_thread)
        state = "verifying concrete syntax" if self.busy else "idle"
        passed_over = f", {self.tally.passed_over} passed over for size" if self.tally.passed_over else ""
        return RoundReport(f"{state}: {self.tally.verified} file(s) verified, {self.tally.differ} differ{passed_over}",
                           Counters(done=self.tally.verified, errors=self.tally.differ))

    async def verify(self, owner: OwnerClient, project: ProjectInfo) -> bool:
        """One batch of the project's pending files; True if any verdict was recorded. Files
        whose content changed since they were indexed are passed over: offered again, they
        would only be passed over again until the watcher indexes them (it may be stopped),
        so such a batch is not a reason to ask again at once."""
        batch = await owner.syntax_to_verify(project.id, BATCH, self.claimant)
        if not batch:
            return False
        tree = Tree(project.root, RootId(project.root_dev, project.root_ino))
        try:
            tree.verify()
        except RootGone:  # the watcher reports it; nothing is verified meanwhile
            return False
        verdicts: list[tuple[str, bytes, str]] = []
        for rel, sha, counted in batch:
            max_nodes = self.max_nodes()
            # 0: not counted when indexed (before the count was kept): the verdict counts
            nodes = counted or None
            verdict = None if nodes is None else syntax.too_many_nodes(nodes, max_nodes)
            if verdict is None:
                item = read_file(tree, rel)
                if item is None or item.data is None or item.sha256 != sha:
                    continue  # changed since it was indexed: it is verified after its next index
                self.marker.write_text(json.dumps([project.id, rel, sha.hex()]))
                try:
                    verdict = await off_the_loop(functools.partial(syntax.verdict, max_nodes=max_nodes, nodes=nodes),
                                                 item.data)
                finally:
                    # Parsed, or interrupted by a stop: either way libcst did not crash on it (a
                    # crash takes the process down, and leaves the marker behind).
                    self.marker.unlink(missing_ok=True)
            # (the owner records a verdict only on the content it was made on: sha)
            verdicts.append((rel, sha, verdict))
            if syntax.passed_over(verdict):
                log.info("%s not verified: more than [Parser] MaxSyntaxNodes=%d syntax nodes", rel, max_nodes,
                         extra={"project": project.id, "path": rel})
        if not verdicts:
            return False
        await owner.record_syntax(project.id, verdicts)
        given = [v for _, _, v in verdicts if not syntax.passed_over(v)]
        self.tally.passed_over += len(verdicts) - len(given)
        self.tally.verified += len(given)
        self.tally.differ += sum(v != syntax.EXACT for v in given)
        return True


async def recover_crash(owner: OwnerClient, marker: Path) -> None:
    """A marker left behind means libcst took the process down on that file: record it."""
    try:
        project, rel, sha_hex = json.loads(marker.read_text())
    except (OSError, ValueError):
        marker.unlink(missing_ok=True)
        return
    log.warning("libcst crashed the parser while parsing %s; recorded, not retried", rel,
                extra={"project": project, "path": rel})
    await owner.record_syntax(project, [(rel, bytes.fromhex(sha_hex),
                                          "libcst crashed on this file (the parser was restarted)")])
    marker.unlink(missing_ok=True)


async def serve(ctx: service.Context) -> int:
    parser = Parser(ctx.state_dir, lambda: ctx.config.max_syntax_nodes)

    async def connected(bus: MessageBus) -> None:
        parser.connected(bus)

    def interval() -> float:
        return 0.0 if parser.busy else ctx.config.report_interval

    # Idle, it asks again every ReportInterval, or at once when a project comes or goes or the
    # watcher's index is settled (the owner gives no file while the watcher has a backlog). The
    # unit names its instance (for WorkerStatus); run by hand without it, it reports to systemd alone.
    number = os.environ.get(INSTANCE_VARIABLE, "")
    name = parser_name(int(number)) if number.isdecimal() else ""
    return await run_worker(ctx, name or "parser", parser.round, interval=interval, on_connect=connected,
                            report=bool(name), wake_on_signals=("IndexingSettled",))


def main() -> None:
    # libcst may still be parsing on its daemon thread when a stop comes (off_the_loop)
    service.entry("codeanalysisd-parser", serve, skip_finalization=True)


if __name__ == "__main__":
    main()

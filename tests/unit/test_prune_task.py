"""The owner's hourly prune survives a failed pass: it logs it and tries again."""

import asyncio
import logging

from codeanalysisd.db.store import Store
from codeanalysisd.owner.main import _prune_periodically


def test_a_failed_pass_is_logged_and_the_next_one_runs(tmp_path, caplog):
    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    store.close()  # every write now fails, as a pass does when the database cannot be written

    async def run() -> None:
        task = asyncio.ensure_future(_prune_periodically(store, logging.getLogger("test"), every=0.01))
        while sum("pruning failed" in r.getMessage() for r in caplog.records) < 3:
            await asyncio.sleep(0.01)
        assert not task.done()  # alive after each failure, trying again
        task.cancel()

    with caplog.at_level(logging.ERROR):
        asyncio.run(asyncio.wait_for(run(), 5))

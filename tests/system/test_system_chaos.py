"""Crash safety: kill -9 of a random unit at a random moment of a bulk index or of live
edits; systemd restarts it, the databases pass integrity_check, the index converges to disk
and a repair dry run then finds nothing. A few rounds here; bench/chaos.py runs many."""

from __future__ import annotations

import random

from conftest import figure
from helpers import start_suite
from support.chaos import one_round

SOURCE = "/srv/chaos-source"


def test_kill_9_at_random_moments(system):
    start_suite(system)
    stdlib = system.run("python3", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])").stdout.strip()
    system.sh(f"rm -rf {SOURCE} && mkdir -p {SOURCE} && cp -r {stdlib}/json {stdlib}/email {stdlib}/asyncio "
              f"{SOURCE}/ && find {SOURCE} -name __pycache__ -prune -exec rm -rf {{}} +")
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    rounds = [one_round(system, rng, SOURCE, n, phase) for n, phase in enumerate(("bulk", "live", "bulk", "live"))]
    for r in rounds:
        figure(f"chaos (seed {seed}): {r.phase}, kill -9 {r.unit} after {r.after_s:.2f} s: restarted={r.restarted} "
               f"integrity={'ok' if r.integrity_ok else 'FAILED'} converged in {r.converged_s:.1f} s, "
               f"dry run actions {r.dry_run_actions}")
    assert all(r.restarted and r.integrity_ok and r.dry_run_actions == 0 for r in rounds), (seed, rounds)

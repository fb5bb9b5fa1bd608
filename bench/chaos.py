"""Benchmark: crash safety over many rounds of kill -9 at random moments.

Each round copies a slice of the standard library into the sandbox; half the rounds kill a
random unit while that copy is being indexed ("bulk"), half while its files are being
edited, created and deleted ("live"). After each: did systemd restart the unit, does
`codeanalysisctl check` pass, how long until the index equalled disk (from the kill), and
does a repair dry run find anything. Reports every failure with the seed to replay it.

Run as root after `make wheels`:  .venv/bin/python bench/chaos.py [--rounds 50] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import statistics

from stdlib_box import STDLIB_MOUNT, boot, default_stdlib  # also puts tests/ on the path
from support.chaos import one_round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    box = boot("chaos", default_stdlib())
    try:
        box.sh(f"mkdir -p /srv/source && cd {STDLIB_MOUNT} && cp -r json email asyncio importlib /srv/source/ && "
               "find /srv/source -name __pycache__ -prune -exec rm -rf {} +")
        box.systemctl("start", "codeanalysisd.target")
        rounds = []
        for n in range(args.rounds):
            rounds.append(one_round(box, rng, "/srv/source", n, ("bulk", "live")[n % 2]))
            r = rounds[-1]
            print(f"{n:3d} {r.phase:4s} kill -9 {r.unit:34s} at {r.after_s:.2f} s: restarted={r.restarted} "
                  f"integrity={r.integrity_ok} converged {r.converged_s:.1f} s dry-run actions {r.dry_run_actions}",
                  flush=True)
    finally:
        box.stop()
    failed = [r for r in rounds if not (r.restarted and r.integrity_ok and r.dry_run_actions == 0)]
    by_unit = {u: sum(r.unit == u for r in rounds) for u in sorted({r.unit for r in rounds})}
    times = sorted(r.converged_s for r in rounds)
    print(f"seed {seed}: {len(rounds)} kills ({', '.join(f'{u} {n}' for u, n in by_unit.items())}); "
          f"restarted {sum(r.restarted for r in rounds)}, integrity ok {sum(r.integrity_ok for r in rounds)}, "
          f"dry run clean {sum(r.dry_run_actions == 0 for r in rounds)}; failures {len(failed)}")
    print(f"kill -> index equal to disk: median {statistics.median(times):.1f} s, max {times[-1]:.1f} s")


if __name__ == "__main__":
    main()

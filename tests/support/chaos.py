"""kill -9 of a random unit at a random moment of real work, and the checks that must hold
after it; used by tests/test_system_chaos.py (a few rounds) and bench/chaos.py (many)."""

from __future__ import annotations

import json
import random
import subprocess
import time
from dataclasses import dataclass

from sandbox.box import Box, wait_until

PY = "/usr/lib/codeanalysisd/bin/python"
CHECK = "/opt/codeanalysisd-src/tests/support/dbcheck.py"
UNITS = ("codeanalysisd-db.service", "codeanalysisd-watcher.service", "codeanalysisd-vectorizer.service",
         "codeanalysisd-repair.service")


@dataclass
class Round:
    phase: str
    unit: str
    after_s: float
    restarted: bool
    integrity_ok: bool
    converged_s: float
    dry_run_actions: int


def _converged(box: Box, root: str, pid: str) -> bool:
    files = json.loads(box.run(PY, CHECK, "files", pid).stdout)["files"]
    # a file shown ahead of the rest of its facts is not indexed yet
    live = {p: f["sha256"] for p, f in files.items() if f["state"] == "live" and f["whole"]}
    return live == json.loads(box.run(PY, CHECK, "disk", root).stdout)


def _running(box: Box) -> bool:
    return all(box.show(u, "SubState")["SubState"] == "running" for u in UNITS)


def one_round(box: Box, rng: random.Random, source: str, n: int, phase: str) -> Round:
    """phase 'bulk': a fresh copy of ``source`` is added as a project and a unit is killed while
    it is indexed; 'live': files of a project are edited, created and deleted meanwhile."""
    root, pid = f"/srv/chaos-{n}", f"chaos-{n}"
    box.sh(f"rm -rf {root} && cp -r {source} {root}")
    editor = None
    if phase == "bulk":
        box.run("codeanalysisctl", "add", "--no-block", root)
    else:
        box.run("codeanalysisctl", "add", "--no-block", root)
        wait_until(lambda: _converged(box, root, pid), timeout=120, interval=0.2, what="the project indexed")
        script = (f"cd {root} && for i in $(seq 1 400); do "
                  f"f=$(ls *.py */*.py 2>/dev/null | shuf -n 1 --random-source=/dev/zero); "
                  "echo \"# edit $i\" >> \"$f\"; printf 'x_%s = 1\\n' $i > new_$((i % 7)).py; "
                  "rm -f new_$(((i + 3) % 7)).py; done")
        editor = subprocess.Popen(box.argv("sh", "-c", script), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    unit = rng.choice(UNITS)
    after = rng.uniform(0.05, 1.5)
    time.sleep(after)  # the random moment: this is the point, not a wait for a condition
    before = box.show(unit, "MainPID", "NRestarts")
    killed_at = time.monotonic()
    box.run("kill", "-9", before["MainPID"], check=False)
    if editor is not None:
        editor.wait(timeout=120)
    restarted = True
    try:
        wait_until(lambda: box.show(unit, "NRestarts")["NRestarts"] != before["NRestarts"], timeout=30,
                   what=f"systemd to restart {unit}")
        wait_until(lambda: _running(box), timeout=30, what="every unit running")
    except TimeoutError:
        restarted = False
    wait_until(lambda: _converged(box, root, pid), timeout=180, interval=0.2, what="the index equal to disk")
    converged = time.monotonic() - killed_at  # restart included (and, live, the rest of the edits)
    check = json.loads(box.run("codeanalysisctl", "--json", "check").stdout)
    dry = json.loads(box.run("codeanalysisctl", "--json", "repair", pid, "--dry-run").stdout)
    box.run("codeanalysisctl", "remove", pid)
    box.run("rm", "-rf", root)
    return Round(phase, unit, after, restarted, bool(check["ok"]), converged, len(dry["actions"]))

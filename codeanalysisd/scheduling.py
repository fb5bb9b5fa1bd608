"""A unit's ``Nice=`` where the kernel shares the CPU between sessions first (autogroup).

With autogroup on and no cpu controller over the units (a cgroup v1 host, a container that
is not given one), the scheduler shares the CPU between autogroups, one per session, and only
then by nice between the processes of one. Every service is a session of its own, so there
``Nice=`` orders nothing between units: in the test sandbox the vectorizer at ``Nice=15``
and the two parser units at ``Nice=10`` each took a third of the cores while the parser units
verified a first index (``bench/index_stdlib.py``), as a unit at ``Nice=0`` would have.
What counts there is the autogroup's own nice, which a process may raise for its session:
it is set to the process's nice at start. Where the cpu controller is on, a unit's processes
are in its cgroup, autogroup does not apply and ``CPUWeight=`` orders the units; the
autogroup's nice is then never read.
"""

from __future__ import annotations

import logging
import os
import time

AUTOGROUP = "/proc/self/autogroup"
# The kernel takes one change of any autogroup's nice per 100 ms and refuses the rest with
# EAGAIN: units started together (the parser units, the vectorizer) try again.
TRIES = 10
PAUSE = 0.12


def carry_nice_to_autogroup(log: logging.Logger, path: str = AUTOGROUP) -> bool:
    """Set the autogroup's nice to the process's (raised above 0 only); whether it was set."""
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    if nice <= 0:
        return False  # the default; lowering it would take a privilege the units do not have
    for attempt in range(TRIES):
        try:
            fd = os.open(path, os.O_WRONLY)  # never created: a kernel file or nothing
            try:
                os.write(fd, str(nice).encode())
            finally:
                os.close(fd)
        except FileNotFoundError:
            return False  # a kernel without autogroup: nice already orders every process
        except BlockingIOError:
            if attempt + 1 < TRIES:
                time.sleep(PAUSE)
            continue
        except OSError as exc:
            log.warning("cannot give this process's session its nice %d (%s): it competes for the CPU "
                        "at the priority of the suite's other units", nice, exc.strerror)
            return False
        log.debug("the session's nice set to %d, the process's", nice)
        return True
    log.warning("cannot give this process's session its nice %d: the kernel kept refusing (EAGAIN)", nice)
    return False

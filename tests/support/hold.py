"""Hold a running process stopped, as a process hung in the kernel would be: run as root
inside the sandbox, ``hold.py PID``.

It attaches to PID with ptrace and stops it. A traced, stopped process acts on no signal
but SIGKILL: SIGTERM stays pending, and the SIGCONT systemd sends along with it does not
resume it (a plain SIGSTOP would be undone by that SIGCONT). Once PID is gone, this exits,
so its parent (systemd) learns of the death at once.
"""

from __future__ import annotations

import ctypes
import os
import sys

PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000  # __WALL: also a multi-threaded process's main thread

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def main(pid: int) -> None:
    for request, name in ((PTRACE_SEIZE, "PTRACE_SEIZE"), (PTRACE_INTERRUPT, "PTRACE_INTERRUPT")):
        if libc.ptrace(request, pid, None, None) != 0:
            raise OSError(ctypes.get_errno(), f"{name} of {pid}")
    print(f"holding {pid}", flush=True)
    # Every stop (the interrupt, each signal) is left as it is: never continued.
    while True:
        _, status = os.waitpid(pid, WALL)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            return


if __name__ == "__main__":
    main(int(sys.argv[1]))

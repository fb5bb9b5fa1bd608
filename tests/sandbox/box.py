"""Drive a sandboxed, real systemd (system or user manager) from the tests.

``Box.start()`` boots ``sysbox.sh`` (PID 1 of fresh namespaces over an overlay of the host's
root, so nothing a test or a unit writes reaches the host) and waits until the manager is
running; ``Box.run()`` executes a command inside, as root or as another user.
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

HERE = pathlib.Path(__file__).resolve().parent
SYSBOX = HERE / "sysbox.sh"
BUILD = HERE.parent.parent / "build" / "sandbox"
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def _die_with_parent() -> None:
    # If pytest is SIGKILLed, the launcher dies, and its --kill-child takes the box with it.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05,
               what: str = "condition") -> T:
    """Poll until predicate() is truthy; a deadline, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


class CommandFailed(subprocess.CalledProcessError):
    """A command inside the box failed; the message carries what it printed."""

    def __str__(self) -> str:
        return (f"{super().__str__()}\n--- stdout ---\n{(self.stdout or '')[-3000:]}"
                f"\n--- stderr ---\n{(self.stderr or '')[-3000:]}")


class Box:
    def __init__(self, box_id: str, mode: str = "system", binds: tuple[str, ...] = (),
                 private_network: bool = False) -> None:
        self.id, self.mode = box_id, mode
        self.binds = list(binds)
        self.private_network = private_network
        (BUILD / "state").mkdir(parents=True, exist_ok=True)
        (BUILD / "logs").mkdir(parents=True, exist_ok=True)
        self.pidfile = BUILD / "state" / f"{box_id}.pid"
        self.logpath = BUILD / "logs" / f"{box_id}.console.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None
        self.boot_seconds: float | None = None

    @property
    def user(self) -> list[str]:
        """``--user`` where systemctl/busctl must address the user manager and session bus."""
        return ["--user"] if self.mode == "user" else []

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 60.0) -> Box:
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> Box:
        if os.geteuid() != 0:
            raise RuntimeError("the sandbox needs root")
        self.pidfile.unlink(missing_ok=True)
        argv = [str(SYSBOX), "start", self.id, "--mode", self.mode]
        for bind in self.binds:
            argv += ["--bind", bind]
        if self.private_network:
            argv.append("--private-network")
        env = dict(os.environ, SYSBOX_PIDFILE=str(self.pidfile))
        started = time.monotonic()
        with open(self.logpath, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=env, start_new_session=True, preexec_fn=_die_with_parent)
        deadline = started + timeout
        expect_comm = "systemd" if self.mode == "system" else "bash"
        socket = "run/systemd/private" if self.mode == "system" else "run/user/0/systemd/private"
        while True:
            self._check_alive()
            try:
                pid = int(self.pidfile.read_text())
                comm = pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
            except (OSError, ValueError):
                pid, comm = None, None
            if pid and comm == expect_comm and pathlib.Path(f"/proc/{pid}/root/{socket}").exists():
                self.pid = pid
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"sandbox {self.id} did not come up:\n{self.console()}")
            time.sleep(0.005)
        r = self.run("systemctl", *self.user, "is-system-running", "--wait", check=False,
                     timeout=max(1.0, deadline - time.monotonic()))
        if r.stdout.strip() not in ("running", "degraded"):
            raise RuntimeError(f"sandbox {self.id}: is-system-running={r.stdout.strip()!r} {r.stderr}")
        self.boot_seconds = time.monotonic() - started
        return self

    def stop(self, timeout: float = 60.0) -> None:
        if self.proc is None:
            return
        try:
            subprocess.run([str(SYSBOX), "stop", self.id], env=dict(os.environ, SYSBOX_PIDFILE=str(self.pidfile)),
                           check=False, timeout=timeout)
        finally:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.pidfile.unlink(missing_ok=True)

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"sandbox {self.id} exited rc={self.proc.returncode}:\n{self.console()}")

    def console(self) -> str:
        try:
            return self.logpath.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    # ------------------------------------------------------------------ inside
    def argv(self, *cmd: str) -> list[str]:
        assert self.pid is not None
        ns = ["--mount", "--pid", "--uts", "--ipc", "--cgroup"]
        if os.readlink(f"/proc/{self.pid}/ns/net") != os.readlink("/proc/self/ns/net"):
            ns.append("--net")
        env = ["TERM=dumb", "LANG=C.UTF-8", "HOME=/root", "USER=root", "LOGNAME=root", f"PATH={SAFE_PATH}",
               "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"]
        if self.mode == "user":
            env += ["XDG_RUNTIME_DIR=/run/user/0", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/0/bus"]
        return ["nsenter", f"--target={self.pid}", *ns, "--root", "--wd", "--", "env", "-i", *env, *cmd]

    def run(self, *cmd: str, check: bool = True, input: str | None = None, timeout: float = 120.0,
            user: str | None = None, groups: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run cmd inside the box; ``user=`` drops to that user (and ``groups=`` to those groups)."""
        if user is not None:
            group_opt = f"--groups={groups}" if groups else "--clear-groups"
            cmd = ("setpriv", f"--reuid={user}", f"--regid={user if user != 'nobody' else 'nogroup'}",
                   group_opt, "--inh-caps=-all", "--", *cmd)
        self._check_alive()
        r = subprocess.run(self.argv(*cmd), input=input, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise CommandFailed(r.returncode, cmd, r.stdout, r.stderr)
        return r

    def sh(self, script: str, **kw) -> subprocess.CompletedProcess[str]:
        return self.run("/bin/sh", "-c", script, **kw)

    def write_file(self, path: str, content: str, mode: str = "0644") -> None:
        self.run("/bin/sh", "-c", 'umask 022; mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"',
                 "sh", path, mode, input=content)

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", *self.user, *args, check=check)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.systemctl("show", "-p", ",".join(props), unit).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, unit: str, *args: str) -> str:
        selector = ["--user-unit", unit] if self.mode == "user" else ["-u", unit]
        return self.run("journalctl", *selector, "--no-pager", *args).stdout

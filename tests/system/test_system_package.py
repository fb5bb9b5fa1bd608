"""The Debian package: built with dpkg-buildpackage, installed with apt into a fresh
sandboxed system (never the host), used, removed and purged as an admin would."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import REPO
from helpers import SERVICES, all_running
from sandbox.box import SYSBOX, Box, wait_until

DEBS = "/opt/codeanalysisd-debs"


@pytest.fixture(scope="module")
def deb() -> str:
    subprocess.run(["make", "-C", str(REPO), "--no-print-directory", "deb"], check=True, capture_output=True,
                   timeout=600)
    (name,) = [p for p in os.listdir(REPO / "build" / "deb") if p.endswith(".deb")]
    return name


@pytest.fixture(scope="module")
def fresh(deb):
    subprocess.run([str(SYSBOX), "gc"], check=False, capture_output=True)
    box = Box(f"cad-deb-{os.getpid()}", binds=(f"{REPO / 'build' / 'deb'}:{DEBS}:ro",), private_network=True)
    box.start()
    yield box
    box.stop()


def test_apt_install_use_remove_purge(fresh, deb):
    box = fresh
    # The host's image forbids maintainer scripts to start services (policy-rc.d exits 101,
    # a container convention); a real machine has no such file, and neither has this box.
    box.run("rm", "-f", "/usr/sbin/policy-rc.d")
    # a caller from before the callers' group existed: a member of the service's own group
    box.sh("groupadd --system codeanalysis && useradd --no-create-home --groups codeanalysis olduser")
    # (private network: apt installs from the file alone; every dependency is already there)
    r = box.run("apt-get", "install", "-y", f"{DEBS}/{deb}", timeout=300)
    assert "Setting up codeanalysisd" in r.stdout
    # ... is moved to the callers' group, and the output says so
    assert "moved olduser from group codeanalysis (now the service's own) to codeanalysis-users" in r.stdout
    assert sorted(box.run("id", "-nG", "olduser").stdout.split()) == ["codeanalysis-users", "olduser"]
    assert box.run("getent", "group", "codeanalysis-admin", check=False).returncode == 0
    # the package enabled and started the target through its maintainer scripts
    assert box.systemctl("is-enabled", "codeanalysisd.target").stdout.strip() == "enabled"
    wait_until(lambda: all_running(box), timeout=30, what="the packaged suite to run")
    assert box.run("id", "-nG", "codeanalysis").stdout.split() == ["codeanalysis"]
    assert "enable codeanalysisd.target" in box.run("cat", "/lib/systemd/system-preset/80-codeanalysisd.preset").stdout
    conf = box.run("cat", "/etc/codeanalysisd/codeanalysisd.conf").stdout
    keys = [line for line in conf.splitlines() if "=" in line and not line.startswith("#")]
    assert keys == []  # every key is shown commented, with its default
    box.sh("mkdir -p /srv/pkg && printf 'def packaged_marker_fn():\\n    return 1\\n' > /srv/pkg/m.py")
    box.run("codeanalysisctl", "add", "/srv/pkg")

    def found():
        r = box.run("busctl", "--json=short", "call", "org.codeanalysis1", "/org/codeanalysis1",
                    "org.codeanalysis1.Manager", "Search", "ssu", "packaged_marker_fn", "", "5", check=False)
        return r.returncode == 0 and json.loads(r.stdout)["data"][0]

    hits = wait_until(found, timeout=20, what="the packaged suite to index and search")
    assert hits[0][1] == "m.py"

    box.run("apt-get", "remove", "-y", "codeanalysisd", timeout=300)
    assert box.run("pgrep", "-u", "codeanalysis", check=False).stdout == ""  # every unit stopped
    for unit in SERVICES:
        assert box.show(unit, "LoadState")["LoadState"] == "not-found"
    assert box.run("test", "-e", "/usr/lib/codeanalysisd", check=False).returncode != 0
    # remove keeps the state and the configuration; purge takes them
    assert box.run("test", "-e", "/var/lib/codeanalysisd/index.sqlite3", check=False).returncode == 0
    assert box.run("test", "-e", "/etc/codeanalysisd/codeanalysisd.conf", check=False).returncode == 0
    box.run("apt-get", "purge", "-y", "codeanalysisd", timeout=300)
    assert box.run("test", "-e", "/var/lib/codeanalysisd", check=False).returncode != 0
    assert box.run("test", "-e", "/etc/codeanalysisd/codeanalysisd.conf", check=False).returncode != 0

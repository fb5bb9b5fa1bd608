"""The Debian package: built with dpkg-buildpackage, checked with lintian, installed with
apt into a fresh sandboxed system (never the host), used, removed and purged as an admin
would."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from conftest import REPO
from helpers import SERVICES, all_running
from mcp_client import served, tool
from sandbox.box import SYSBOX, Box, wait_until

DEBS = "/opt/codeanalysisd-debs"


@pytest.fixture(scope="module")
def deb() -> str:
    # gzip, not xz: the same package in a seventh of the compressing time (packaging/debian/rules)
    subprocess.run(["make", "-C", str(REPO), "--no-print-directory", "deb", "DEB_COMPRESS=gzip"], check=True,
                   capture_output=True, timeout=600)
    (name,) = [p for p in os.listdir(REPO / "build" / "deb") if p.endswith(".deb")]
    return name


@pytest.fixture(scope="module")
def fresh(deb):
    subprocess.run([str(SYSBOX), "gc"], check=False, capture_output=True)
    box = Box(f"cad-deb-{os.getpid()}", binds=(f"{REPO / 'build' / 'deb'}:{DEBS}:ro",), private_network=True)
    box.start()
    yield box
    box.stop()


# "E: codeanalysisd: tag context [pointer]"; O: is a tag the package overrides
_LINTIAN = re.compile(r"^([EWIPOXC]): codeanalysisd(?: \(binary\))?: (\S+)")


def test_lintian(deb):
    """No error from lintian; every warning it still gives and every override the package
    carries is explained in packaging/README.md, and every override is used."""
    done = subprocess.run(["lintian", "--show-overrides", "--tag-display-limit", "0",
                           str(REPO / "build" / "deb" / deb)], capture_output=True, text=True, timeout=900)
    said = [(m.group(1), m.group(2), line) for line in done.stdout.splitlines() if (m := _LINTIAN.match(line))]
    assert said or done.returncode == 0, done.stderr
    errors = [line for kind, _tag, line in said if kind == "E"]
    assert not errors, "\n".join(errors)
    readme = (REPO / "packaging" / "README.md").read_text()
    unexplained = sorted({line for kind, tag, line in said if kind in "WO" and f"`{tag}`" not in readme})
    assert not unexplained, "explain in packaging/README.md:\n" + "\n".join(unexplained)
    assert not [line for _kind, tag, line in said if tag in ("unused-override", "mismatched-override")]
    # every override line has its reason above it, in a comment of its own block
    overrides = (REPO / "packaging" / "debian" / "codeanalysisd.lintian-overrides").read_text()
    for block in overrides.split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        if any(not line.startswith("#") for line in lines):
            assert lines[0].startswith("#"), f"an override without its reason:\n{block}"
    used = {tag for kind, tag, _line in said if kind == "O"}
    for line in overrides.splitlines():
        if line and not line.startswith("#"):
            assert line.split()[1] in used, f"an override lintian no longer needs: {line}"


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
    # no byte-code in the package; postinst wrote it
    assert "__pycache__" not in box.run("dpkg", "-L", "codeanalysisd").stdout
    assert box.sh("find /usr/lib/codeanalysisd -name '*.pyc' | wc -l").stdout.strip() != "0"
    # the manual pages, found by name (a unit's name too) and shown without a warning
    for name, part in (("codeanalysisctl", "restore PROJECT PATH"), ("codeanalysisd.conf", "MaxVersions="),
                       ("codeanalysisd-db.service", "org.codeanalysis1.Error.NotFound")):
        shown = box.run("man", "--warnings", "-P", "cat", name)
        assert part in shown.stdout and shown.stderr == "", (name, shown.stderr)
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

    # the MCP bridge runs on what the package left in its environment
    async def agent(s):
        return {t.name for t in (await s.list_tools()).tools}, await tool(s, "search", query="packaged_marker_fn",
                                                                             mode="text")
    tools, searched = served(box, agent, {"user": "root", "groups": "root"})
    assert "search" in tools and not searched.error and searched.data["results"][0]["path"] == "m.py", searched.text

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

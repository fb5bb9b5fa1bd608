"""Symbolic links cannot lead the suite out of a root, and the service writes into no project.

SECURITY-REVIEW H2a and H2b, run as an unprivileged member (`lattacker`) against another
user's project (`lvictim`'s, under /srv, opened to the service for reading *and writing*, as
restores once required). The attacker swaps a directory of his own project, then his whole
root, for a link into the victim's tree, and asks for restores: each fails, the victim's tree
stays byte-identical, and nothing of it reaches the attacker's history, index or replies.
Then, from inside the DB owner's own sandbox, a write as the service user under /home, /srv
and /opt fails although the files' permissions would allow it.
"""

from __future__ import annotations

import json

import pytest
from helpers import ctl, start_suite
from sandbox.box import wait_until

ATTACKER = {"user": "lattacker", "groups": "codeanalysis-users"}
VICTIM = {"user": "lvictim", "groups": "codeanalysis-users"}

APP = "/srv/lvictim/app"       # the victim's project
P = "/srv/lattacker/p"         # H2a: a directory of it becomes a link
P2 = "/srv/lattacker/p2"       # H2b: the whole root becomes a link
SECRET = "LVICTIM_SETTINGS_SECRET_4711"
MALICE = "LATTACKER_CONFTEST_PAYLOAD_0815"
VICTIM_FILES = {
    "config/local_settings.py": f'DB_PASSWORD = "{SECRET}"\n',
    "config/__init__.py": "",
    "app.py": "def victim_app():\n    return 1\n",
    "conftest.py": "# the victim's own conftest\n",
}
PROBES = ("/home/lvictim/w", "/srv/lvictim/app", "/opt/lvictim-w")


def tree_digest(system, root: str) -> str:
    """Every path below root with its type, mode, owner and, for files, sha256."""
    return system.sh(f"cd {root} && find . -printf '%y %m %u:%g %p\\n' | sort "
                     "&& find . -type f -print0 | sort -z | xargs -0 sha256sum").stdout


def history(system, project: str, path: str, who: dict) -> list[dict]:
    r = ctl(system, "--json", "history", project, path, check=False, **who)
    return json.loads(r.stdout) if r.returncode == 0 else []


def versions_text(system, project: str, path: str, who: dict) -> str:
    return "".join(ctl(system, "show", project, path, "--version", str(v["version"]), check=False, **who).stdout
                   for v in history(system, project, path, who))


def project_state(system, project: str) -> str:
    rows = json.loads(ctl(system, "--json", "projects").stdout)
    return next(row["state"] for row in rows if row["id"] == project)


IDS: dict[str, str] = {}  # root -> project id: an id a removed project's history holds is not given again


def pid(root: str) -> str:
    return IDS[root]


def cleanup(system) -> None:
    start_suite(system)
    for root in (APP, P, P2):
        ctl(system, "remove", root, check=False)
    system.sh("rm -rf /srv/lvictim /srv/lattacker /opt/lvictim-w; "
              "for u in lvictim lattacker; do id $u >/dev/null 2>&1 && userdel -r $u 2>/dev/null; done; true")


@pytest.fixture(scope="module", autouse=True)
def world(system, request):
    start_suite(system)
    request.addfinalizer(lambda: cleanup(system))
    system.sh("useradd -m -G codeanalysis-users lvictim && useradd -M -G codeanalysis-users lattacker")
    for rel, text in VICTIM_FILES.items():
        system.write_file(f"{APP}/{rel}", text)
    # Readable and writable by the service (the old advice for restores); the settings are
    # the victim's and the service's only.
    system.sh(f"chown -R lvictim:lvictim /srv/lvictim && chmod 0600 {APP}/config/local_settings.py "
              f"&& setfacl -R -m u:codeanalysis:rwX,d:u:codeanalysis:rwX {APP}")
    for root in (P, P2):
        system.sh(f"mkdir -p {root} && chown -R lattacker:lattacker /srv/lattacker")
    system.run("sh", "-c", f"mkdir -p {P}/config && echo 'x = 1' > {P}/config/local_settings.py "
               f"&& printf 'import os\\n{MALICE} = os.system(\"id > ~/pwned\")\\n' > {P2}/conftest.py", **ATTACKER)
    for root, who in ((APP, VICTIM), (P, ATTACKER), (P2, ATTACKER)):
        ctl(system, "add", root, **who)
        rows = json.loads(ctl(system, "--json", "projects", **who).stdout)
        IDS[root] = next(row["id"] for row in rows if row["root"] == root)
    for project, path, who in ((pid(APP), "config/local_settings.py", VICTIM),
                               (pid(P), "config/local_settings.py", ATTACKER), (pid(P2), "conftest.py", ATTACKER)):
        wait_until(lambda p=project, f=path, w=who: history(system, p, f, w), timeout=20,
                   what=f"{project}/{path} indexed")


def no_victim_content(system, text: str) -> None:
    assert SECRET not in text and "victim_app" not in text and "the victim's own conftest" not in text, text


def test_h2a_a_directory_swapped_for_a_link_is_not_read_through(system):
    before = tree_digest(system, APP)
    # the attacker's own directory becomes a link to the victim's
    system.sh(f"mv {P}/config {P}/c.real && ln -s {APP}/config {P}/config", **ATTACKER)
    r = ctl(system, "restore", pid(P), "config/local_settings.py", "--version", "1", "--overwrite", check=False,
            **ATTACKER)
    assert r.returncode == 1 and "symbolic link" in r.stderr, (r.stdout, r.stderr)
    no_victim_content(system, r.stdout + r.stderr)
    # the watcher saw the swap: c.real is indexed, nothing is read through the link
    wait_until(lambda: history(system, pid(P), "c.real/local_settings.py", ATTACKER), timeout=20,
               what="c.real indexed")
    for who in (ATTACKER, {}):  # not for him, and not in the index at all (root sees everything)
        no_victim_content(system, versions_text(system, pid(P), "config/local_settings.py", who))
        no_victim_content(system, ctl(system, "search", SECRET, "--project", pid(P), check=False, **who).stdout)
        no_victim_content(system, ctl(system, "--json", "problems", "--project", pid(P), check=False, **who).stdout)
    assert tree_digest(system, APP) == before


def test_h2b_a_root_swapped_for_a_link_is_missing_and_never_written_through(system):
    before = tree_digest(system, APP)
    system.sh(f"mv {P2} {P2}.real && ln -s {APP} {P2}", **ATTACKER)
    wait_until(lambda: project_state(system, pid(P2)) == "missing", timeout=20, what="p2 missing")
    journal = system.run("journalctl", "--no-pager", "-o", "cat", "-u", "codeanalysisd-watcher.service").stdout
    # the reason: a link, or (if the watcher looked between the mv and the ln) not there
    assert f"{pid(P2)}: " in journal and ("symbolic link" in journal or "does not exist" in journal), journal[-2000:]
    for overwrite in ((), ("--overwrite",)):
        r = ctl(system, "restore", pid(P2), "conftest.py", *overwrite, check=False, **ATTACKER)
        assert r.returncode == 1, (r.stdout, r.stderr)
        no_victim_content(system, r.stdout + r.stderr)
    r = ctl(system, "repair", pid(P2), check=False, **ATTACKER)
    assert r.returncode == 1 and "not the directory registered" in r.stderr, r.stderr
    # the victim's tree is untouched, and it was not indexed as the attacker's project
    assert tree_digest(system, APP) == before
    for who in (ATTACKER, {}):
        for path in ("conftest.py", "app.py", "config/local_settings.py"):
            no_victim_content(system, versions_text(system, pid(P2), path, who))
        no_victim_content(system, ctl(system, "search", "victim_app", "--project", pid(P2), check=False, **who).stdout)
    assert {v["reason"] for v in history(system, pid(P2), "conftest.py", ATTACKER)} <= {"added", "repaired"}
    # the attacker's real directory back in place: followed again, his own file intact
    system.sh(f"rm {P2} && mv {P2}.real {P2}", **ATTACKER)
    wait_until(lambda: project_state(system, pid(P2)) == "active", timeout=20, what="p2 active again")
    assert MALICE in ctl(system, "show", pid(P2), "conftest.py", **ATTACKER).stdout


def test_the_owner_cannot_write_under_home_srv_or_opt(system):
    """From inside the DB owner's mount namespace, as its user: every write fails with a
    read-only file system where the permissions themselves would allow it."""
    system.sh("mkdir -p /home/lvictim/w /opt/lvictim-w && chown lvictim /home/lvictim/w /opt/lvictim-w "
              "&& setfacl -m u:codeanalysis:x /home/lvictim "
              "&& setfacl -m u:codeanalysis:rwx /home/lvictim/w /opt/lvictim-w")
    pid = system.show("codeanalysisd-db.service", "MainPID")["MainPID"]
    assert pid != "0"
    for where in PROBES:
        # the same write outside the sandbox succeeds: the permissions allow it
        system.run("setpriv", "--reuid=codeanalysis", "--regid=codeanalysis", "--clear-groups", "--",
                   "touch", f"{where}/outside-probe")
        r = system.run("nsenter", f"--target={pid}", "--mount", "--", "setpriv", "--reuid=codeanalysis",
                       "--regid=codeanalysis", "--clear-groups", "--", "touch", f"{where}/inside-probe", check=False)
        assert r.returncode != 0 and "Read-only file system" in r.stderr, (where, r.stdout, r.stderr)
    rw = system.show("codeanalysisd-db.service", "ReadWritePaths")["ReadWritePaths"]
    assert rw == "", rw

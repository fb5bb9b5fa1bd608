"""The Security model (README) under a real system manager, with real unprivileged users.

`victim` keeps a private tree (/home/victim 0700, opened to the service alone by ACL) and a
world-readable project with one file only she may read; `attacker` (group
codeanalysis-users) runs every attack step of SECURITY-REVIEW H1, M4 and M5 against them and
gets a named error or nothing, and no reply of his (stdout and stderr of every command) holds
any of the victim's contents, paths, history or the id of her private project; the victim
and root keep everything that is theirs, and worker control and `check` stay with root and
the members of codeanalysis-admin (`admin`, also a caller, and `ops`, an admin only).
"""

from __future__ import annotations

import json
import re
import time

import pytest
from helpers import IFACE, NAME, OBJ, all_running, busctl, ctl, journal_cursor, start_suite
from sandbox.box import wait_until

ATTACKER = {"user": "attacker", "groups": "codeanalysis-users"}
VICTIM = {"user": "victim", "groups": "codeanalysis-users"}
ADMIN = {"user": "admin", "groups": "codeanalysis-users,codeanalysis-admin"}  # a user who also administers
ALICE = {"user": "alice", "groups": "codeanalysis-users"}  # restores into her own home (M1, L7)
OPS = {"user": "ops", "groups": "codeanalysis-admin"}  # in the admin group only

HOME = "/home/victim"
APP = f"{HOME}/app"            # the victim's private project: id "app"
PRIVATE = f"{HOME}/private"    # a private directory the service may read, the attacker not
PUB = "/srv/victimpub"         # the victim's world-readable project, one file of it private, restorable
OLD = "/srv/victimold"         # a project the victim removed, with a deleted file in its history
ALICE_ROOT = "/home/alice/proj"  # alice's project in her home: a 0600 secret.py, a 0755 script.py
OWN = "/srv/attacker/attackproj"  # the attacker's own project
OWN_Q = "/srv/attacker/second"    # what the attacker adds past the quota
JSONP = "/srv/sec-json"        # root's project: a copy of the stdlib's json package
DROPIN = "/etc/codeanalysisd/codeanalysisd.conf.d/60-security-test.conf"
BUS_POLICY = "/etc/dbus-1/system.d/zz-codeanalysis-security-test.conf"
DB_UNIT = "codeanalysisd-db.service"

SECRET = "SECRET_VICTIM_TOKEN_123"
KEYS = "VICTIM_KEYS_MARKER_456"
HIDDEN = "VICTIMPUB_PRIVATE_MARKER_789"
OLDMARK = "VICTIMOLD_DELETED_MARKER_321"

SETTINGS = (f'import os\n\nSECRET = "{SECRET}"\n\n\n'
            "def victim_secret_fn(password, token):\n"
            '    """Return the secret token of the victim."""\n'
            '    return os.getenv("VICTIM_DB_PASSWORD") or SECRET + password + token\n')
KEYS_PY = f'{KEYS} = "-----BEGIN PRIVATE KEY-----"\n\n\ndef victim_keys_fn():\n    return {KEYS}\n'
ROLLBACK = ("M5_EDIT_A = 1\n", "M5_EDIT_B = 2\n")
M5 = ("M5_PUB_A = 1\n", "M5_PUB_B = 2\n", "M5_PUB_C = 3\n")
PUBLIC_PY = 'def victimpub_public_fn():\n    return "VICTIMPUB_PUBLIC_OK"\n'
HIDDEN_PY = (f'HIDDEN = "{HIDDEN}"\n\n\ndef victimpub_private_fn(password, secret, token):\n'
             '    """The password, the secret and the token of the victim."""\n    return HIDDEN\n')
OWN_PY = ('import os\n\nATTACKER_OWN_MARKER = 1\n\n\ndef attacker_fn(password, secret, token):\n'
          '    """The attacker\'s own password, secret and token."""\n    return os.getenv("HOME")\n')

# What must never reach the attacker: the victim's contents, names of her unreadable files,
# anything under her home, and her private project's id as a project (app: / 'app' / app/...).
LEAKS = (SECRET, "victim_secret_fn", KEYS, "victim_keys_fn", "PRIVATE KEY", "settings.py", "keys.py",
         "rollback.py", "M5_EDIT", "broken_victim", HIDDEN, "victimpub_private_fn", "hidden_mod.py",
         "hidden_broken.py", OLDMARK, "victim_old_fn", "old_mod.py", f"{HOME}/")
# A file's first version: the watcher's ("added"), or the repair worker's if its round got there first.
FIRST = ("added", "repaired")
APP_ID = re.compile(r"^app[:\s]|['\"]app['\"]|(?<![\w./-])app/", re.M)


# ----------------------------------------------------------------------------- helpers
def no_leak(r, args) -> None:
    """Nothing of the victim's in this reply to the attacker (what he typed himself aside)."""
    text = r.stdout + r.stderr
    for arg in sorted({a for a in args if len(a) >= 3}, key=len, reverse=True):
        text = text.replace(arg, "<typed>")
    found = [leak for leak in LEAKS if leak in text] + APP_ID.findall(text)
    assert not found, f"attacker's {' '.join(args)!r} got {found}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"


def attack(system, *args: str, error: str | None = None):
    """codeanalysisctl as the attacker; with ``error``, it must fail with that named error."""
    r = ctl(system, *args, check=False, **ATTACKER)
    no_leak(r, args)
    if error is not None:
        assert r.returncode == 1 and f"[org.codeanalysis1.Error.{error}]" in r.stderr, (args, r.stdout, r.stderr)
    return r


def attack_bus(system, member: str, *args: str, error: str):
    """A Manager method called as the attacker with dbus-send, which prints the error's name."""
    r = system.run("dbus-send", "--system", "--print-reply", f"--dest={NAME}", OBJ, f"{IFACE}.{member}", *args,
                   check=False, **ATTACKER)
    no_leak(r, tuple(a.split(":", 1)[1] for a in args))  # what he typed, without dbus-send's type prefix
    assert r.returncode != 0 and f"Error org.codeanalysis1.Error.{error}:" in r.stderr, (member, args, r.stderr)
    return r


def indistinguishable(system, args: tuple[str, ...], i: int, fake: str, error: str = "NotFound") -> None:
    """The attacker's reply naming the victim's thing (args[i]) is the reply for one that does
    not exist at all (``fake``), names aside: he cannot tell it is there."""
    real = attack(system, *args, error=error)
    made_up = attack(system, *args[:i], fake, *args[i + 1:], error=error)
    assert (real.stdout, real.stderr) == (made_up.stdout.replace(fake, args[i]),
                                          made_up.stderr.replace(fake, args[i])), (real.stderr, made_up.stderr)


def as_json(system, *args: str, who: dict | None = None) -> list:
    r = ctl(system, "--json", *args, check=False, **(who or {}))
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout) if r.stdout.strip() else []


def found_in(rows: list, key: str = "path") -> set[tuple[str, str]]:
    return {(row["project"], row[key]) for row in rows}


def hidden(rows: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The rows of files the attacker may not see: the victim's private project, her private file."""
    return {(p, f) for p, f in rows if p in ("app", "victimold") or (p, f) == ("victimpub", "hidden_mod.py")}


def history(system, project: str, path: str, who: dict | None = None) -> list[dict]:
    r = ctl(system, "--json", "history", project, path, check=False, **(who or {}))
    return json.loads(r.stdout) if r.returncode == 0 else []


def sha256(system, path: str) -> str:
    return system.run("sha256sum", path).stdout.split()[0]


def write_as(system, who: dict, path: str, content: str) -> None:
    system.run("sh", "-c", 'cat > "$1"', "sh", path, input=content, **who)


def reload_owner(system) -> str:
    """systemctl reload of the DB owner; returns its journal line once the new configuration is in force."""
    cursor = journal_cursor(system)
    system.systemctl("reload", DB_UNIT)

    def line() -> str | None:
        out = system.run("journalctl", "--no-pager", "-o", "cat", "-u", DB_UNIT, f"--after-cursor={cursor}").stdout
        return next((x for x in out.splitlines() if "configuration reloaded" in x or "reload refused" in x), None)

    return wait_until(line, timeout=10, what="the DB owner to reload its configuration")


def reload_bus(system) -> None:
    system.run("busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
               "ReloadConfig")


def cleanup(system) -> None:
    if system.run("test", "-e", BUS_POLICY, check=False).returncode == 0:
        system.run("rm", "-f", BUS_POLICY)
        reload_bus(system)
    if system.run("test", "-e", DROPIN, check=False).returncode == 0:
        system.run("rm", "-f", DROPIN)
        reload_owner(system)
    start_suite(system)
    for root in (APP, PUB, OLD, OWN, OWN_Q, JSONP, ALICE_ROOT):
        ctl(system, "remove", root, check=False)
    system.sh(f"rm -rf {PUB} {OLD} /srv/attacker {JSONP} {HOME} /home/alice; "
              "for u in victim attacker admin ops alice; do id $u >/dev/null 2>&1 && userdel -r $u 2>/dev/null; done; "
              "true")


# ----------------------------------------------------------------------------- setup
@pytest.fixture(scope="module", autouse=True)
def world(system, request):
    start_suite(system)
    request.addfinalizer(lambda: cleanup(system))
    system.sh("useradd -m -G codeanalysis-users victim && useradd -M -G codeanalysis-users attacker "
              "&& useradd -M -G codeanalysis-users,codeanalysis-admin admin && useradd -M -G codeanalysis-admin ops")
    # The victim's private tree, opened to the service alone (README: Opening a private tree).
    for rel, text in (("app/__init__.py", ""), ("app/settings.py", SETTINGS), ("app/keys.py", KEYS_PY),
                      ("app/rollback.py", ROLLBACK[0]), ("app/broken_victim.py", "def victim_broken(:\n")):
        system.write_file(f"{APP}/{rel}", text)
    system.write_file(f"{PRIVATE}/notes.py", f'NOTE = "{SECRET}"\n')
    # Read access only: restores are written by her own client, never by the service.
    system.sh(f"chown -R victim:victim {HOME} && chmod 0700 {HOME} {PRIVATE} "
              f"&& setfacl -m u:codeanalysis:x {HOME} "
              f"&& setfacl -R -m u:codeanalysis:rX,d:u:codeanalysis:rX {APP} {PRIVATE}")
    # The victim's world-readable projects; hidden_mod.py is made private once indexed.
    system.write_file(f"{PUB}/public_mod.py", PUBLIC_PY)
    system.write_file(f"{PUB}/m5_mod.py", M5[0])
    system.write_file(f"{PUB}/hidden_mod.py", HIDDEN_PY)
    system.write_file(f"{PUB}/hidden_broken.py", "def hidden_broken(:\n", mode="0600")
    system.write_file(f"{OLD}/old_mod.py", f'{OLDMARK} = 1\n\n\ndef victim_old_fn():\n    return {OLDMARK}\n')
    system.sh(f"chown -R victim:victim {PUB} {OLD} && setfacl -R -m u:codeanalysis:rX,d:u:codeanalysis:rX {PUB} "
              f"&& setfacl -m u:codeanalysis:r {PUB}/hidden_broken.py")
    # The attacker's own world-readable project; root's copy of json.
    system.write_file(f"{OWN}/own_mod.py", OWN_PY)
    system.write_file(f"{OWN}/attacker_broken.py", "def attacker_broken(:\n")
    system.write_file(f"{OWN_Q}/q.py", "Q = 1\n")
    # L1: links the attacker plants in his own project, into the victim's tree
    system.sh(f"ln -s {APP}/app/settings.py {OWN}/probe_exists.py && ln -s {APP}/app/nothing.py {OWN}/probe_missing.py")
    system.sh(f"chown -R -h attacker:attacker /srv/attacker && rm -rf {JSONP} "
              f"&& cp -r /usr/lib/python3.11/json {JSONP} && rm -rf {JSONP}/__pycache__")

    for root in (APP, PUB, OLD):
        ctl(system, "add", root, **VICTIM)
    ctl(system, "add", OWN, **ATTACKER)
    ctl(system, "add", JSONP)

    def defined(name: str, who: dict) -> bool:
        return any(d["qualname"] == name for d in as_json(system, "def", name, who=who))

    for name in ("victim_secret_fn", "victim_keys_fn", "victimpub_private_fn", "victim_old_fn"):
        wait_until(lambda name=name: defined(name, VICTIM), timeout=20, what=f"the victim's {name} indexed")
    wait_until(lambda: defined("attacker_fn", ATTACKER), timeout=20, what="the attacker's project indexed")
    wait_until(lambda: defined("JSONDecoder", {}), timeout=20, what="root's json project indexed")
    # The victim tightens hidden_mod.py after it was indexed world-readable (H1 (b)); deletes
    # keys.py, which then exists in the history only; deletes old_mod.py and removes victimold.
    system.sh(f"chmod 0600 {PUB}/hidden_mod.py && setfacl -m u:codeanalysis:r {PUB}/hidden_mod.py")
    system.run("rm", f"{APP}/app/keys.py", **VICTIM)
    system.run("rm", f"{OLD}/old_mod.py", **VICTIM)
    for project, path in (("app", "app/keys.py"), ("victimold", "old_mod.py")):
        wait_until(lambda p=project, f=path: [v["reason"] for v in history(system, p, f, VICTIM)][-1:] == ["deleted"],
                   timeout=20, what=f"{path} recorded as deleted")
    ctl(system, "remove", "victimold", **VICTIM)


# ----------------------------------------------------------------------------- H1: reading
def test_projects_lists_only_what_the_attacker_may_see(system):
    attack(system, "projects")
    mine = {p["id"]: p["root"] for p in as_json(system, "projects", who=ATTACKER)}
    assert {"attackproj": OWN, "victimpub": PUB, "sec-json": JSONP}.items() <= mine.items()
    assert "app" not in mine and APP not in mine.values()
    theirs = {p["id"]: p["root"] for p in as_json(system, "projects", who=VICTIM)}
    assert {"app": APP, "victimpub": PUB, "attackproj": OWN}.items() <= theirs.items()
    everything = {p["id"] for p in as_json(system, "projects")}
    assert {"app", "victimpub", "attackproj", "sec-json"} <= everything


def test_full_text_search_finds_nothing_of_the_victims(system):
    r = attack(system, "search", SECRET)
    assert r.returncode == 1 and r.stdout == ""
    with pytest.raises(AssertionError):  # the check can fail: what the victim gets would be a leak
        no_leak(ctl(system, "search", SECRET, **VICTIM), ("search", SECRET))
    attack(system, "search", "password", "secret", "token", "-n", "1000")
    hits = found_in(as_json(system, "search", "password", "secret", "token", "-n", "1000", who=ATTACKER))
    assert ("attackproj", "own_mod.py") in hits and not hidden(hits)
    attack(system, "search", "self", "-n", "1000")
    hits = as_json(system, "search", "self", "-n", "1000", who=ATTACKER)
    assert hits and {h["project"] for h in hits} <= {p["id"] for p in as_json(system, "projects", who=ATTACKER)}
    # a project he may not see is one that does not exist, by id and by root
    indistinguishable(system, ("search", SECRET, "-p", "app"), 3, "nosuchproj")
    indistinguishable(system, ("search", SECRET, "-p", APP), 3, f"{HOME}/nosuchproj")
    for who in (VICTIM, {}):
        assert ("app", "app/settings.py") in found_in(as_json(system, "search", SECRET, who=who))
        assert ("app", "app/settings.py") in found_in(
            as_json(system, "search", "password", "secret", "token", "-n", "1000", who=who))


def test_definitions_and_references_of_the_victim_are_hidden(system):
    attack(system, "def", "*", "-n", "1000")
    defs = as_json(system, "def", "*", "-n", "1000", who=ATTACKER)
    names = {d["qualname"] for d in defs}
    assert {"attacker_fn", "victimpub_public_fn", "JSONDecoder"} <= names and not hidden(found_in(defs))
    assert attack(system, "def", "victim_secret_fn").returncode == 1
    attack(system, "refs", "getenv", "-n", "1000")
    uses = found_in(as_json(system, "refs", "getenv", "-n", "1000", who=ATTACKER))
    assert ("attackproj", "own_mod.py") in uses and not hidden(uses)
    for who in (VICTIM, {}):
        names = {d["qualname"] for d in as_json(system, "def", "*", "-n", "1000", who=who)}
        assert {"victim_secret_fn", "victimpub_private_fn", "attacker_fn"} <= names
        assert {("app", "app/settings.py"), ("attackproj", "own_mod.py")} <= found_in(
            as_json(system, "refs", "getenv", "-n", "1000", who=who))


def test_show_and_get_file_source_of_the_private_tree(system):
    indistinguishable(system, ("show", "app", "app/settings.py"), 1, "nosuchproj")
    indistinguishable(system, ("show", APP, "app/settings.py"), 1, f"{HOME}/nosuchproj")
    indistinguishable(system, ("show", APP, f"{APP}/app/settings.py"), 1, f"{HOME}/nosuchproj")
    for key in ("app", APP):
        r = busctl(system, "GetFileSource", "sss", key, "app/settings.py", "", check=False, **ATTACKER)
        assert r.returncode != 0 and "no project" in r.stderr
        no_leak(r, (key, "app/settings.py"))
        attack_bus(system, "GetFileSource", f"string:{key}", "string:app/settings.py", "string:", error="NotFound")
        attack_bus(system, "ListVersions", f"string:{key}", "string:app/settings.py", error="NotFound")
    for who in (VICTIM, {}):
        assert ctl(system, "show", "app", "app/settings.py", **who).stdout == SETTINGS
        assert ctl(system, "show", APP, f"{APP}/app/settings.py", **who).stdout == SETTINGS


def test_history_and_old_versions_of_a_deleted_file(system):
    indistinguishable(system, ("history", "app", "app/keys.py"), 1, "nosuchproj")
    indistinguishable(system, ("show", "app", "app/keys.py", "--version", "1"), 1, "nosuchproj")
    indistinguishable(system, ("show", "app", "app/keys.py"), 1, "nosuchproj")
    attack_bus(system, "GetFileSource", "string:app", "string:app/keys.py", "string:1", error="NotFound")
    for who in (VICTIM, {}):
        versions = history(system, "app", "app/keys.py", who)
        assert [v["reason"] for v in versions][1:] == ["deleted"] and versions[0]["reason"] in FIRST, versions
        assert ctl(system, "show", "app", "app/keys.py", "--version", "1", **who).stdout == KEYS_PY


def test_a_file_made_private_in_a_world_readable_project_is_hidden(system):
    """Visibility is per file: in a project he may see, a file he cannot read does not exist for him,
    also its old versions (it was world-readable when it was indexed)."""
    assert attack(system, "show", "victimpub", "public_mod.py").stdout == PUBLIC_PY
    indistinguishable(system, ("show", "victimpub", "hidden_mod.py"), 2, "nosuch_mod.py")
    indistinguishable(system, ("show", "victimpub", "hidden_mod.py", "--version", "1"), 2, "nosuch_mod.py")
    indistinguishable(system, ("history", "victimpub", "hidden_mod.py"), 2, "nosuch_mod.py")
    attack_bus(system, "GetFileSource", "string:victimpub", "string:hidden_mod.py", "string:", error="NotFound")
    assert attack(system, "search", HIDDEN).returncode == 1
    assert attack(system, "search", "password", "secret", "token", "-p", "victimpub").returncode == 1
    assert attack(system, "def", "victimpub_private_fn").returncode == 1
    assert {d["qualname"] for d in as_json(system, "def", "victimpub_*", who=ATTACKER)} == {"victimpub_public_fn"}
    attack(system, "def", "victimpub_*")
    for who in (VICTIM, {}):
        assert ctl(system, "show", "victimpub", "hidden_mod.py", **who).stdout == HIDDEN_PY
        assert [v["reason"] in FIRST for v in history(system, "victimpub", "hidden_mod.py", who)] == [True]
        assert ("victimpub", "hidden_mod.py") in found_in(as_json(system, "search", HIDDEN, who=who))


def test_problems_of_the_victim_are_hidden(system):
    def paths(who) -> set[tuple[str, str]]:
        return found_in(as_json(system, "problems", who=who))

    victims = {("app", "app/broken_victim.py"), ("victimpub", "hidden_broken.py")}
    wait_until(lambda: victims | {("attackproj", "attacker_broken.py"), ("attackproj", "probe_exists.py")}
               <= paths({}), timeout=10, what="the broken files and the links listed as problems")
    attack(system, "problems")
    assert ("attackproj", "attacker_broken.py") in paths(ATTACKER) and not victims & paths(ATTACKER)
    # L1: a link he planted is not a file he can read: not even its target's name comes back
    assert not {("attackproj", "probe_exists.py"), ("attackproj", "probe_missing.py")} & paths(ATTACKER)
    rows = {(p["project"], p["path"]): p["problems"] for p in as_json(system, "problems")}
    assert any(f"symbolic link to {APP}/app/settings.py" in x for x in rows[("attackproj", "probe_exists.py")])
    attack(system, "problems", "-p", "victimpub")
    indistinguishable(system, ("problems", "-p", "app"), 2, "nosuchproj")
    assert victims <= paths(VICTIM)


def test_semantic_and_hybrid_search_hide_the_victims_code(system):
    query = ("return", "the", "secret", "token", "and", "password", "of", "the", "victim")

    def victim_finds() -> str | None:
        r = ctl(system, "--json", "semantic", *query, "-p", "app", "-n", "20", check=False, **VICTIM)
        if "Unavailable" in r.stderr:
            return None
        rows = json.loads(r.stdout) if r.stdout.strip() else []
        return "found" if any(m["symbol"] == "victim_secret_fn" for m in rows) else None

    try:
        wait_until(victim_finds, timeout=60, what="the victim's code embedded")
    except TimeoutError:
        r = ctl(system, "semantic", *query, check=False, **VICTIM)
        if "Unavailable" in r.stderr:
            pytest.skip(f"the vectorizer is not available: {r.stderr.strip()}")
        raise
    for hybrid in ((), ("--hybrid",)):
        attack(system, "semantic", *query, "-n", "1000", *hybrid)
        attack(system, "semantic", SECRET, "victim_secret_fn", HIDDEN, "-n", "1000", *hybrid)
        mine = found_in(as_json(system, "semantic", *query, "-n", "1000", *hybrid, who=ATTACKER))
        assert ("attackproj", "own_mod.py") in mine and not hidden(mine)
        indistinguishable(system, ("semantic", *query, "-p", "app", *hybrid), len(query) + 2, "nosuchproj")
        for who in (VICTIM, {}):
            theirs = found_in(as_json(system, "semantic", *query, "-n", "1000", *hybrid, who=who))
            assert {("app", "app/settings.py"), ("victimpub", "hidden_mod.py")} <= theirs


# ----------------------------------------------------------------------------- H1/M4: changing
@pytest.mark.parametrize("root", [PRIVATE, APP, "/home", "/", "/usr/lib", "/usr", "/etc", "/var/lib"])
def test_roots_the_attacker_cannot_read_or_system_trees_are_refused(system, root):
    before = ctl(system, "projects").stdout
    r = attack(system, "add", root, error="AccessDenied")
    assert "/home" not in root or "yourself" in r.stderr or "other users' home directories" in r.stderr
    assert ctl(system, "projects").stdout == before


def test_add_does_not_tell_what_exists_where_the_attacker_cannot_look(system):
    """L1: every such add is refused with the same answer, whether the path is a readable
    directory of the service's, not there at all, or a file: nothing tells what exists."""
    replies = {}
    for root in (PRIVATE, HOME, f"{HOME}/nothing-here", f"{APP}/app/settings.py"):
        r = attack(system, "add", root)
        assert r.returncode == 1 and "[org.codeanalysis1.Error." in r.stderr, r.stderr
        replies[root] = r.stderr.replace(root, "ROOT")
    assert {p["id"] for p in as_json(system, "projects", who=ATTACKER)} >= {"attackproj"}
    assert len(set(replies.values())) == 1, replies


def test_readding_a_removed_root_does_not_give_its_history_back(system):
    """The victim removed victimold; the attacker may read the (now empty) directory and add it,
    but it becomes a new project of his, without the victim's history of old_mod.py."""
    r = attack(system, "--json", "add", OLD)
    assert r.returncode == 0, r.stderr
    new_id = json.loads(r.stdout)["id"]
    try:
        assert new_id != "victimold"
        attack(system, "history", new_id, "old_mod.py", error="NotFound")
        attack(system, "show", new_id, "old_mod.py", error="NotFound")
        attack(system, "show", new_id, "old_mod.py", "--version", "1", error="NotFound")
        assert attack(system, "search", OLDMARK).returncode == 1
    finally:
        attack(system, "remove", new_id)


def test_restore_repair_remove_of_the_victims_projects_are_refused(system):
    settings, public = f"{APP}/app/settings.py", f"{PUB}/public_mod.py"
    before = sha256(system, settings), sha256(system, public)
    versions = history(system, "app", "app/settings.py", VICTIM), history(system, "victimpub", "public_mod.py", VICTIM)
    indistinguishable(system, ("restore", "app", "app/settings.py", "--version", "1", "--overwrite"), 1, "nosuchproj")
    attack_bus(system, "RestoreFile", "string:app", "string:app/settings.py", "string:1", "boolean:true",
               error="NotFound")
    attack(system, "restore", "victimpub", "public_mod.py", "--version", "1", "--overwrite", error="AccessDenied")
    # nor can he put words in the history of her files: RecordRestore is hers (and root's) too
    planted = ("array:byte:0x58,0x3d,0x31", "uint32:420")
    attack_bus(system, "RecordRestore", "string:app", "string:app/settings.py", "uint32:1", "int64:1",
               "boolean:true", *planted, error="NotFound")
    attack_bus(system, "RecordRestore", "string:victimpub", "string:public_mod.py", "uint32:1", "int64:1",
               "boolean:true", *planted, error="AccessDenied")
    indistinguishable(system, ("repair", "app"), 1, "nosuchproj")
    indistinguishable(system, ("repair", "app", "--dry-run", "--restore-missing"), 1, "nosuchproj")
    attack(system, "repair", "victimpub", error="AccessDenied")
    attack_bus(system, "RepairAndRestore", "string:victimpub", "boolean:false", error="AccessDenied")
    indistinguishable(system, ("remove", "app"), 1, "nosuchproj")
    indistinguishable(system, ("remove", APP), 1, f"{HOME}/nosuchproj")
    attack(system, "remove", "victimpub", error="AccessDenied")
    assert (sha256(system, settings), sha256(system, public)) == before
    assert (history(system, "app", "app/settings.py", VICTIM),
            history(system, "victimpub", "public_mod.py", VICTIM)) == versions  # no version was added either
    assert {"app", "victimpub"} <= {p["id"] for p in as_json(system, "projects", who=VICTIM)}


UNITS = {w: f"codeanalysisd-{w}.service" for w in ("watcher", "vectorizer", "repair")}


def worker_pids(system) -> dict[str, str]:
    return {w: system.show(u, "MainPID")["MainPID"] for w, u in UNITS.items()}


def test_worker_control_and_check_are_refused_to_the_attacker(system):
    pids = worker_pids(system)
    for args in (("worker", "stop", "watcher"), ("worker", "restart", "vectorizer"), ("worker", "start", "repair"),
                 ("check",)):
        r = attack(system, *args)
        assert r.returncode == 1 and "AccessDenied" in r.stderr, (args, r.stderr)
    assert worker_pids(system) == pids
    assert all_running(system)


@pytest.mark.parametrize("who", [ADMIN, OPS, {}], ids=["admin-also-user", "admin-group-only", "root"])
def test_worker_control_and_check_are_allowed_to_admins_and_root(system, who):
    pids = worker_pids(system)
    r = ctl(system, "check", check=False, **who)
    assert r.returncode == 0 and "index: ok" in r.stdout and "history: ok" in r.stdout, r.stderr
    try:
        r = ctl(system, "worker", "stop", "watcher", check=False, **who)
        assert r.returncode == 0, r.stderr
        assert system.show(UNITS["watcher"], "ActiveState")["ActiveState"] == "inactive"
    finally:
        ctl(system, "worker", "start", "watcher", check=False, **who)
        system.systemctl("start", UNITS["watcher"])
    r = ctl(system, "worker", "restart", "vectorizer", check=False, **who)
    assert r.returncode == 0, r.stderr
    assert worker_pids(system)["vectorizer"] not in ("0", pids["vectorizer"])
    wait_until(lambda: all_running(system), timeout=20, what="every worker running again")


def test_the_service_checks_worker_control_again_behind_the_bus_policy(system):
    """With the bus policy opened to the attacker, the service itself still refuses him."""
    system.write_file(BUS_POLICY, '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
                      ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n<busconfig>\n'
                      '  <policy user="attacker">\n'
                      '    <allow send_destination="org.codeanalysis1" send_interface="org.codeanalysis1.Manager"/>\n'
                      '  </policy>\n</busconfig>\n')
    try:
        reload_bus(system)
        pid = system.show("codeanalysisd-watcher.service", "MainPID")["MainPID"]
        for args in (("worker", "stop", "watcher"), ("worker", "restart", "watcher"), ("check",)):
            r = attack(system, *args, error="AccessDenied")
            assert "is for root and the members of the admin group" in r.stderr
        attack_bus(system, "StopWorker", "string:watcher", error="AccessDenied")
        assert system.show("codeanalysisd-watcher.service", "MainPID")["MainPID"] == pid
    finally:
        system.run("rm", "-f", BUS_POLICY)
        reload_bus(system)
    r = attack(system, "check")
    assert r.returncode == 1 and "org.freedesktop.DBus.Error.AccessDenied" in r.stderr


def test_quota_max_per_user(system):
    system.write_file(DROPIN, "[Projects]\nMaxPerUser=1\n")
    try:
        assert "max_projects" in reload_owner(system)
        r = attack(system, "add", OWN_Q, error="AccessDenied")
        assert "MaxPerUser=1" in r.stderr
        assert OWN_Q not in ctl(system, "projects").stdout
    finally:
        system.run("rm", "-f", DROPIN)
        assert "max_projects" in reload_owner(system)
    # the quota was the only reason: under the default, the same add is accepted (and his to remove)
    r = attack(system, "--json", "add", OWN_Q)
    assert r.returncode == 0, r.stderr
    attack(system, "remove", json.loads(r.stdout)["id"])


# ----------------------------------------------------------------------------- M5
def test_restoring_back_and_forth_keeps_the_older_edits(system):
    path, file = "m5_mod.py", f"{PUB}/m5_mod.py"
    for n, text in enumerate(M5[1:], start=2):
        write_as(system, VICTIM, file, text)
        wait_until(lambda n=n: len(history(system, "victimpub", path, VICTIM)) >= n, timeout=10,
                   what=f"edit {n} recorded")
    edits = {v["version"]: (v["reason"], v["sha256"]) for v in history(system, "victimpub", path, VICTIM)}
    assert len(edits) == 3 and not {reason for reason, _ in edits.values()} & {"restored", "overwritten"}, edits
    system.write_file(DROPIN, "[History]\nMaxVersions=3\n")
    try:
        assert "max_versions" in reload_owner(system)
        attack(system, "restore", "victimpub", path, "--version", "1", "--overwrite", error="AccessDenied")
        for _ in range(4):  # 8 restores, each also keeping what it replaced: far past MaxVersions=3
            for version in ("1", "2"):
                r = ctl(system, "--json", "restore", "victimpub", path, "--version", version, "--overwrite",
                        check=False, **VICTIM)
                assert r.returncode == 0 and json.loads(r.stdout)["written"] is True, (r.stdout, r.stderr)
        after = history(system, "victimpub", path, VICTIM)
        assert {v["version"]: (v["reason"], v["sha256"]) for v in after if v["version"] in edits} == edits, after
        assert sum(v["reason"] in ("restored", "overwritten") for v in after) >= 8, after
        assert history(system, "victimpub", path) == after  # root sees the same
        for version, text in zip(("1", "2", "3"), M5, strict=True):
            assert ctl(system, "show", "victimpub", path, "--version", version, **VICTIM).stdout == text
        assert system.run("cat", file).stdout == M5[1]
    finally:
        system.run("rm", "-f", DROPIN)
        reload_owner(system)


def test_a_restore_the_watcher_reads_before_it_is_recorded_is_kept_once(system):
    """A restore's client puts the file in place and only then records what it replaced; the
    watcher may read the file in between. Here the gap is held open for seconds: the read
    waits for the record, and the history has the restore alone, not an edit of the same
    bytes before it. A restore handed out and never recorded is indexed as read once its
    hand-out lapses (10 s), with a journal line that says so."""
    path, file = "m6_mod.py", f"{PUB}/m6_mod.py"
    first, second = "M6_PUB_A = 1\n", "M6_PUB_B = 2\n"
    for n, text in enumerate((first, second), start=1):
        write_as(system, VICTIM, file, text)
        wait_until(lambda n=n: len(history(system, "victimpub", path, VICTIM)) == n, timeout=10,
                   what=f"edit {n} recorded")

    def searched(word: str) -> bool:
        return path in {hit["path"] for hit in as_json(system, "search", word, "-p", "victimpub", who=VICTIM)}

    busctl(system, "RestoreFile", "sssb", "victimpub", path, "1", "true", **VICTIM)
    write_as(system, VICTIM, file, first)  # what the client writes, not yet recorded
    time.sleep(1.5)  # the watcher reads a saved file within milliseconds
    assert [v["reason"] for v in history(system, "victimpub", path, VICTIM)] == ["added", "modified"]
    mtime_ns = int(system.run("stat", "-c", "%.9Y", file).stdout.strip().replace(".", ""))
    busctl(system, "RecordRestore", "ssuxbayu", "victimpub", path, "1", str(mtime_ns), "true",
           str(len(second)), *(str(b) for b in second.encode()), "420", **VICTIM)
    after = history(system, "victimpub", path, VICTIM)
    assert [(v["reason"], v["sha256"]) for v in after] == [
        ("added", after[0]["sha256"]), ("modified", after[1]["sha256"]), ("restored", after[0]["sha256"])], after
    assert searched("M6_PUB_A") and not searched("M6_PUB_B")

    cursor = journal_cursor(system)
    busctl(system, "RestoreFile", "sssb", "victimpub", path, "2", "true", **VICTIM)
    handed_out = time.monotonic()
    write_as(system, VICTIM, file, second)  # and never recorded
    time.sleep(1.5)
    assert len(history(system, "victimpub", path, VICTIM)) == 3 and searched("M6_PUB_A")
    wait_until(lambda: searched("M6_PUB_B"), timeout=20, what="the unrecorded restore indexed as read")
    assert time.monotonic() - handed_out > 9
    last = history(system, "victimpub", path, VICTIM)[-1]
    assert last["reason"] in ("modified", "repaired") and last["sha256"] == after[1]["sha256"], last
    log = system.run("journalctl", "--no-pager", "-o", "cat", "-u", DB_UNIT, f"--after-cursor={cursor}").stdout
    assert f"{path} of victimpub: the restore handed out for it was not recorded; it is indexed as read" in log, log


def test_the_owner_restores_into_her_private_tree(system):
    """/home/victim/app is open to the service for reading only, and the DB owner's sandbox
    keeps /home read-only: the victim's restore works there all the same, written by her own
    client, and the attacker's attempt changes nothing."""
    path, file = "app/rollback.py", f"{APP}/app/rollback.py"
    write_as(system, VICTIM, file, ROLLBACK[1])
    wait_until(lambda: len(history(system, "app", path, VICTIM)) >= 2, timeout=10, what="the edit recorded")
    attack(system, "restore", "app", path, "--version", "1", "--overwrite", error="NotFound")
    assert system.run("cat", file).stdout == ROLLBACK[1]
    before = system.run("stat", "-c", "%U:%G %a", file).stdout, system.run("getfacl", "-cp", file).stdout
    r = ctl(system, "--json", "restore", "app", path, "--version", "1", "--overwrite", check=False, **VICTIM)
    assert r.returncode == 0 and json.loads(r.stdout)["written"] is True, r.stderr
    assert system.run("cat", file).stdout == ROLLBACK[0]
    # her file, with its mode and its ACL (the service's read entry) as they were
    assert (system.run("stat", "-c", "%U:%G %a", file).stdout, system.run("getfacl", "-cp", file).stdout) == before
    assert [v["reason"] for v in history(system, "app", path, VICTIM)][-1] == "restored"


# ----------------------------------------------------------------------------- M1, L7: restores as the caller
SECRET_V1, SECRET_V2 = 'ALICE_TOKEN = "v1"\n', 'ALICE_TOKEN = "v2, edited"\n'
SCRIPT_V1, SCRIPT_V2 = "#!/usr/bin/env python3\nprint('v1')\n", "#!/usr/bin/env python3\nprint('v2')\n"


def as_alice(system, script: str, **kw):
    """A shell command as alice, under umask 022 (every step of the test below)."""
    return system.run("sh", "-c", f"umask 022; {script}", **ALICE, **kw)


def owner_mode(system, *paths: str) -> list[str]:
    return system.run("stat", "-c", "%u:%g %a", *paths).stdout.split("\n")[:len(paths)]


def test_restores_are_written_by_the_caller_keeping_owner_and_mode(system):
    """alice (an unprivileged user, umask 022) has a project in her home: script.py 0755, and
    secret.py, indexed while readable, then made 0600 (from then on only she can read it; the
    service neither reads nor writes it). (a) She overwrites both, and restores version 1 with
    --overwrite: each keeps its owner and mode exactly (secret.py is not widened to the 0644
    it was indexed with), holds version 1 byte for byte, and what was replaced is in the
    history ('overwritten'). (b) She deletes both and restores them: they come back with the
    modes recorded (0600 and 0755), hers. Root restoring her file keeps it hers. Meanwhile
    the DB owner could not have written any of it: its sandbox makes /home and /srv read-only."""
    secret, script = f"{ALICE_ROOT}/secret.py", f"{ALICE_ROOT}/script.py"
    system.sh("useradd -m -G codeanalysis-users alice && chmod 0711 /home/alice")
    as_alice(system, f"mkdir {ALICE_ROOT} && cat > {secret}", input=SECRET_V1)
    as_alice(system, f"cat > {script} && chmod 0755 {script}", input=SCRIPT_V1)
    ctl(system, "add", ALICE_ROOT, **ALICE)
    for path in ("secret.py", "script.py"):
        wait_until(lambda path=path: len(history(system, ALICE_ROOT, path, ALICE)) == 1, timeout=20,
                   what=f"{path} indexed")
    uid_gid = system.run("sh", "-c", "echo $(id -u alice):$(id -g alice)").stdout.strip()

    # RestoreFile answers what to write; a busctl caller reads the same in 'how'
    r = busctl(system, "--json=short", "RestoreFile", "sssb", ALICE_ROOT, "script.py", "1", "false", **ALICE)
    (reply,) = json.loads(r.stdout)["data"]
    assert reply["mode"]["data"] == 0o755 and reply["target"]["data"] == script
    assert bytes(reply["content"]["data"]).decode() == SCRIPT_V1
    assert "RecordRestore" in reply["how"]["data"] and "as yourself" in reply["how"]["data"]
    assert system.run("cat", script).stdout == SCRIPT_V1  # RestoreFile wrote nothing

    as_alice(system, f"chmod 0600 {secret}")
    # (a) overwritten by other content, then restored with --overwrite
    as_alice(system, f"cat > {secret}", input=SECRET_V2)
    as_alice(system, f"cat > {script}", input=SCRIPT_V2)
    assert owner_mode(system, secret, script) == [f"{uid_gid} 600", f"{uid_gid} 755"]
    replaced = {}
    for path in ("secret.py", "script.py"):
        r = ctl(system, "--json", "restore", ALICE_ROOT, path, "--version", "1", "--overwrite", **ALICE)
        done = json.loads(r.stdout)
        assert done["written"] is True and done["version"] == 1, done
        replaced[path] = done["replaced_version"]
    assert owner_mode(system, secret, script) == [f"{uid_gid} 600", f"{uid_gid} 755"]
    assert (system.run("cat", secret).stdout, system.run("cat", script).stdout) == (SECRET_V1, SCRIPT_V1)
    versions = history(system, ALICE_ROOT, "secret.py", ALICE)
    kept = {v["version"]: v for v in versions}[replaced["secret.py"]]
    assert kept["reason"] == "overwritten" and versions[-1]["reason"] == "restored", versions
    assert ctl(system, "show", ALICE_ROOT, "secret.py", "--version", str(kept["version"]), **ALICE
               ).stdout == SECRET_V2  # exactly what was replaced, which the service itself never read
    versions = history(system, ALICE_ROOT, "script.py", ALICE)
    assert versions[-1]["reason"] == "restored" and replaced["script.py"] > 1, versions
    assert ctl(system, "show", ALICE_ROOT, "script.py", "--version", str(replaced["script.py"]), **ALICE
               ).stdout == SCRIPT_V2

    # (b) deleted, then restored (the latest version): the recorded modes, hers
    as_alice(system, f"rm {secret} {script}")
    for path in ("secret.py", "script.py"):
        wait_until(lambda path=path: history(system, ALICE_ROOT, path, ALICE)[-1]["reason"] == "deleted",
                   timeout=20, what=f"{path} recorded as deleted")
        r = as_alice(system, f"exec codeanalysisctl --json restore {ALICE_ROOT} {path}")
        assert json.loads(r.stdout)["written"] is True, r.stdout
        assert history(system, ALICE_ROOT, path, ALICE)[-1]["reason"] == "restored"
    assert owner_mode(system, secret, script) == [f"{uid_gid} 600", f"{uid_gid} 755"]
    assert (system.run("cat", secret).stdout, system.run("cat", script).stdout) == (SECRET_V1, SCRIPT_V1)

    # root restoring her file: it stays hers, with its mode
    as_alice(system, f"cat > {script}", input=SCRIPT_V2)
    ctl(system, "restore", ALICE_ROOT, "script.py", "--version", "1", "--overwrite")
    assert owner_mode(system, script) == [f"{uid_gid} 755"] and system.run("cat", script).stdout == SCRIPT_V1
    # the attacker can do none of it, and the owner's sandbox could not have written a byte
    attack(system, "restore", ALICE_ROOT, "script.py", "--version", "1", "--overwrite", error="AccessDenied")
    pid = system.show(DB_UNIT, "MainPID")["MainPID"]
    for probe in (f"{ALICE_ROOT}/probe.py", f"{PUB}/probe.py"):
        r = system.run("nsenter", f"--target={pid}", "--mount", "touch", probe, check=False)
        assert r.returncode != 0 and "Read-only file system" in r.stderr, (probe, r.stderr)


# ----------------------------------------------------------------------------- M2
def test_a_600_word_query_is_answered_or_refused_within_1s_and_the_owner_stays(system):
    before = system.show(DB_UNIT, "MainPID", "NRestarts")
    for copies in (600, 200):
        started = time.monotonic()
        r = ctl(system, "search", *["self"] * copies, check=False)
        took = time.monotonic() - started
        assert took < 1.0, f"{copies} copies of 'self' took {took:.2f} s"
        if r.returncode == 0:
            assert "sec-json:" in r.stdout
        else:
            assert "[org.codeanalysis1.Error.InvalidArgument]" in r.stderr, r.stderr
    assert ctl(system, "search", *["self"] * 200, "-p", "sec-json").returncode == 0  # 1,000 characters: answered
    assert ctl(system, "projects").returncode == 0  # the owner answers
    assert system.show(DB_UNIT, "MainPID", "NRestarts") == before


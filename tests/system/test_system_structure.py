"""Structure questions through the bus and the CLI, on a copy of the standard library's email
package: outlines, imports, class hierarchies, calls and usages, answered live as files are
saved, kept equal to disk by a repair, and filtered for each caller.

The copy's root holds ``__init__.py``, so its modules are named ``email.*`` as the original's.
What the answers must hold is computed here from the same files with ``ast``, or read off the
code by hand where a line is named.
"""

from __future__ import annotations

import ast
import json
import pathlib
import time

import pytest
from conftest import figure
from helpers import IFACE, NAME, OBJ, ctl, start_suite, stop_suite
from sandbox.box import wait_until

SOURCE = pathlib.Path("/usr/lib/python3.11/email")  # the same files inside the box (an overlay of /)
ROOT = "/srv/structure/email"
USER = "structuser"


def bus(box, member: str, signature: str, *args: str, user: str | None = None, check: bool = True):
    """A Manager call through busctl, its reply as JSON ([] rows), or the failed process."""
    r = box.run("busctl", "--json=short", "call", NAME, OBJ, IFACE, member, signature, *args, check=check,
                user=user, groups="codeanalysis-users" if user else None)
    return json.loads(r.stdout)["data"][0] if r.returncode == 0 else r


def cli(box, *args: str, user: str | None = None) -> list:
    r = ctl(box, "--json", *args, check=False, user=user, groups="codeanalysis-users" if user else None)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def project(system) -> str:
    start_suite(system)
    system.sh(f"rm -rf /srv/structure && mkdir -p /srv/structure && cp -r {SOURCE} {ROOT} && "
              f"find {ROOT} -name __pycache__ -prune -exec rm -rf {{}} + && chmod -R a+rX /srv/structure")
    system.sh(f"id {USER} >/dev/null 2>&1 || useradd --no-create-home --groups codeanalysis-users {USER}")
    ctl(system, "add", ROOT)
    pid = next(p["id"] for p in json.loads(ctl(system, "--json", "projects").stdout) if p["root"] == ROOT)
    expected = len(list(SOURCE.rglob("*.py")))
    wait_until(lambda: next(p["files"] for p in json.loads(ctl(system, "--json", "projects").stdout)
                            if p["id"] == pid) == expected, timeout=60, what="the email copy to be indexed")
    yield pid
    ctl(system, "remove", pid, check=False)


def _outline(path: pathlib.Path) -> list[list]:
    """What Outline must say of a file: every definition wherever it is written, in source
    order, with Python's qualified name (``f.<locals>.g``), its kind and its nesting."""
    rows = []

    def walk(node, prefix: str, in_class: bool, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = prefix + child.name
                if isinstance(child, ast.ClassDef):
                    kind, inner, inside = "class", qual + ".", True
                else:
                    kind = ("async_" if isinstance(child, ast.AsyncFunctionDef) else "") + (
                        "method" if in_class else "function")
                    inner, inside = qual + ".<locals>.", False
                rows.append([qual, kind, child.lineno, child.end_lineno, depth])
                walk(child, inner, inside, depth + 1)
            else:
                walk(child, prefix, in_class, depth)

    walk(ast.parse(path.read_text()), "", False, 0)
    return rows


def test_outline_through_the_bus_and_the_cli(system, project):
    rows = bus(system, "Outline", "ss", project, "message.py")
    assert [[r[0], r[1], r[2], r[3], r[4]] for r in rows] == _outline(SOURCE / "message.py")
    message = next(r for r in rows if r[0] == "Message.get_content_type")
    assert message[5] == "(self)" and message[4] == 1
    assert cli(system, "outline", project, f"{ROOT}/mime/text.py") == [
        {"qualname": "MIMEText", "kind": "class", "line": 14, "end_line": 42, "depth": 0,
         "signature": "(MIMENonMultipart)"},
        {"qualname": "MIMEText.__init__", "kind": "method", "line": 17, "end_line": 42, "depth": 1,
         "signature": "(self, _text, _subtype='plain', _charset=None, *, policy=None)"}]
    failed = bus(system, "Outline", "ss", project, "nothing.py", check=False)
    assert failed.returncode != 0 and "not a live file" in failed.stderr


def test_imports_out_and_in_and_a_chain(system, project):
    out = {(r["imported"], r["line"]) for r in cli(system, "imports", project, "email.message")}
    # from email import utils / errors; from email._policybase import ...; from email import charset as _charset
    assert {("email.utils", 15), ("email.errors", 16), ("email._policybase", 17), ("email.charset", 18),
            ("binascii", 9), ("email.generator", 181), ("email.iterators", 969)} <= out
    importers = {r[0] for r in bus(system, "Imports", "sssu", project, "mime/base.py", "in", "1")}
    assert importers == {"email.mime.multipart", "email.mime.nonmultipart"}
    everything = cli(system, "imports", project, "email.mime.base", "--in", "--all")
    assert {"email.mime.text", "email.mime.message"} <= {r["importer"] for r in everything}
    assert bus(system, "ImportChain", "sss", project, "email.mime.text", "email.message") == [
        "email.mime.text", "email.mime.nonmultipart", "email.mime.base", "email.message"]
    assert bus(system, "ImportChain", "sss", project, "email.errors", "email.message") == []
    failed = bus(system, "Imports", "sssu", project, "email.message", "sideways", "1", check=False)
    assert failed.returncode != 0 and "direction must be out or in" in failed.stderr


def test_class_hierarchy_both_ways(system, project):
    up = bus(system, "ClassHierarchy", "sss", project, "MIMEText", "up")
    assert [(r[0], r[2], r[4]) for r in up] == [
        ("email.mime.text.MIMEText", "mime/text.py", 0), ("email.mime.nonmultipart.MIMENonMultipart",
                                                          "mime/nonmultipart.py", 1),
        ("email.mime.base.MIMEBase", "mime/base.py", 2), ("email.message.Message", "message.py", 3)]
    down = cli(system, "hierarchy", project, "email.mime.base.MIMEBase", "--down")
    assert {(r["name"], r["depth"]) for r in down} == {
        ("email.mime.base.MIMEBase", 0), ("email.mime.multipart.MIMEMultipart", 1),
        ("email.mime.nonmultipart.MIMENonMultipart", 1), ("email.mime.application.MIMEApplication", 2),
        ("email.mime.audio.MIMEAudio", 2), ("email.mime.image.MIMEImage", 2), ("email.mime.message.MIMEMessage", 2),
        ("email.mime.text.MIMEText", 2)}


def test_call_graph(system, project):
    callers = bus(system, "CallGraph", "sssu", project, "email.utils._format_timetuple_and_zone", "callers", "1")
    assert [(r[0], r[2], r[4], r[5]) for r in callers] == [("email.utils.format_datetime", "utils.py", 286,
                                                             "resolved")]
    transitive = bus(system, "CallGraph", "sssu", project, "email.utils._format_timetuple_and_zone", "callers", "0")
    assert ("email.utils.formatdate", "email.utils.format_datetime", 268) in {(r[0], r[1], r[4]) for r in transitive}
    callees = cli(system, "calls", project, "email.utils.format_datetime", "--callees")
    assert {"callee": "email.utils._format_timetuple_and_zone", "resolution": "resolved", "path": "utils.py",
            "scope": "format_datetime", "line": 286,
            "caller": "email.utils.format_datetime"} in callees


def test_find_usages_through_aliases_and_a_cut_reply(system, project):
    rows = cli(system, "usages", "email.charset.Charset", "-p", project, "-n", "1000")
    found = {(r["path"], r["line"], r["text"]) for r in rows}
    # header.py: `from email import charset as _charset` then `Charset = _charset.Charset`, used as Charset
    assert {("header.py", 21, "_charset.Charset"), ("header.py", 31, "Charset"), ("mime/text.py", 9, "Charset"),
            ("utils.py", 97, "Charset")} <= found
    assert all(r["resolution"] == "resolved" for r in rows)
    cut = bus(system, "FindUsages", "ssu", "email.charset.Charset", project, "2")
    assert len(cut) == 3 and cut[-1][0] == "" and cut[-1][7] == "more" and cut[-1][5] == len(rows) - 2
    listed = cli(system, "usages", "email.charset.Charset", "-p", project, "-n", "2")
    assert listed[-1] == {"more": len(rows) - 2, "text": f"{len(rows) - 2} more uses not shown; ask with a larger "
                                                         "limit"}


def _down(system, project: str) -> set[str]:
    return {r[0] for r in bus(system, "ClassHierarchy", "sss", project, "email.mime.text.MIMEText", "down")}


def test_a_saved_file_re_resolves_what_depends_on_it(system, project):
    """A class deriving from MIMEText appears under it as soon as its file is written; when the
    module it imports its base from changes, the answers about the file that did not change
    change with it."""
    system.write_file(f"{ROOT}/probe_base.py", "from email.mime.text import MIMEText as Base\n")
    system.write_file(f"{ROOT}/probe.py", "from .probe_base import Base\n\n\nclass Probe(Base):\n"
                                          "    def run(self):\n        self.set_payload('x')\n")
    started = time.monotonic()
    wait_until(lambda: "email.probe.Probe" in _down(system, project), timeout=10, interval=0.005,
               what="the new subclass")
    figure(f"save -> new subclass in ClassHierarchy (one sample): {time.monotonic() - started:.3f} s")
    calls = bus(system, "CallGraph", "sssu", project, "email.probe.Probe.run", "callees", "1")
    assert [(r[1], r[5]) for r in calls] == [("email.message.Message.set_payload", "resolved")]
    # only the imported module changes: probe.py's class now derives from something else
    system.write_file(f"{ROOT}/probe_base.py", "class Base:\n    def set_payload(self, payload):\n        pass\n")
    started = time.monotonic()
    wait_until(lambda: "email.probe.Probe" not in _down(system, project), timeout=10, interval=0.005,
               what="the subclass to leave MIMEText")
    figure(f"save of an imported module -> its importer's class re-resolved (one sample): "
           f"{time.monotonic() - started:.3f} s")
    assert [r[0] for r in bus(system, "ClassHierarchy", "sss", project, "email.probe.Probe", "up")] == [
        "email.probe.Probe", "email.probe_base.Base"]
    calls = bus(system, "CallGraph", "sssu", project, "email.probe.Probe.run", "callees", "1")
    assert [(r[1], r[5]) for r in calls] == [("email.probe_base.Base.set_payload", "resolved")]
    assert "email.probe_base" in {r[1] for r in bus(system, "Imports", "sssu", project, "email.probe", "out", "1")}


def test_repair_keeps_the_answers_equal_to_disk(system, project):
    system.write_file(f"{ROOT}/probe_base.py", "from email.message import Message as Base\n")
    wait_until(lambda: bus(system, "ClassHierarchy", "sss", project, "email.probe.Probe", "up")[1][0]
               == "email.message.Message", timeout=10, what="the base to be Message")
    system.systemctl("stop", "codeanalysisd-watcher.service", "codeanalysisd-repair.service")
    try:
        system.write_file(f"{ROOT}/probe_base.py", "from email.mime.text import MIMEText as Base\n")
        system.run("rm", f"{ROOT}/probe.py")
        # the index still holds what was there: the answers are stale until the repair
        assert bus(system, "ClassHierarchy", "sss", project, "email.probe.Probe", "up")[1][0] == "email.message.Message"
        report = json.loads(ctl(system, "--json", "repair", project).stdout)
        assert {(a["path"], a["action"]) for a in report["actions"]} >= {("probe_base.py", "reindex"),
                                                                         ("probe.py", "mark-deleted")}
        assert "email.probe.Probe" not in _down(system, project)
        failed = bus(system, "ClassHierarchy", "sss", project, "email.probe.Probe", "up", check=False)
        assert failed.returncode != 0 and "not in project" in failed.stderr
        assert bus(system, "Imports", "sssu", project, "email.probe_base", "out", "1")[0][1] == "email.mime.text"
    finally:
        system.systemctl("start", "codeanalysisd-watcher.service", "codeanalysisd-repair.service")
    system.run("rm", "-f", f"{ROOT}/probe_base.py")


def test_each_caller_sees_only_what_they_could_read(system, project):
    # readable to the service (its group), not to the user; moved in whole, with its mode
    system.write_file("/srv/structure/secret.tmp", "from email.charset import Charset\nclass Secret(Charset):\n"
                                                   "    pass\n", mode="0640")
    system.run("chgrp", "codeanalysis", "/srv/structure/secret.tmp")
    system.run("mv", "/srv/structure/secret.tmp", f"{ROOT}/secret_user.py")
    wait_until(lambda: ("secret_user.py", 2) in {(r["path"], r["line"]) for r in cli(
        system, "usages", "email.charset.Charset", "-p", project, "-n", "1000")}, timeout=10,
               what="the secret file indexed")
    theirs = cli(system, "usages", "email.charset.Charset", "-p", project, "-n", "1000", user=USER)
    assert theirs and "secret_user.py" not in {r["path"] for r in theirs}
    assert "email.secret_user.Secret" in {r[0] for r in bus(system, "ClassHierarchy", "sss", project,
                                                           "email.charset.Charset", "down")}
    assert "email.secret_user.Secret" not in {r[0] for r in bus(system, "ClassHierarchy", "sss", project,
                                                               "email.charset.Charset", "down", user=USER)}
    assert "email.secret_user" not in {r[0] for r in bus(system, "Imports", "sssu", project, "email.charset",
                                                         "in", "1", user=USER)}
    failed = bus(system, "Outline", "ss", project, "secret_user.py", user=USER, check=False)
    assert failed.returncode != 0
    system.run("rm", "-f", f"{ROOT}/secret_user.py")


def test_structure_survives_a_restart_of_the_owner(system, project):
    before = bus(system, "ClassHierarchy", "sss", project, "MIMEText", "up")
    stop_suite(system)
    start_suite(system)
    assert bus(system, "ClassHierarchy", "sss", project, "MIMEText", "up") == before

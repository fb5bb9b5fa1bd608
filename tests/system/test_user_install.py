"""`make install-user`: the suite in the user's own home, under the user manager and the session bus."""

from __future__ import annotations

import json

from conftest import SRC, WHEELS
from helpers import status_once_every_unit_is_active, stop_suite
from sandbox.box import wait_until

HOME_UNITS = "/root/.config/systemd/user"
USER_LIB = "/root/.local/lib/codeanalysisd"
CTL = "/root/.local/bin/codeanalysisctl"


def test_install_user_runs_the_users_own_suite(user_box):
    box = user_box
    stop_suite(box)
    box.run("make", "-C", SRC, "--no-print-directory", "install-user", f"WHEELHOUSE={WHEELS}", timeout=600)
    try:
        box.systemctl("daemon-reload")
        shown = box.show("codeanalysisd-db.service", "FragmentPath", "ExecStart")
        assert shown["FragmentPath"] == f"{HOME_UNITS}/codeanalysisd-db.service"
        assert f"{USER_LIB}/bin/codeanalysisd-db" in shown["ExecStart"] and "--user" in shown["ExecStart"]
        box.systemctl("start", "codeanalysisd.target")
        status = status_once_every_unit_is_active(box, CTL, "--user")
        assert {u["unit"] for u in status["units"]} >= {"codeanalysisd-db.service", "codeanalysisd-parser@1.service"}
        assert all(f"{USER_LIB}/" in box.run("readlink", f"/proc/{u['MainPID']}/exe").stdout or
                   USER_LIB in box.run("cat", f"/proc/{u['MainPID']}/cmdline").stdout for u in status["units"])
        box.sh("mkdir -p /root/src/mine && printf 'def per_user_marker():\\n    pass\\n' > /root/src/mine/m.py")
        box.run(CTL, "--user", "add", "/root/src/mine")
        hits = wait_until(lambda: json.loads(box.run(CTL, "--user", "--json", "def", "per_user_marker",
                                                     check=False).stdout or "[]"), timeout=20, what="indexed")
        assert hits[0]["path"] == "m.py"
        box.run(CTL, "--user", "remove", "mine")
        stop_suite(box)
    finally:
        box.run("make", "-C", SRC, "--no-print-directory", "uninstall-user", check=False)
        box.systemctl("daemon-reload")
    # the packaged user units are back in charge (and the suite stopped, as it was found)
    assert box.show("codeanalysisd-db.service", "FragmentPath")["FragmentPath"].startswith("/usr/lib/systemd/user/")

"""The system-bus policy grants the callers' group exactly the Manager methods that are not
the admin group's, one by one (an allow list: no deny rule a member of both groups could meet)."""

import pathlib
import xml.etree.ElementTree as ET

from codeanalysisd.bus import api

POLICY = pathlib.Path(__file__).resolve().parents[2] / "dbus" / "org.codeanalysis1.conf"
ADMIN_ONLY = {"StartWorker", "StopWorker", "RestartWorker", "StartRepairWorker", "StopRepairWorker", "CheckIntegrity"}


def _policy(group: str) -> ET.Element:
    (found,) = [p for p in ET.parse(POLICY).getroot().iter("policy") if p.get("group") == group]
    return found


def test_callers_are_granted_every_manager_method_but_the_admin_ones():
    users = _policy("codeanalysis-users")
    granted = {r.get("send_member") for r in users.iter("allow")
               if r.get("send_interface") == "org.codeanalysis1.Manager"}
    assert granted == set(api.MANAGER) - ADMIN_ONLY
    assert not list(users.iter("deny"))


def test_admins_are_granted_the_whole_manager_interface():
    admins = _policy("codeanalysis-admin")
    assert any(r.get("send_interface") == "org.codeanalysis1.Manager" and r.get("send_member") is None
               for r in admins.iter("allow"))
    assert not list(admins.iter("deny"))

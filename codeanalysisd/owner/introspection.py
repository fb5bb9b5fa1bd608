"""The introspection XML of the suite's interfaces, as the live service exports them.

``python -m codeanalysisd.owner.introspection > dbus/org.codeanalysis1.xml`` regenerates the
API specification kept in the repository; a test checks it equals what the running DB
owner introspects.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dbus_fast import introspection as intr
from dbus_fast.service import ServiceInterface

from codeanalysisd.names import MANAGER_INTERFACE, OBJECT_PATH, WORKER_INTERFACE
from codeanalysisd.owner.manager import Manager
from codeanalysisd.owner.worker import WorkerInterface

HEADER = (
    '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
    ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n'
)


def _bare(cls: type[ServiceInterface], name: str) -> intr.Interface:
    # Built without a store or a bus: introspection only reads the decorated members.
    interface = cls.__new__(cls)
    ServiceInterface.__init__(interface, name)
    return interface.introspect()


def interfaces() -> list[intr.Interface]:
    return [_bare(Manager, MANAGER_INTERFACE), _bare(WorkerInterface, WORKER_INTERFACE)]


def document() -> str:
    node = ET.Element("node", {"name": OBJECT_PATH})
    for interface in interfaces():
        node.append(interface.to_xml())
    ET.indent(node)
    return HEADER + ET.tostring(node, encoding="unicode") + "\n"


def canonical(xml_text: str, names: tuple[str, ...]) -> dict[str, object]:
    """The comparable content (methods, args, properties, signals) of the named interfaces."""
    root = ET.fromstring(xml_text)
    out: dict[str, object] = {}
    for iface in root.iter("interface"):
        name = iface.get("name", "")
        if name not in names:
            continue
        members = []
        for member in iface:
            args = tuple((a.get("name"), a.get("type"), a.get("direction")) for a in member.iter("arg"))
            members.append((member.tag, member.get("name"), member.get("type"), member.get("access"), args))
        out[name] = sorted(members, key=repr)
    return out


if __name__ == "__main__":
    print(document(), end="")

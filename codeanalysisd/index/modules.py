"""Module names from paths, and what an import statement names: the one rule for both.

A project's files are imported the way Python would import them with the right directory
on ``sys.path``:

- every directory is a package: a regular one with ``__init__.py``, else a namespace
  package (PEP 420), so ``tests/test_x.py`` is ``tests.test_x`` and ``tool.py`` at the root
  is the top-level module ``tool``;
- a root that holds ``__init__.py`` is itself a package, named by its directory: its parent
  is what would be on ``sys.path`` (a copy of ``email/`` is ``email``, ``email/message.py``
  ``email.message``);
- ``src/`` without an ``__init__.py`` is a source root (the "src layout"): ``src/pkg/m.py``
  is ``pkg.m``. Anything else named ``src`` is an ordinary package;
- ``pkg/__init__.py`` is the package ``pkg`` itself.

A path with a component that is not an identifier (``my-scripts/run.py``) names no module
anyone could import; it still has imports, so it is known by its path instead. Where two
paths would give one name (``src/x.py`` and ``x.py``) the first in path order keeps it.

Everything here is pure: the caller gives the project's paths (the live files of the index).
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Layout", "ModuleMap", "is_package", "layout", "module_name", "resolve_relative"]

INIT = "__init__.py"


@dataclass(frozen=True)
class Layout:
    root_package: str | None  # the root's own name, when the root itself is a package
    src_root: bool  # src/ holds no __init__.py: a source root


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def layout(paths: Iterable[str], root: str) -> Layout:
    """The layout of a project with these (relative) file paths and this root directory."""
    found = set(paths)
    base = root.rstrip("/").rsplit("/", 1)[-1]
    root_package = base if INIT in found and _identifier(base) else None
    src_root = "src/" + INIT not in found and any(p.startswith("src/") for p in found)
    return Layout(root_package, src_root)


def is_package(path: str) -> bool:
    return path == INIT or path.endswith("/" + INIT)


def module_name(path: str, where: Layout) -> str | None:
    """The dotted name Python would import the file at ``path`` by; None if it names none."""
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if where.src_root and len(parts) > 1 and parts[0] == "src":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts.pop()
    if where.root_package is not None:
        parts.insert(0, where.root_package)
    if not parts or not all(_identifier(p) for p in parts):
        return None
    return ".".join(parts)


def resolve_relative(importer: str, importer_is_package: bool, level: int, module: str) -> str | None:
    """The absolute name of ``from <level dots><module> import ...`` written in ``importer``;
    None when the dots climb above the top-level package."""
    if level == 0:
        return module
    parts = importer.split(".") if importer else []
    if not importer_is_package:
        parts = parts[:-1]  # a module's own package
    climb = level - 1
    if climb > len(parts) or (climb == len(parts) and not module):
        return None
    base = parts[:len(parts) - climb]
    if module:
        base = [*base, *module.split(".")]
    return ".".join(base) if base else None


class ModuleMap:
    """A project's modules: name to path and back, from its live paths."""

    def __init__(self, paths: Iterable[str], root: str) -> None:
        ordered = sorted(paths)
        self.layout = layout(ordered, root)
        self.path_of: dict[str, str] = {}
        self.name_of: dict[str, str] = {}  # path -> module name, or the path when it names no module
        for path in ordered:
            name = module_name(path, self.layout)
            if name is None or name in self.path_of:
                self.name_of[path] = path
                continue
            self.path_of[name] = path
            self.name_of[path] = name
        # every package a module sits in exists, even a namespace package with no file of its own
        self.packages: set[str] = set()
        for name in self.path_of:
            parts = name.split(".")
            for n in range(1, len(parts)):
                self.packages.add(".".join(parts[:n]))
        for name, path in self.path_of.items():
            if is_package(path):
                self.packages.add(name)

    def is_module(self, name: str) -> bool:
        return name in self.path_of or name in self.packages

    def is_package(self, name: str) -> bool:
        return name in self.packages

    def longest_module(self, dotted: str) -> str | None:
        """The longest prefix of a dotted name that is a module (or package) of the project."""
        parts = dotted.split(".")
        for n in range(len(parts), 0, -1):
            prefix = ".".join(parts[:n])
            if prefix in self.path_of or prefix in self.packages:
                return prefix
        return None

    def imported(self, importer: str, importer_path: str, module: str, name: str | None, level: int) -> str | None:
        """The module one imported name makes the importer depend on, as grimp counts it:
        ``import a.b`` names ``a.b``; ``from a import b`` names ``a.b`` when that is a module,
        else ``a``; a star import names its module. A name inside the project is cut back to
        the longest prefix that is one of its modules; one outside is kept as written. None
        when a relative import climbs out of the top-level package."""
        base = resolve_relative(importer, is_package(importer_path), level, module)
        if base is None:
            return None
        if name is None or name == "*":
            target = base
        else:
            target = f"{base}.{name}"
            if not (target in self.path_of or target in self.packages):
                target = base
        inside = self.longest_module(target)
        if inside is not None:
            return inside
        return None if level else target

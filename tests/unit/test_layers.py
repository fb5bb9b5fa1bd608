"""Every import inside the package points down (ARCHITECTURE.md, Floors), and no two
packages import each other."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "codeanalysisd"

FLOORS = {
    "owner": 4, "workers": 4,
    "manpages": 4,
    "db": 3, "cli": 3, "service": 3,
    "bus": 2, "watch": 2, "repair": 2,
    "index": 1, "embed": 1, "access": 1, "records": 1, "paths": 1, "tree": 1, "names": 1, "config": 1,
    "journal": 1, "notify": 1, "query_language": 1, "scheduling": 1, "collector": 0,
    "__init__": 0,
}


def _room(module: str) -> str:
    """The first component below codeanalysisd: a sub-package or a top module."""
    return module.split(".")[1] if "." in module else "__init__"


def _arrows() -> set[tuple[str, str, str]]:
    """(importing file, its room, imported room) for every import of codeanalysisd."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        room = _room(".".join(rel.parts)) if len(rel.parts) > 1 else "__init__"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("codeanalysisd"):
                if node.module == "codeanalysisd":
                    # a sub-module by name, or a name defined in the package's __init__
                    targets = [f"codeanalysisd.{a.name}" if a.name in FLOORS else "codeanalysisd"
                               for a in node.names]
                else:
                    targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("codeanalysisd.")]
            else:
                continue
            for target in targets:
                found.add((str(rel), room, _room(target)))
    return found


def test_every_room_has_a_floor():
    rooms = {p.name if p.is_dir() else p.stem for p in PACKAGE.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    assert rooms <= set(FLOORS), f"give these a floor: {sorted(rooms - set(FLOORS))}"


def test_every_import_points_down_or_sideways():
    upward = [f"{where} ({room}, floor {FLOORS[room]}) imports {target} (floor {FLOORS[target]})"
              for where, room, target in _arrows() if FLOORS[target] > FLOORS[room]]
    assert not upward, "\n".join(sorted(upward))


def test_no_two_rooms_import_each_other():
    pairs = {(room, target) for _where, room, target in _arrows() if room != target}
    both = sorted(f"{a} <-> {b}" for a, b in pairs if (b, a) in pairs and a < b)
    assert not both, both

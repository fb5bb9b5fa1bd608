"""Structure answers against independent tools on code nobody here wrote, and their latency.

Command (root, after `make wheels`; grimp and jedi in .venv: `.venv/bin/pip install -e '.[bench]'`):

    .venv/bin/python bench/structure.py

One run, three projects in the real suite (a sandboxed system manager, as the tests use):

- *corpus*: the standard library's asyncio, email, json and logging, copied from this Python's;
- *click*: the sources of click 8.1.7 as its sdist ships them (src/ layout, tests, examples),
  downloaded into build/structure with `pip download --no-binary :all: --no-deps`;
- *stdlib*: the whole standard library of `python3` (as bench/index_stdlib.py), for latency.

What is compared, with the reference run here on the same files:

1. The import graph (``Imports`` of every module grimp knows, direction out, depth 1) against
   grimp's (``build_graph`` of the same packages, external packages left out): edges found,
   missed, extra.
2. Usage resolution against jedi (``Script.goto(follow_imports=True)``, a fresh Script per
   position): a seeded sample of the name occurrences jedi lists in each project is resolved by
   jedi; where it lands on something with a qualified name inside the project (a module, class,
   function or method, a module or class variable, an instance attribute), ``FindUsages`` of
   that name must list the occurrence (recall). A seeded sample of the rows those calls return
   is resolved by jedi in turn; where jedi resolves it, it must be the name asked for
   (precision). An alias by assignment (``Charset = _charset.Charset``) denotes both names:
   where jedi's goto stops at such an assignment, what its ``infer`` gives counts too.
3. Latency of each method through the bus over the whole standard library, on queries drawn at
   random (seeded) from its definitions and modules; and save -> visible for answers that
   depend on the saved module.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import multiprocessing
import pathlib
import random
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
from typing import Any

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from stdlib_box import boot, copy_stdlib, default_stdlib  # noqa: E402

from codeanalysisd.index.extract import extract  # noqa: E402
from codeanalysisd.index.membership import ProjectFiles  # noqa: E402
from codeanalysisd.index.modules import ModuleMap  # noqa: E402

WORK = REPO / "build" / "structure"
IN_BOX = "/opt/codeanalysisd-src/build/structure"
PY = "/usr/lib/codeanalysisd/bin/python"
PROBE = "/opt/codeanalysisd-src/bench/structure_probe.py"
STDLIB_HERE = pathlib.Path(sysconfig.get_paths()["stdlib"])  # this interpreter's: what jedi and grimp read
PACKAGES = ("asyncio", "email", "json", "logging")
CLICK = "click==8.1.7"


# ---------------------------------------------------------------------------- corpora


def prepare() -> dict[str, dict[str, Any]]:
    """The corpora on disk (build/structure), each with what jedi and grimp need to read it."""
    WORK.mkdir(parents=True, exist_ok=True)
    corpus = WORK / "corpus"
    if not corpus.exists():
        for package in PACKAGES:
            shutil.copytree(STDLIB_HERE / package, corpus / package, ignore=shutil.ignore_patterns("__pycache__"))
    for package in PACKAGES:  # jedi and grimp read the originals: they must be the same bytes
        for path in (corpus / package).rglob("*.py"):
            original = STDLIB_HERE / path.relative_to(corpus)
            assert _sha(path) == _sha(original), f"{path} differs from {original}"
    click = WORK / "click-8.1.7"
    if not click.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", CLICK, "-d",
                        str(WORK)], check=True, capture_output=True)
        with tarfile.open(WORK / "click-8.1.7.tar.gz") as archive:
            # the "data" filter (no links out, no devices) where this Python has it (3.11.4 on)
            archive.extractall(WORK, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return {
        "corpus": {"root": corpus, "reference_root": STDLIB_HERE, "packages": PACKAGES,
                   "inside": [f"{p}/" for p in PACKAGES], "sys_path": [str(STDLIB_HERE)]},
        "click": {"root": click, "reference_root": click, "packages": ("click",),
                  "inside": ["src/click/", "tests/", "examples/"], "sys_path": [str(click / "src"), str(click)]},
    }


def _sha(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def members(root: pathlib.Path) -> list[str]:
    """The files the suite indexes under root (its own membership rule), less what the
    sandbox's copy of the standard library leaves out (installed packages)."""
    return sorted(p for p in ProjectFiles(str(root)).walk() if not p.startswith(("site-packages/", "dist-packages/")))


# ---------------------------------------------------------------------------- grimp


GRIMP = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import grimp
graph = grimp.build_graph(*json.loads(sys.argv[2]))
print(json.dumps(sorted([m, i] for m in graph.modules for i in graph.find_modules_directly_imported_by(m))))
"""


def grimp_edges(corpus: dict[str, Any]) -> set[tuple[str, str]]:
    """grimp's edges, in a fresh interpreter that has the packages' own directory first."""
    path = [str(corpus["sys_path"][0])]
    out = subprocess.run([sys.executable, "-c", GRIMP, json.dumps(path), json.dumps(list(corpus["packages"]))],
                         check=True, capture_output=True, text=True).stdout
    return {(a, b) for a, b in json.loads(out)}


def compare_imports(box: Any, project: str, corpus: dict[str, Any]) -> dict[str, Any]:
    reference = grimp_edges(corpus)
    modules = sorted({m for edge in reference for m in edge} | set(_grimp_modules(corpus)))
    query = WORK / f"modules-{project}.json"
    query.write_text(json.dumps(modules))
    ours_raw = json.loads(box.run(PY, PROBE, "imports", project, f"{IN_BOX}/{query.name}", timeout=600).stdout)
    inside = set(modules)
    ours = {(importer, imported) for rows in ours_raw.values() for importer, imported, _p, _l in rows
            if imported in inside}
    missed, extra = sorted(reference - ours), sorted(ours - reference)
    return {"modules": len(modules), "grimp_edges": len(reference), "our_edges": len(ours),
            "found": len(reference & ours), "missed": missed, "extra": extra}


def _grimp_modules(corpus: dict[str, Any]) -> list[str]:
    script = ("import json, sys\nsys.path[:0] = json.loads(sys.argv[1])\nimport grimp\n"
              "print(json.dumps(sorted(grimp.build_graph(*json.loads(sys.argv[2])).modules)))")
    out = subprocess.run([sys.executable, "-c", script, json.dumps([str(corpus["sys_path"][0])]),
                          json.dumps(list(corpus["packages"]))], check=True, capture_output=True, text=True).stdout
    return list(json.loads(out))


# ---------------------------------------------------------------------------- jedi

_JEDI: dict[str, Any] = {}


def _jedi_init(root: str, sys_path: list[str], inside: list[str], packages: list[str]) -> None:
    import tempfile

    import jedi

    # parso's cache on disk is not safe for two processes writing it at once: one each
    jedi.settings.cache_directory = tempfile.mkdtemp(prefix="jedi-cache-")

    stdlib = [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"] + "/lib-dynload"]
    # the project's own directories, then the standard library: nothing installed elsewhere
    _JEDI.update(jedi=jedi, root=root, inside=tuple(f"{root}/{p}" for p in inside), packages=set(packages),
                 project=jedi.Project(root, sys_path=[*sys_path, *stdlib]), texts={})


def _text(rel: str) -> str:
    texts = _JEDI["texts"]
    if rel not in texts:
        texts[rel] = pathlib.Path(_JEDI["root"], rel).read_text(encoding="utf-8")
    return str(texts[rel])


def _target(d: Any) -> str | None:
    """The qualified name of a definition jedi found, if it is one FindUsages can be asked for:
    inside the project, a module, class, function or method, a module or class variable, or an
    instance attribute (``self.x = ...``: jedi names it after the method, Python after the class);
    a function in a function is ``f.<locals>.g`` as Python writes it."""
    path = str(d.module_path or "")
    stub = path.endswith(".pyi") and (d.full_name or "").split(".")[0] in _JEDI["packages"]
    if not stub and not path.startswith(_JEDI["inside"]):
        return None
    if d.type == "module":
        return str(d.full_name)
    parent = d.parent()
    if d.type in ("class", "function", "property"):
        if parent is not None and parent.type == "function":
            outer = _target(parent)
            return f"{outer}.<locals>.{d.name}" if outer else None
        return str(d.full_name) if d.full_name else None
    if d.type in ("statement", "instance") and parent is not None:
        if not (d.full_name or "").endswith(f".{d.name}"):
            # jedi names an enum member after its class (full_name asyncio.timeouts._State for
            # _State.EXPIRING): the qualified name is read off where it is defined instead
            classes = _classes_around(path, d.line)
            return None if classes is None else ".".join([d.module_name, *classes, d.name])
        if parent.type in ("module", "class"):
            return str(d.full_name) if d.full_name else None
        grand = parent.parent() if parent.type == "function" else None
        line = d.get_line_code()
        if grand is not None and grand.type == "class" and d.column > 0 and line[d.column - 1:d.column] == ".":
            outer = _target(grand)
            return f"{outer}.{d.name}" if outer else None
    return None


_TREES: dict[str, Any] = {}


def _classes_around(path: str, line: int | None) -> list[str] | None:
    """The classes (outermost first) whose bodies hold ``line`` of the file at ``path``; None
    when a function does (a local, which has no qualified name), or when jedi gives the name no
    line (one it made up, not written in the file)."""
    import ast

    if line is None:
        return None
    if path not in _TREES:
        _TREES[path] = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    chain: list[str] = []
    node = _TREES[path]
    while True:
        inner = [c for c in ast.iter_child_nodes(node)
                 if isinstance(c, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                 and c.lineno < line <= (c.end_lineno or c.lineno)]
        if not inner:
            return chain
        node = inner[0]
        if not isinstance(node, ast.ClassDef):
            return None
        chain.append(node.name)


def _names(rel: str) -> list[tuple[str, int, int]]:
    script = _JEDI["jedi"].Script(_text(rel), path=f"{_JEDI['root']}/{rel}", project=_JEDI["project"])
    return [(rel, n.line, n.column) for n in script.get_names(all_scopes=True, definitions=False, references=True)]


def _goto(where: tuple[str, int, int]) -> tuple[list[str], bool]:
    """What jedi says is at a position: the qualified names (with what an alias by assignment
    infers to), and whether it resolved the position at all."""
    rel, line, column = where
    script = _JEDI["jedi"].Script(_text(rel), path=f"{_JEDI['root']}/{rel}", project=_JEDI["project"])
    found = script.goto(line, column, follow_imports=True)
    names = {_target(d) for d in found}
    if any(d.type == "statement" and _target(d) for d in found):
        names |= {_target(d) for d in script.infer(line, column) if d.type in ("class", "function", "module")}
    return sorted(n for n in names if n), bool(found)


def _byte_column(text: str, line: int, column: int) -> int:
    return len(text.split("\n")[line - 1][:column].encode("utf-8"))


def _char_column(text: str, line: int, column: int) -> int:
    return len(text.split("\n")[line - 1].encode("utf-8")[:column].decode("utf-8", "ignore"))


def compare_usages(box: Any, project: str, corpus: dict[str, Any], names: int, rows: int, seed: int
                   ) -> dict[str, Any]:
    root = str(corpus["reference_root"])
    files = [rel for rel in members(corpus["root"]) if any(rel.startswith(p) for p in corpus["inside"])]
    args = (root, corpus["sys_path"], corpus["inside"], list(corpus["packages"]))
    with multiprocessing.Pool(2, _jedi_init, args) as pool:
        occurrences = [o for found in pool.map(_names, files) for o in found]
        sample = random.Random(seed).sample(occurrences, min(names, len(occurrences)))
        started = time.monotonic()
        resolved = [(o, t) for o, (t, _ok) in zip(sample, pool.map(_goto, sample, chunksize=8), strict=True) if t]
        jedi_seconds = time.monotonic() - started
        targets = sorted({t for _o, ts in resolved for t in ts})
        query = WORK / f"targets-{project}.json"
        query.write_text(json.dumps(targets))
        answers = json.loads(box.run(PY, PROBE, "usages", project, f"{IN_BOX}/{query.name}", timeout=1800).stdout)
        texts = {rel: pathlib.Path(root, rel).read_text(encoding="utf-8") for rel in files}
        listed = {t: {(r[1], r[5], r[6]): r[7] for r in answers[t]["rows"] if r[0]} for t in targets}
        # a reply cut at its limit (a last row with an empty first field) lists the first rows by
        # path, line and column: a position after its last row is not listed, and says so
        cut = {t: max(listed[t]) for t in targets if answers[t]["rows"] and not answers[t]["rows"][-1][0]}
        call_ms = [answers[t]["ms"] for t in targets]
        # recall
        recall: collections.Counter[str] = collections.Counter()
        misses: list[dict[str, Any]] = []
        beyond = 0
        for (rel, line, column), wanted in resolved:
            key = (rel, line, _byte_column(texts[rel], line, column))
            how = [listed[t].get(key) for t in wanted]
            if "resolved" in how:
                recall["resolved"] += 1
            elif "name" in how:
                recall["name"] += 1
            elif any(t in cut and key > cut[t] for t in wanted):
                beyond += 1
            else:
                misses.append({"path": rel, "line": line, "column": column, "jedi": wanted,
                               "code": texts[rel].split("\n")[line - 1].strip()[:100]})
        # precision
        returned = [(t, key, how) for t in targets for key, how in listed[t].items()]
        checked = random.Random(seed + 1).sample(returned, min(rows, len(returned)))
        positions = [(rel, line, _char_column(texts[rel], line, col)) for _t, (rel, line, col), _h in checked]
        agree: collections.Counter[str] = collections.Counter()
        judged: collections.Counter[str] = collections.Counter()
        wrong: list[dict[str, Any]] = []
        for (t, (rel, line, _col), how), (names_there, ok) in zip(checked, pool.map(_goto, positions, chunksize=8),
                                                                  strict=True):
            if not ok:
                continue  # jedi does not resolve it: nothing to compare with
            judged[how] += 1
            if t in names_there:
                agree[how] += 1
            else:
                wrong.append({"asked": t, "path": rel, "line": line, "resolution": how, "jedi": names_there,
                              "code": texts[rel].split("\n")[line - 1].strip()[:100]})
    total = len(resolved) - beyond
    ordered = sorted(call_ms)
    return {
        "names_listed_by_jedi": len(occurrences), "sampled": len(sample), "resolved_inside_by_jedi": len(resolved),
        "beyond_a_cut_reply": beyond, "replies_cut": sorted(cut),
        "targets_asked": len(targets), "jedi_goto_seconds": round(jedi_seconds, 1),
        "findusages_ms": {"p50": ordered[len(ordered) // 2], "p99": ordered[min(len(ordered) - 1,
                                                                               int(0.99 * len(ordered)))],
                          "max": ordered[-1]} if ordered else {},
        "recall_all": (recall["resolved"] + recall["name"]) / total if total else None,
        "recall_resolved_only": recall["resolved"] / total if total else None,
        "rows_returned": len(returned), "rows_checked": len(checked),
        "rows_jedi_resolves": {k: judged[k] for k in judged},
        "precision_all": sum(agree.values()) / sum(judged.values()) if judged else None,
        "precision_by_resolution": {k: agree[k] / judged[k] for k in judged},
        "misses": misses, "wrong": wrong,
    }


# ---------------------------------------------------------------------------- latency


def latency_queries(stdlib: pathlib.Path, per_method: int, seed: int) -> dict[str, list[list[Any]]]:
    """Random (seeded) questions over the standard library: files, modules, classes, functions,
    definitions, drawn from what the index holds (its membership rule, its extractor)."""
    paths = members(stdlib)
    modules = ModuleMap(paths, str(stdlib))
    rng = random.Random(seed)
    classes, functions, definitions = [], [], []
    for rel in rng.sample(paths, min(len(paths), 400)):
        name = modules.name_of[rel]
        if "/" in name:
            continue
        for d in extract((stdlib / rel).read_bytes()).definitions:
            qualified = f"{name}.{d.qualname}"
            definitions.append(qualified)
            (classes if d.kind == "class" else functions).append(qualified)
    names = [n for n in modules.path_of if "/" not in n]

    def pick(items: list[Any]) -> list[Any]:
        return rng.sample(items, min(per_method, len(items)))

    return {
        "Outline": [[p] for p in pick(paths)],
        "Imports out, depth 1": [[m, "out", 1] for m in pick(names)],
        "Imports in, depth 1": [[m, "in", 1] for m in pick(names)],
        "Imports out, transitive": [[m, "out", 0] for m in pick(names)],
        "ImportChain": [[a, b] for a, b in zip(pick(names), pick(names), strict=False)],
        "ClassHierarchy up": [[c, "up"] for c in pick(classes)],
        "ClassHierarchy down": [[c, "down"] for c in pick(classes)],
        "CallGraph callers, depth 1": [[f, "callers", 1] for f in pick(functions)],
        "CallGraph callees, depth 1": [[f, "callees", 1] for f in pick(functions)],
        "FindUsages (limit 100)": [[d, 100] for d in pick(definitions)],
    }


# ---------------------------------------------------------------------------- the run


def project_id(box: Any, root: str) -> str:
    return next(p["id"] for p in json.loads(box.run("codeanalysisctl", "--json", "projects").stdout)
                if p["root"] == root)


def indexed(box: Any, project: str) -> int:
    return int(next(p["files"] for p in json.loads(box.run("codeanalysisctl", "--json", "projects").stdout)
                    if p["id"] == project))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=2000, help="name occurrences sampled per project (jedi)")
    parser.add_argument("--rows", type=int, default=800, help="FindUsages rows checked per project (jedi)")
    parser.add_argument("--queries", type=int, default=40, help="questions per method (latency)")
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked (latency)")
    parser.add_argument("--edits", type=int, default=100, help="saves measured (save -> visible)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stdlib", default=None)
    parser.add_argument("--out", default=str(WORK / "report.json"))
    args = parser.parse_args()
    corpora = prepare()
    stdlib = pathlib.Path(args.stdlib or default_stdlib())
    report: dict[str, Any] = {"stdlib": str(stdlib), "seed": args.seed}
    queries = latency_queries(stdlib, args.queries, args.seed)
    (WORK / "latency-queries.json").write_text(json.dumps(queries))
    box = boot("structure", str(stdlib))
    try:
        copy_stdlib(box)
        box.sh(f"cp -r {IN_BOX}/corpus /srv/corpus && cp -r {IN_BOX}/click-8.1.7 /srv/click-8.1.7 && "
               "find /srv/corpus /srv/click-8.1.7 /srv/stdlib -name __pycache__ -prune -exec rm -rf {} + && "
               "chmod -R a+rX /srv", timeout=600)
        box.systemctl("start", "codeanalysisd.target")
        ids = {}
        for name, root in (("corpus", "/srv/corpus"), ("click", "/srv/click-8.1.7"), ("stdlib", "/srv/stdlib")):
            box.run("codeanalysisctl", "add", "--no-block", root)
            ids[name] = project_id(box, root)
        for name, root in (("corpus", corpora["corpus"]["root"]), ("click", corpora["click"]["root"]),
                           ("stdlib", stdlib)):
            expected = len(members(pathlib.Path(root)))
            started = time.monotonic()
            while indexed(box, ids[name]) < expected:
                if time.monotonic() - started > 900:
                    raise TimeoutError(f"{name} not indexed")
                time.sleep(0.5)
        for name in ("corpus", "click"):
            report[f"imports {name}"] = compare_imports(box, ids[name], corpora[name])
            report[f"usages {name}"] = compare_usages(box, ids[name], corpora[name], args.names, args.rows,
                                                      args.seed)
            pathlib.Path(args.out).write_text(json.dumps(report, indent=2))  # a later failure keeps these
        report["latency"] = json.loads(box.run(PY, PROBE, "latency", ids["stdlib"],
                                               f"{IN_BOX}/latency-queries.json", "-n", str(args.rounds),
                                               timeout=1800).stdout)
        report["live"] = json.loads(box.run(PY, PROBE, "live", ids["stdlib"], "/srv/stdlib", "-n",
                                            str(args.edits), timeout=1800).stdout)
    finally:
        box.stop()
    pathlib.Path(args.out).write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"\nfull report (every miss and disagreement): {args.out}")


def print_report(r: dict[str, Any]) -> None:
    for name in ("corpus", "click"):
        imports, usages = r[f"imports {name}"], r[f"usages {name}"]
        print(f"import graph, {name}: {imports['modules']} modules; grimp {imports['grimp_edges']} edges, "
              f"ours {imports['our_edges']}: found {imports['found']}, missed {len(imports['missed'])}, "
              f"extra {len(imports['extra'])}")
        for label in ("missed", "extra"):
            for edge in imports[label][:10]:
                print(f"    {label}: {edge[0]} -> {edge[1]}")
        print(f"usages, {name}: {usages['sampled']} of {usages['names_listed_by_jedi']} names sampled, "
              f"{usages['resolved_inside_by_jedi']} resolved inside the project by jedi "
              f"({usages['targets_asked']} targets; {usages['beyond_a_cut_reply']} of them past the 1,000 rows of "
              f"a reply that says so: {', '.join(usages['replies_cut']) or 'none'}); "
              f"recall {usages['recall_all']:.3f} "
              f"(resolved rows only {usages['recall_resolved_only']:.3f}); precision {usages['precision_all']:.3f} "
              f"over {sum(usages['rows_jedi_resolves'].values())} rows jedi resolves "
              f"(by resolution: {', '.join(f'{k} {v:.3f}' for k, v in usages['precision_by_resolution'].items())})")
        ms = usages["findusages_ms"]
        print(f"    FindUsages of those targets (limit 1000) through the bus: p50 {ms['p50']:.2f} ms, "
              f"p99 {ms['p99']:.2f} ms, max {ms['max']:.2f} ms")
    print("\nlatency through the system bus over the standard library (p50 / p99 / max ms, rows):")
    for label, s in r["latency"].items():
        rows = f"  rows median {s['rows_median']}, max {s['rows_max']}" if "rows_median" in s else ""
        print(f"    {label:<34} {s['p50_ms']:7.2f} {s['p99_ms']:7.2f} {s['max_ms']:7.2f}  (n={s['n']}){rows}")
    print("\nsave -> visible:")
    for label, s in r["live"].items():
        print(f"    {label:<54} p50 {s['p50_ms']:6.1f} ms, p99 {s['p99_ms']:6.1f} ms, max {s['max_ms']:6.1f} "
              f"(n={s['n']})")


if __name__ == "__main__":
    main()

"""The resolution rules, each on a small package written for it: what a name denotes across
files (imports, aliases, re-exports, relative imports, layouts), class hierarchies, calls and
usages, exactly as the extractor's facts and the resolver give them."""

from __future__ import annotations

import textwrap

import pytest
from structure_facts import MemoryProject

from codeanalysisd.index.modules import ModuleMap, layout, module_name, resolve_relative

EVERYONE = lambda path: True  # noqa: E731  (a predicate, named for what it lets through)


def project(files: dict[str, str], root: str = "/srv/proj") -> MemoryProject:
    return MemoryProject({path: textwrap.dedent(text) for path, text in files.items()}, root)


def usages(p: MemoryProject, target: str) -> list[tuple[str, int, str, str]]:
    found = p.model.find(target)
    assert found is not None, target
    return [(u.path, u.line, u.text, u.resolution) for u in p.model.usages(found, EVERYONE)]


def resolved(p: MemoryProject, target: str) -> list[tuple[str, int, str]]:
    return [(path, line, text) for path, line, text, how in usages(p, target) if how == "resolved"]


# ---------------------------------------------------------------------------- module names


@pytest.mark.parametrize("paths, root, path, name", [
    (["pkg/__init__.py", "pkg/mod.py"], "/srv/p", "pkg/mod.py", "pkg.mod"),
    (["pkg/__init__.py"], "/srv/p", "pkg/__init__.py", "pkg"),
    (["tool.py"], "/srv/p", "tool.py", "tool"),                              # a top-level script
    (["ns/sub/mod.py"], "/srv/p", "ns/sub/mod.py", "ns.sub.mod"),            # namespace packages
    (["src/pkg/__init__.py", "src/pkg/a.py"], "/srv/p", "src/pkg/a.py", "pkg.a"),  # src layout
    (["src/__init__.py", "src/a.py"], "/srv/p", "src/a.py", "src.a"),        # a package named src
    (["__init__.py", "message.py"], "/srv/email", "message.py", "email.message"),  # the root is a package
    (["__init__.py"], "/srv/email", "__init__.py", "email"),
    (["my-tools/run.py"], "/srv/p", "my-tools/run.py", None),               # no importable name
    (["class/x.py"], "/srv/p", "class/x.py", None),                         # a keyword
])
def test_module_names_from_paths(paths, root, path, name):
    assert module_name(path, layout(paths, root)) == name


def test_a_file_that_names_no_module_is_known_by_its_path():
    modules = ModuleMap(["my-tools/run.py", "a.py"], "/srv/p")
    assert modules.name_of == {"my-tools/run.py": "my-tools/run.py", "a.py": "a"}


@pytest.mark.parametrize("importer, is_pkg, level, module, absolute", [
    ("pkg.mod", False, 1, "", "pkg"),
    ("pkg.mod", False, 1, "other", "pkg.other"),
    ("pkg", True, 1, "sub", "pkg.sub"),          # in an __init__: its own package
    ("pkg.sub.mod", False, 2, "x", "pkg.x"),
    ("pkg.mod", False, 3, "x", None),            # above the top-level package
    ("pkg.mod", False, 0, "os.path", "os.path"),
])
def test_relative_imports(importer, is_pkg, level, module, absolute):
    assert resolve_relative(importer, is_pkg, level, module) == absolute


# ---------------------------------------------------------------------------- following names


def test_import_aliases_and_from_import_aliases():
    p = project({
        "pkg/__init__.py": "",
        "pkg/mod.py": "def func():\n    pass\n",
        "use.py": """\
            import pkg.mod as m
            from pkg.mod import func as f
            from pkg import mod
            m.func()
            f()
            mod.func()
            """,
    })
    assert resolved(p, "pkg.mod.func") == [("use.py", 2, "func"), ("use.py", 4, "m.func"), ("use.py", 5, "f"),
                                           ("use.py", 6, "mod.func")]


def test_re_exports_of_a_package_and_star_imports_honour_all():
    p = project({
        "pkg/__init__.py": "from .impl import thing\nfrom .stars import *\n",
        "pkg/impl.py": "def thing():\n    pass\n",
        "pkg/stars.py": "__all__ = ['public']\ndef public():\n    pass\ndef hidden():\n    pass\n",
        "use.py": "import pkg\nfrom pkg import thing\npkg.thing()\nthing()\npkg.public()\npkg.hidden()\n",
    })
    assert resolved(p, "pkg.impl.thing") == [("pkg/__init__.py", 1, "thing"), ("use.py", 2, "thing"),
                                             ("use.py", 3, "pkg.thing"), ("use.py", 4, "thing")]
    assert p.model.find("pkg.thing").qualified == "pkg.impl.thing"  # a re-exported name is its definition
    assert resolved(p, "pkg.stars.public") == [("use.py", 5, "pkg.public")]
    assert p.model.find("pkg.hidden") is None  # not in __all__: a star import does not take it


def test_relative_imports_climb_packages():
    p = project({
        "pkg/__init__.py": "",
        "pkg/a.py": "X = 1\ndef f():\n    pass\n",
        "pkg/sub/__init__.py": "from .. import a\n",
        "pkg/sub/b.py": "from ..a import f\nfrom . import c\nfrom ..a import X\nf()\nprint(X)\n",
        "pkg/sub/c.py": "",
    })
    assert resolved(p, "pkg.a.f") == [("pkg/sub/b.py", 1, "f"), ("pkg/sub/b.py", 4, "f")]
    assert resolved(p, "pkg.a.X") == [("pkg/sub/b.py", 3, "X"), ("pkg/sub/b.py", 5, "X")]
    assert ("pkg/sub/b.py", 2, "c") in resolved(p, "pkg.sub.c")
    assert ("pkg/sub/__init__.py", 1, "a") in resolved(p, "pkg.a")


def test_src_layout_and_namespace_packages():
    p = project({
        "src/app/__init__.py": "",
        "src/app/core.py": "class Engine:\n    def run(self):\n        pass\n",
        "tests/test_core.py": "from app.core import Engine\nEngine().run()\n",
        "plugins/extra.py": "from app import core\ncore.Engine.run(None)\n",
        "tools/use_plugin.py": "from plugins import extra\nimport plugins.extra as ex\nex.core\n",
    })
    assert resolved(p, "app.core.Engine.run") == [("plugins/extra.py", 2, "core.Engine.run"),
                                                   ("tests/test_core.py", 2, "Engine().run")]
    assert resolved(p, "plugins.extra") == [("tools/use_plugin.py", 1, "extra"),
                                            ("tools/use_plugin.py", 2, "plugins.extra"),
                                            ("tools/use_plugin.py", 3, "ex")]


def test_a_root_that_is_a_package_names_its_modules_after_itself():
    p = project({"__init__.py": "from .message import Message\n",
                 "message.py": "class Message:\n    pass\n",
                 "parser.py": "from email.message import Message\nfrom email import Message as M\nM()\n"},
                root="/srv/copy/email")
    assert resolved(p, "email.message.Message") == [("__init__.py", 1, "Message"), ("parser.py", 1, "Message"),
                                                    ("parser.py", 2, "Message"), ("parser.py", 3, "M")]


def test_names_shadowed_by_parameters_locals_and_later_bindings():
    p = project({
        "lib.py": "def dumps():\n    pass\n",
        "use.py": """\
            import lib
            def by_parameter(lib):
                lib.dumps()
            def by_local():
                lib = object()
                lib.dumps()
            def by_global():
                lib.dumps()
            def by_comprehension(items):
                return [lib.dumps() for lib in items]
            """,
    })
    assert [(path, line, how) for path, line, _text, how in usages(p, "lib.dumps")] == [
        ("use.py", 3, "name"),       # a parameter: not the module; only the name matches
        ("use.py", 8, "resolved"),   # the module
        ("use.py", 10, "name"),      # the comprehension's variable
    ]  # line 6: lib is an object(): resolved to something else, so not listed


def test_self_cls_super_and_inherited_methods():
    p = project({
        "base.py": """\
            class Base:
                def helper(self):
                    pass
                @classmethod
                def make(cls):
                    return cls()
            """,
        "child.py": """\
            from base import Base as B
            class Child(B):
                def helper(self):
                    super().helper()
                def run(self):
                    self.helper()
                    self.make().helper()
                @classmethod
                def build(cls):
                    cls.make()
            def outside(c: Child):
                c.helper()
                Child().make()
            """,
    })
    # what a call returns is read from the code, not from who calls: cls() in Base.make is a Base
    assert resolved(p, "base.Base.helper") == [("child.py", 4, "super().helper"), ("child.py", 7, "self.make().helper")]
    assert resolved(p, "child.Child.helper") == [("child.py", 6, "self.helper"), ("child.py", 12, "c.helper")]
    assert resolved(p, "base.Base.make") == [("child.py", 7, "self.make"), ("child.py", 10, "cls.make"),
                                             ("child.py", 13, "Child().make")]


def test_instance_attributes_and_what_calls_return():
    p = project({
        "m.py": """\
            class Loop:
                def call_soon(self):
                    pass
            def get_loop() -> Loop:
                return Loop()
            def plain():
                return Loop()
            class User:
                def __init__(self):
                    self._loop = get_loop()
                def go(self):
                    self._loop.call_soon()
                    plain().call_soon()
                    loop = get_loop()
                    loop.call_soon()
            """,
    })
    assert resolved(p, "m.Loop.call_soon") == [("m.py", 12, "self._loop.call_soon"),
                                               ("m.py", 13, "plain().call_soon"), ("m.py", 15, "loop.call_soon")]
    assert resolved(p, "m.User._loop") == [("m.py", 12, "self._loop")]


def test_an_alias_by_assignment_is_a_use_of_both_names():
    p = project({
        "charset.py": "class Charset:\n    pass\n",
        "header.py": "import charset as _charset\nCharset = _charset.Charset\nOther = Charset\ndef f():\n"
                     "    return Other()\n",
    })
    assert resolved(p, "charset.Charset") == [("header.py", 2, "_charset.Charset"), ("header.py", 3, "Charset"),
                                              ("header.py", 5, "Other")]
    assert resolved(p, "header.Charset") == [("header.py", 3, "Charset")]
    assert resolved(p, "header.Other") == [("header.py", 5, "Other")]


def test_a_name_outside_the_project_is_followed_through_imports():
    p = project({"a.py": "import os.path as osp\nfrom os.path import join as j\nimport os\n"
                         "osp.join()\nj()\nos.path.join()\nos.sep.join()\n"})
    rows = [(u.line, u.text, u.resolution) for u in p.model.external_usages("os.path.join", EVERYONE)]
    assert rows == [(2, "join", "resolved"), (4, "osp.join", "resolved"), (5, "j", "resolved"),
                    (6, "os.path.join", "resolved")]


# ---------------------------------------------------------------------------- imports, classes, calls


GRAPH = {
    "pkg/__init__.py": "from . import a\n",
    "pkg/a.py": "import pkg.b\nfrom .c import thing\nimport os\n",
    "pkg/b.py": "from pkg import c\nfrom pkg.c import *\n",
    "pkg/c.py": "def thing():\n    import pkg\n",
}


def test_import_rows_out_and_in_direct_and_transitive():
    p = project(GRAPH)
    rows = lambda *a: [(r.importer, r.imported, r.line) for r in p.model.imports(*a, EVERYONE)]  # noqa: E731
    assert rows("pkg.a", "out", 1) == [("pkg.a", "pkg.b", 1), ("pkg.a", "pkg.c", 2), ("pkg.a", "os", 3)]
    assert rows("pkg.c", "in", 1) == [("pkg.a", "pkg.c", 2), ("pkg.b", "pkg.c", 1), ("pkg.b", "pkg.c", 2)]
    assert {r[:2] for r in rows("pkg.c", "in", 0)} == {("pkg.a", "pkg.c"), ("pkg.b", "pkg.c"), ("pkg", "pkg.a"),
                                                       ("pkg.a", "pkg.b"), ("pkg.c", "pkg")}
    assert p.model.import_chain("pkg", "pkg.b", EVERYONE) == ["pkg", "pkg.a", "pkg.b"]
    assert p.model.import_chain("pkg.b", "os", EVERYONE) == ["pkg.b", "pkg.c", "pkg", "pkg.a", "os"]
    assert p.model.import_chain("pkg.b", "pkg.nothing", EVERYONE) == []


def test_what_the_caller_may_not_see_is_not_followed():
    p = project(GRAPH)
    hidden = lambda path: path != "pkg/a.py"  # noqa: E731
    assert p.model.import_chain("pkg", "pkg.b", hidden) == []
    assert [r.importer for r in p.model.imports("pkg.c", "in", 1, hidden)] == ["pkg.b", "pkg.b"]


def test_class_hierarchy_across_modules_through_imports_and_aliases():
    p = project({
        "shapes/__init__.py": "from .base import Shape as BaseShape\n",
        "shapes/base.py": "class Shape:\n    pass\nclass Named:\n    pass\n",
        "shapes/round.py": "import shapes\nfrom shapes import base\nclass Circle(shapes.BaseShape, base.Named):\n"
                           "    pass\nclass Ring(Circle):\n    pass\nclass Odd(Unknown):\n    pass\n",
        "other.py": "import json\nclass Enc(json.JSONEncoder):\n    pass\n",
    })
    up = [(c.name, c.depth) for c in p.model.superclasses(p.model.find("shapes.round.Ring"), EVERYONE)]
    assert up == [("shapes.round.Ring", 0), ("shapes.round.Circle", 1), ("shapes.base.Shape", 2),
                  ("shapes.base.Named", 2)]
    down = [(c.name, c.depth, c.path, c.line) for c in p.model.subclasses(p.model.find("shapes.base.Shape"), EVERYONE)]
    assert down == [("shapes.base.Shape", 0, "shapes/base.py", 1), ("shapes.round.Circle", 1, "shapes/round.py", 3),
                    ("shapes.round.Ring", 2, "shapes/round.py", 5)]
    assert [(c.name, c.path) for c in p.model.superclasses(p.model.find("other.Enc"), EVERYONE)] == [
        ("other.Enc", "other.py"), ("json.JSONEncoder", "")]
    assert [c.name for c in p.model.superclasses(p.model.find("shapes.round.Odd"), EVERYONE)] == [
        "shapes.round.Odd", "?"]
    assert [c.qualified for c in p.model.classes("Circle")] == ["shapes.round.Circle"]


def test_callers_and_callees_resolved_or_by_name():
    p = project({
        "svc.py": """\
            from util import helper as h
            class Service:
                def launch(self):
                    self.prepare()
                    h()
                    unknown_thing.launch()
                def prepare(self):
                    pass
            def main(s):
                Service().launch()
                s.launch()
            """,
        "util.py": "def helper():\n    pass\n",
    })
    launch = p.model.find("svc.Service.launch")
    callers = [(c.caller, c.line, c.resolution) for c in p.model.callers(launch, EVERYONE)]
    assert callers == [("svc.Service.launch", 6, "name"), ("svc.main", 10, "resolved"), ("svc.main", 11, "name")]
    callees = [(c.callee, c.line, c.resolution) for c, _ in p.model.callees(launch, EVERYONE)]
    assert callees == [("svc.Service.prepare", 4, "resolved"), ("util.helper", 5, "resolved"),
                       ("unknown_thing.launch", 6, "name")]


def test_a_name_that_could_mean_something_else_is_no_use_by_name():
    p = project({
        "a.py": """\
            class Log:
                def append(self, line):
                    pass
                def rotate(self):
                    pass
            class Other:
                def rotate(self):
                    pass
            class Sub(Log):
                def rotate(self):
                    pass
            def f(x, y):
                x.append(1)
                y.rotate()
            """,
    })
    # `append` is also every list's, `rotate` also Other's: only the resolved uses are listed
    assert usages(p, "a.Log.append") == []
    assert usages(p, "a.Log.rotate") == []
    q = project({"b.py": "class Log:\n    def rotate(self):\n        pass\nclass Sub(Log):\n"
                         "    def rotate(self):\n        pass\ndef f(y):\n    y.rotate()\n"})
    assert usages(q, "b.Log.rotate") == []  # its subclass overrides it: the more specific may be meant
    assert usages(q, "b.Sub.rotate") == [("b.py", 8, "y.rotate", "name")]


def test_items_of_annotated_collections_and_loop_variables():
    p = project({
        "m.py": """\
            from typing import List, Optional
            class Param:
                def cast(self):
                    pass
            class Command:
                params: "List[Param]"
                def get_params(self) -> Optional[List["Param"]]:
                    return self.params
                def run(self, extra: "list[Param]"):
                    for param in self.get_params():
                        param.cast()
                    for p in self.params:
                        p.cast()
                    extra[0].cast()
                    for q in extra:
                        q.cast()
            """,
    })
    assert [line for _path, line, _text in resolved(p, "m.Param.cast")] == [11, 13, 14, 16]


def test_generic_classes_and_types_in_annotations():
    p = project({
        "m.py": """\
            import typing as t
            V = t.TypeVar("V")
            class Bar(t.Generic[V]):
                def update(self):
                    pass
            def bar() -> "Bar[int]":
                return Bar()
            def kind(k: t.Type[Bar]):
                k.update(None)
            def union(u: t.Union[Bar, int]):
                u.update()
            with bar() as progress:
                progress.update()
            """,
    })
    assert [line for _path, line, _text in resolved(p, "m.Bar.update")] == [9, 13]


def test_placeholders_and_parameter_defaults():
    p = project({
        "m.py": """\
            class Policy:
                def fetch(self):
                    pass
            default = Policy()
            class Node:
                parent: "Node"
                def walk(self):
                    c = self
                    while c:
                        if c.stop():
                            c = None
                        else:
                            c = c.parent
                def stop(self):
                    pass
            def use(policy=default, other=None):
                policy.fetch()
                other.fetch()
            """,
    })
    assert [line for _path, line, _text in resolved(p, "m.Node.parent")] == [13]
    assert [line for _path, line, _text in resolved(p, "m.Policy.fetch")] == [17]  # other: None says nothing

import ast
import pathlib
import random
import sys
import sysconfig
import textwrap
import warnings

import pytest

from codeanalysisd.index import extract as extract_module
from codeanalysisd.index.extract import Definition, FileFacts, Import, Reference, extract
from codeanalysisd.index.facts import parent_of


def facts_of(source: str) -> FileFacts:
    facts = extract(textwrap.dedent(source).encode())
    assert facts.parsed, facts.problems
    assert facts.problems == ()
    return facts


def defs_by_qualname(facts: FileFacts) -> dict[str, Definition]:
    return {d.qualname: d for d in facts.definitions}


def refs(facts: FileFacts) -> list[tuple[str, str]]:
    return [(r.name, r.kind) for r in facts.references]


# ---------------------------------------------------------------------------- definitions


def test_definitions_everywhere_with_python_qualnames_kinds_and_parents():
    facts = facts_of("""
        def top():
            def inner():
                class Local:
                    def m(self): pass
            return lambda: 1

        async def coro(): pass

        class Outer:
            def method(self): pass
            async def amethod(self): pass
            class Inner:
                def deep(self):
                    def helper(): pass
            if True:
                def in_if(self): pass
            try:
                def in_try(self): pass
            except Exception:
                def in_except(self): pass
            with ctx:
                class InWith: pass
            for _ in x:
                async def in_for(self): pass
            while False:
                def in_while(self): pass

        if True:
            def module_if(): pass
    """)
    got = {d.qualname: (d.name, d.kind, d.parent) for d in facts.definitions}
    assert got == {
        "top": ("top", "function", None),
        "top.<locals>.inner": ("inner", "function", "top"),
        "top.<locals>.inner.<locals>.Local": ("Local", "class", "top.<locals>.inner"),
        "top.<locals>.inner.<locals>.Local.m": ("m", "method", "top.<locals>.inner.<locals>.Local"),
        "coro": ("coro", "async_function", None),
        "Outer": ("Outer", "class", None),
        "Outer.method": ("method", "method", "Outer"),
        "Outer.amethod": ("amethod", "async_method", "Outer"),
        "Outer.Inner": ("Inner", "class", "Outer"),
        "Outer.Inner.deep": ("deep", "method", "Outer.Inner"),
        "Outer.Inner.deep.<locals>.helper": ("helper", "function", "Outer.Inner.deep"),
        "Outer.in_if": ("in_if", "method", "Outer"),
        "Outer.in_try": ("in_try", "method", "Outer"),
        "Outer.in_except": ("in_except", "method", "Outer"),
        "Outer.InWith": ("InWith", "class", "Outer"),
        "Outer.in_for": ("in_for", "async_method", "Outer"),
        "Outer.in_while": ("in_while", "method", "Outer"),
        "module_if": ("module_if", "function", None),
    }


def test_qualnames_match_what_python_itself_computes():
    source = textwrap.dedent("""
        def f():
            class C:
                def m(self):
                    def g(): pass
                    return g
            return C
        class D:
            class E:
                async def a(self): pass
    """)
    namespace: dict = {}
    exec(compile(source, "<test>", "exec"), namespace)
    real = {
        namespace["f"].__qualname__, namespace["f"]().__qualname__, namespace["f"]().m.__qualname__,
        namespace["f"]().m(None).__qualname__, namespace["D"].__qualname__, namespace["D"].E.__qualname__,
        namespace["D"].E.a.__qualname__,
    }
    assert {d.qualname for d in extract(source.encode()).definitions} == real


def test_definition_fields():
    facts = facts_of('''
        @staticmethod
        @functools.lru_cache(maxsize=2)
        def f(a, b=1, /, c: int = 2, *args: str, d, e=None, **kw: dict[str, int]) -> int | None:
            """Summary.

            Body.
                Indented detail.
            """
            return 1

        def bare(*, key): pass

        class C(Base, mixins.Mixin, metaclass=ABCMeta, **extra):
            """Class doc."""

        class Plain:
            x = 1
    ''')
    by_name = defs_by_qualname(facts)
    f = by_name["f"]
    assert (f.line, f.column, f.end_line) == (4, 0, 10)  # the `def` line, not the first decorator's
    assert f.decorators == ("staticmethod", "functools.lru_cache(maxsize=2)")
    assert f.bases == ()
    assert f.signature == "(a, b=1, /, c: int=2, *args: str, d, e=None, **kw: dict[str, int]) -> int | None"
    assert f.docstring == "Summary.\n\nBody.\n    Indented detail."
    assert by_name["bare"].signature == "(*, key)"
    assert by_name["bare"].docstring is None
    c = by_name["C"]
    assert c.bases == ("Base", "mixins.Mixin", "metaclass=ABCMeta", "**extra")
    assert c.signature == "(Base, mixins.Mixin, metaclass=ABCMeta, **extra)"
    assert c.docstring == "Class doc."
    assert (by_name["Plain"].signature, by_name["Plain"].bases) == ("", ())


# ---------------------------------------------------------------------------- bounded texts


def test_a_signature_is_cut_at_its_cap():
    """A default value of 900 KB: the signature keeps its first SIGNATURE_MAX characters and says so."""
    big = "x" * 900_000
    f, = extract(f"def f(a, b='{big}', *, c=1) -> int: pass\n".encode()).definitions
    assert f.signature == "(a, b='" + "x" * (extract_module.SIGNATURE_MAX - len("(a, b='")) + " …"
    assert len(f.signature) == extract_module.SIGNATURE_MAX + len(extract_module.CUT)
    c, = extract(f"class C(Base[Literal['{big}']], metaclass=M): pass\n".encode()).definitions
    assert c.signature.startswith("(Base[Literal['xxx") and c.signature.endswith("xxx …")
    assert len(c.signature) == extract_module.SIGNATURE_MAX + len(extract_module.CUT)


def test_a_signature_at_the_cap_is_whole():
    padding = "y" * (extract_module.SIGNATURE_MAX - len("(a='')"))
    f, = extract(f"def f(a='{padding}'): pass\n".encode()).definitions
    assert f.signature == f"(a='{padding}')" and len(f.signature) == extract_module.SIGNATURE_MAX


def test_a_docstring_is_cut_at_its_cap():
    """A 100 KB docstring, of a function, a class and the module."""
    doc = "".join(f"line {i:06d}\n" for i in range(100_000 // 12))
    source = f'"""{doc}"""\ndef f():\n    """{doc}"""\nclass C:\n    """{doc}"""\n'.encode()
    facts = extract(source)
    expected = doc[:extract_module.DOCSTRING_MAX] + " …"
    assert [d.docstring for d in facts.definitions] == [expected, expected]
    assert facts.module_docstring == expected
    at_cap = "z" * extract_module.DOCSTRING_MAX
    assert extract(f'def g():\n    """{at_cap}"""\n'.encode()).definitions[0].docstring == at_cap


def test_an_escaped_surrogate_docstring_is_cut_after_escaping():
    facts = extract(('def f():\n    "' + "\\ud800" * 1000 + '"\n').encode())
    doc = facts.definitions[0].docstring
    assert doc is not None and doc.endswith(" …") and len(doc) == extract_module.DOCSTRING_MAX + 2
    doc.encode("utf-8")  # storable


def test_names_and_qualified_names_are_bounded_and_keep_their_own_name():
    """A long class name repeated in every qualified name below it multiplied the file's size
    by the number of definitions and references inside; each row is now bounded."""
    outer = "A" * 100_000
    source = f"class {outer}:\n" + "    def f(self): a; self.b\n" * 200
    facts = extract(source.encode())
    cls, *methods = facts.definitions
    assert cls.name == "A" * extract_module.NAME_MAX + " …"
    assert cls.qualname == cls.name and cls.parent is None
    assert len(methods) == 200
    for m in methods:
        assert m.name == "f" and m.parent == cls.qualname
        assert m.qualname.startswith("… ") and m.qualname.endswith("A ….f")
        assert len(m.qualname) == extract_module.NAME_MAX + 2
    assert {r.scope for r in facts.references} == {m.qualname for m in methods}
    assert max(len(r.name) for r in facts.references) <= extract_module.NAME_MAX + 2


def test_nested_qualified_names_stay_bounded_at_any_depth():
    names = [f"N{i}_" + "n" * 400 for i in range(6)]
    source = "".join("    " * depth + f"class {name}:\n" for depth, name in enumerate(names)) + "    " * 6 + "x = 1\n"
    qualnames = [d.qualname for d in extract(source.encode()).definitions]
    assert qualnames[0] == names[0] and qualnames[1] == f"{names[0]}.{names[1]}"  # within the cap: whole
    for qualname, name in zip(qualnames[2:], names[2:], strict=True):
        assert qualname.startswith("… ") and qualname.endswith("." + name)
        assert len(qualname) == extract_module.NAME_MAX + 2


def test_a_long_reference_name_is_cut():
    chain = ".".join(["part"] * 1000)  # 5,000 characters; much deeper, and the parser refuses the file
    identifier = "i" * 900_000
    facts = extract(f"{chain}()\nshort.name\nx = {identifier}\n".encode())
    cut = extract_module.NAME_MAX
    assert refs(facts) == [(chain[:cut] + " …", "call"), ("short.name", "attribute"), (identifier[:cut] + " …", "name")]


def test_lambdas_and_comprehensions_are_not_definitions():
    facts = facts_of("""
        key = lambda x: x
        squares = [y * y for y in range(3)]
    """)
    assert facts.definitions == ()


def test_columns_and_end_lines_of_nested_definitions():
    facts = facts_of("""
        class A:
            @property
            def p(self):
                return 1
    """)
    p = defs_by_qualname(facts)["A.p"]
    assert (p.line, p.column, p.end_line) == (4, 4, 5)


def test_module_docstring():
    assert facts_of('"""  The module.\n\n  More.\n"""\nx = 1\n').module_docstring == "The module.\n\nMore."
    assert facts_of("x = 1\n").module_docstring is None
    assert facts_of("").module_docstring is None


# ---------------------------------------------------------------------------- imports


def test_imports_of_every_form():
    facts = facts_of("""
        import os
        import os.path as osp, sys
        from collections import OrderedDict as OD, deque
        from . import sibling
        from ..pkg.sub import thing
        from star import *
        def f():
            import json
    """)
    assert [(i.module, i.name, i.alias, i.level, i.line) for i in facts.imports] == [
        ("os", None, None, 0, 2),
        ("os.path", None, "osp", 0, 3),
        ("sys", None, None, 0, 3),
        ("collections", "OrderedDict", "OD", 0, 4),
        ("collections", "deque", None, 0, 4),
        ("", "sibling", None, 1, 5),
        ("pkg.sub", "thing", None, 2, 6),
        ("star", "*", None, 0, 7),
        ("json", None, None, 0, 9),
    ]
    assert facts.imports[0].column == 7
    assert facts.imports[-1].column == 11


def test_imports_in_a_parenthesized_list_are_placed_on_their_own_lines():
    facts = facts_of("""
        from pkg import (
            first,
            second as two,
        )
    """)
    assert [(i.name, i.alias, i.line, i.column) for i in facts.imports] == [
        ("first", None, 3, 4), ("second", "two", 4, 4)]


# ---------------------------------------------------------------------------- references


def test_references_do_not_double_count_chains():
    assert refs(facts_of("a.b.c()\n")) == [("a.b.c", "call")]
    assert refs(facts_of("x.y\n")) == [("x.y", "attribute")]
    assert refs(facts_of("foo\n")) == [("foo", "name")]
    assert refs(facts_of("foo()\n")) == [("foo", "call")]
    assert refs(facts_of("os.path.join(a, b.c)\n")) == [("os.path.join", "call"), ("a", "name"), ("b.c", "attribute")]
    assert refs(facts_of("self.x.y\n")) == [("self.x.y", "attribute")]


def test_attributes_on_something_other_than_a_name_chain():
    assert refs(facts_of("f().x\n")) == [("f", "call"), ("x", "attribute")]
    assert refs(facts_of("a[0].y\n")) == [("a", "name"), ("y", "attribute")]
    assert refs(facts_of("f().x.y()\n")) == [("f", "call"), ("x", "attribute"), ("y", "call")]
    assert refs(facts_of("f()()\n")) == [("f", "call")]
    assert refs(facts_of("'sep'.join(parts)\n")) == [("join", "call"), ("parts", "name")]


def test_reference_positions():
    facts = facts_of("""
        result = (session.query(Model)
                  .filter(x)
                  .all())
        f().é
    """)
    assert [(r.name, r.kind, r.line, r.column) for r in facts.references] == [
        ("session.query", "call", 2, 10),
        ("Model", "name", 2, 24),
        ("filter", "call", 3, 11),  # where the attribute is written, not where the chain starts
        ("x", "name", 3, 18),
        ("all", "call", 4, 11),
        ("f", "call", 5, 0),
        ("é", "attribute", 5, 4),  # columns are UTF-8 byte offsets, as in ast
    ]


def test_store_and_del_targets_are_not_references():
    facts = facts_of("""
        x = 1
        a.b = 2
        a.b.c = 3
        d[k] = 4
        del e
        del g.h
        for i in items: pass
        (y := 5)
    """)
    # What a target is taken from is still read: `a` in `a.b = 2`, `a.b` in `a.b.c = 3`.
    assert sorted(refs(facts)) == sorted([
        ("a", "name"), ("a.b", "attribute"), ("d", "name"), ("k", "name"), ("g", "name"), ("items", "name")])


def test_reference_scopes_follow_where_python_evaluates_them():
    facts = facts_of("""
        @deco(arg)
        def f(p: Ann = default) -> Ret:
            body_name
            g = lambda q: lam_name
            [comp for comp in comp_source]
            class K(KBase, metaclass=Meta):
                attr = class_body
                def m(self, v=method_default):
                    in_method
            return g

        class C(Base):
            in_class
    """)
    scope = {r.name: r.scope for r in facts.references}
    assert scope == {
        "deco": "", "arg": "", "Ann": "", "default": "", "Ret": "",
        "body_name": "f", "lam_name": "f", "comp": "f", "comp_source": "f",
        "KBase": "f", "Meta": "f", "g": "f",
        "class_body": "f.<locals>.K", "method_default": "f.<locals>.K",
        "in_method": "f.<locals>.K.m",
        "Base": "", "in_class": "C",
    }


def test_results_are_in_source_order():
    facts = facts_of("""
        def late(): pass
        def z(): pass
        class A:
            def b(self): pass
        def a(): c; d; e
    """)
    assert [d.line for d in facts.definitions] == sorted(d.line for d in facts.definitions)
    assert [d.qualname for d in facts.definitions] == ["late", "z", "A", "A.b", "a"]
    positions = [(r.line, r.column) for r in facts.references]
    assert positions == sorted(positions)
    assert refs(facts) == [("c", "name"), ("d", "name"), ("e", "name")]


def test_results_are_immutable_comparable_and_hashable():
    source = b"import os\ndef f(a=1):\n    return os.sep\n"
    one, two = extract(source), extract(source)
    assert one == two
    assert hash(one) == hash(two)
    assert all(isinstance(value, tuple) for value in (one.definitions, one.imports, one.references, one.problems))
    assert isinstance(one.definitions[0], Definition)
    assert isinstance(one.imports[0], Import)
    assert isinstance(one.references[0], Reference)
    with pytest.raises(AttributeError):
        one.parsed = False  # type: ignore[misc]


# ---------------------------------------------------------------------------- encodings


def test_default_encoding_is_utf8():
    facts = extract("name = 'é'\n".encode())
    assert (facts.encoding, facts.text, facts.parsed) == ("utf-8", "name = 'é'\n", True)


def test_bom_is_honoured_and_removed():
    facts = extract(b"\xef\xbb\xbfx = 1\n")
    assert (facts.encoding, facts.text, facts.parsed) == ("utf-8-sig", "x = 1\n", True)


def test_coding_cookie_is_honoured():
    facts = extract(b"# -*- coding: latin-1 -*-\ndef caf\xe9(): pass\n")
    assert facts.encoding == "iso-8859-1"
    assert facts.text == "# -*- coding: latin-1 -*-\ndef café(): pass\n"
    assert [d.name for d in facts.definitions] == ["café"]


def test_undecodable_bytes():
    facts = extract(b"abc\xff = 1\n")
    assert (facts.text, facts.parsed, facts.definitions) == (None, False, ())
    assert facts.problems == (
        "cannot decode as utf-8: 'utf-8' codec can't decode byte 0xff in position 3: invalid start byte",)


def test_undecodable_after_the_first_lines():
    facts = extract(b"x = 1\ny = 2\nz = '\xc3('\n")
    assert (facts.text, facts.parsed) == (None, False)
    assert facts.problems[0].startswith("cannot decode as utf-8: ")


@pytest.mark.parametrize("source, reason", [
    (b"# coding: no-such-codec\nx = 1\n", "unknown encoding"),
    (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "encoding problem"),  # the cookie contradicts the BOM
    (b"# coding: rot13\nx = 1\n", "not a text encoding"),
    (b"# coding: utf-16\nx = 1\n", "cannot decode as utf-16"),
])
def test_unusable_coding_cookie(source, reason):
    facts = extract(source)
    assert (facts.text, facts.parsed) == (None, False)
    assert len(facts.problems) == 1
    assert facts.problems[0].startswith("cannot decode")
    assert reason in facts.problems[0]


# ---------------------------------------------------------------------------- what does not parse


def test_nul_byte_keeps_text_but_does_not_parse():
    facts = extract(b"def f():\n    return 1\x00\n")
    assert facts.text == "def f():\n    return 1\x00\n"
    assert (facts.parsed, facts.definitions) == (False, ())
    assert len(facts.problems) == 1
    assert "NUL" in facts.problems[0]


@pytest.mark.parametrize("source, line", [
    (b'print "hello"\n', 1),  # Python 2
    (b"x = 1\nexec 'code' in ns\n", 2),
    (b"def f(:\n    pass\n", 1),
    (b"if x:\npass\n", 2),  # IndentationError is a SyntaxError too
])
def test_syntax_errors(source, line):
    facts = extract(source)
    assert facts.text == source.decode()
    assert (facts.parsed, facts.definitions, facts.references) == (False, (), ())
    assert len(facts.problems) == 1
    assert facts.problems[0].startswith(f"syntax error at line {line}: ")


@pytest.mark.parametrize("source", [
    "x = " + "[" * 5000 + "]" * 5000,
    "x = " + "1+" * 100000 + "1",
    "x = " + "-" * 100000 + "1",
    "x = " + "a." * 100000 + "b",
    "x = " + "f" + "()" * 100000,
])
def test_too_deeply_nested_to_parse(source):
    facts = extract(source.encode())
    assert facts.text == source
    assert facts.parsed is False
    assert len(facts.problems) == 1
    assert "nested" in facts.problems[0]


def test_many_nested_parentheses():
    # Within the tokenizer's limit on some versions and beyond it on others: either way, no exception.
    source = "(" * 200 + ")" * 200
    facts = extract(source.encode())
    assert facts.text == source
    assert facts.parsed or "nested" in facts.problems[0]


def test_deep_expressions_in_fields_fall_back_to_a_placeholder():
    deep = "1+" * (sys.getrecursionlimit() // 2) + "1"  # parses, but exceeds what ast.unparse can recurse
    source = f"@deco({deep})\ndef f(a: {deep} = {deep}) -> {deep}:\n    return {deep}\nclass C(Base[{deep}]): pass\n"
    facts = extract(source.encode())
    assert facts.parsed, facts.problems
    assert facts.problems == ()
    f, c = facts.definitions
    assert f.decorators == ("...",)
    assert f.signature == "(a: ...=...) -> ..."
    assert c.bases == ("Base[...]",)  # only the part that cannot be written out is elided
    assert c.signature == "(Base[...])"
    assert [(r.name, r.scope) for r in facts.references] == [("deco", ""), ("Base", "")]


def test_a_walk_that_fails_midway_keeps_what_it_found(monkeypatch):
    real = extract_module._Walk._define
    calls = []

    def define_then_fail(self, node, scope):
        calls.append(node.name)
        if len(calls) > 1:
            raise RecursionError("maximum recursion depth exceeded")
        return real(self, node, scope)

    monkeypatch.setattr(extract_module._Walk, "_define", define_then_fail)
    facts = extract(b"def a(): pass\ndef b(): pass\n")
    assert facts.parsed
    assert len(facts.definitions) == 1
    assert len(facts.problems) == 1
    assert "nested" in facts.problems[0]


def test_parser_warnings_are_neither_shown_nor_fatal():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        facts = extract(b"pattern = '\\d+'\n")
    assert facts.parsed, facts.problems
    assert caught == []


def test_large_file():
    code = b"".join(b"class Widget%d(Base):\n    def method(self, a, b=1):\n        return self.helper(a)\n" % i
                    for i in range(2000))
    filler = b"DATA = '" + b"x" * 1000 + b"'\n"
    source = code + filler * (20_000_000 // len(filler)) + b"# " + "é".encode() * 100_000 + b"\n"
    assert len(source) > 20_000_000
    facts = extract(source)
    assert facts.parsed, facts.problems
    assert facts.text is not None and len(facts.text.encode()) == len(source)
    assert len(facts.definitions) == 4000
    assert sum(r.name == "self.helper" for r in facts.references) == 2000


def test_never_raises_on_arbitrary_bytes():
    rng = random.Random(1234)
    sample = textwrap.dedent('''
        # coding: utf-8
        """Doc."""
        import os
        @d(x=1)
        class C(B, metaclass=M):
            async def m(self, a: int = 1, *b, c, **d) -> "R":
                return [f(x).y for x in os.listdir(a) if x] + {k: v for k, v in d.items()}
    ''').encode()
    inputs = [sample[:cut] for cut in range(len(sample))]
    for _ in range(300):
        data = bytearray(sample)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        inputs.append(bytes(data))
    inputs += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))) for _ in range(100)]
    inputs += [b"", b"\n", b"\xef\xbb\xbf", b"\x00", b"\r\n\r\n", b"\xff\xfe\x00\x00", b"\\", b"'''", b"\t\tx"]
    for data in inputs:
        facts = extract(data)
        assert isinstance(facts, FileFacts)
        assert facts.parsed or facts.problems, data  # a file that is not parsed always says why
        assert facts.text is not None or not facts.parsed, data


# ---------------------------------------------------------------------------- a real tree


STDLIB = pathlib.Path(sysconfig.get_paths()["stdlib"])


def test_agrees_with_a_plain_ast_walk_over_part_of_the_standard_library():
    files = sorted(f for package in ("json", "email", "asyncio", "importlib") for f in (STDLIB / package).rglob("*.py"))
    assert len(files) > 50
    definitions = 0
    for path in files:
        source = path.read_bytes()
        try:
            facts = extract(source)
        except Exception as exc:
            pytest.fail(f"extract raised on {path}: {exc!r}")
        assert facts.parsed, (path, facts.problems)
        tree = ast.parse(source)
        nodes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)]
        assert {(n.name, n.lineno) for n in nodes} == {(d.name, d.line) for d in facts.definitions}, path
        assert len(nodes) == len(facts.definitions), path
        by_position = {(d.line, d.column): d for d in facts.definitions}
        for node in nodes:
            if not isinstance(node, ast.ClassDef):
                returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
                assert by_position[node.lineno, node.col_offset].signature == f"({ast.unparse(node.args)}){returns}"
        definitions += len(nodes)
        # the index keeps no parent but the one its qualified name gives
        assert [d.parent for d in facts.definitions] == [parent_of(d.qualname) for d in facts.definitions], path
    assert definitions > 1000


@pytest.mark.parametrize(("qualname", "parent"), [
    ("f", None), ("C.m", "C"), ("f.<locals>.g", "f"), ("C.m.<locals>.D.n", "C.m.<locals>.D"),
    ("f.<locals>.g.<locals>.h", "f.<locals>.g"), ("C", None)])
def test_a_parent_is_its_qualified_names_but_the_last_without_locals(qualname, parent):
    assert parent_of(qualname) == parent


def test_every_parent_the_extractor_gives_is_its_qualified_names():
    facts = facts_of("""
        class A:
            class B:
                def m(self):
                    def inner():
                        class Local:
                            async def deep(self): pass
                    return lambda: inner
        def f():
            def g():
                def h(): pass
    """)
    assert {d.qualname: d.parent for d in facts.definitions} == {d.qualname: parent_of(d.qualname)
                                                                 for d in facts.definitions}
    assert defs_by_qualname(facts)["A.B.m.<locals>.inner.<locals>.Local.deep"].parent == \
        "A.B.m.<locals>.inner.<locals>.Local"


def test_a_find_symbol_reply_over_many_huge_defaults_stays_small(tmp_path):
    """The review's repro: 40 files, each `def f(x="<900 KB>"): pass`, then FindSymbol f."""
    import hashlib

    from codeanalysisd.db.store import Store
    from codeanalysisd.index.reading import FileRead, file_facts
    from codeanalysisd.index.record import FileUpdate
    from codeanalysisd.paths import roots_overlap

    store, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    try:
        store.writes.projects.add("/srv/p", roots_overlap)
        updates = []
        for i in range(40):
            source = f'def f(x="{i:03d}{"v" * 900_000}"):\n    """{"d" * 100_000}"""\n'.encode()
            read = FileRead(f"m{i:02d}.py", len(source), 1, source, hashlib.sha256(source).digest())
            facts_json, clean = file_facts(read, 1024 * 1024)
            assert clean and len(facts_json) < 10_000
            updates.append(FileUpdate.from_wire(read.rel, read.size, read.mtime_ns, source, facts_json))
        store.writes.files.index("p", updates)
        found = store.reads.files.find_symbol("f", "p", "", 1000)
    finally:
        store.close()
    assert len(found) == 40
    assert all(s.signature.startswith(f"(x='{i:03d}vvv") and s.signature.endswith(" …") for i, s in enumerate(found))
    reply_characters = sum(len(field) for s in found for field in (s.path, s.qualname, s.signature, s.docstring))
    assert reply_characters < 40 * (extract_module.SIGNATURE_MAX + extract_module.DOCSTRING_MAX + 100)

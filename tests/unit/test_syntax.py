from codeanalysisd.index.syntax import EXACT, NOT_VERIFIED, node_count, too_many_nodes, verdict
from codeanalysisd.index.syntax import passed_over as syntax_passed_over


def test_exact_round_trip():
    assert verdict(b"def f(x):\n    return x  # comment\n") == EXACT
    assert verdict("# -*- coding: latin-1 -*-\ns = 'é'\n".encode("latin-1")) == EXACT


def test_known_libcst_difference_is_recorded_with_its_line():
    # libcst drops the space before ':' in "except X :"
    assert verdict(b"try:\n    pass\nexcept ValueError :\n    pass\n") == (
        "libcst's concrete syntax tree does not reproduce the file (first difference at line 3)")


def test_unparsable_and_hostile_input_is_a_verdict_not_an_exception():
    assert verdict(b"def f(:\n").startswith("libcst cannot parse it")
    # (deeper nesting than ast accepts can crash libcst's native parser outright; the watcher
    # only asks for verdicts on files ast parsed, and survives a crash: see watch/sync.py)
    assert verdict(b"x = " + b"(" * 199 + b"1" + b")" * 199 + b"\n") == EXACT
    assert verdict(b"\xff\xfe\x00garbage").startswith("libcst cannot")


def _nodes(source: bytes) -> int:
    import ast
    return sum(1 for _ in ast.walk(ast.parse(source)))


def test_node_count_is_the_ast_trees_up_to_one_past_the_bound():
    source = b"".join(b"x%d = a + b * c\n" % i for i in range(50))
    total = _nodes(source)
    assert node_count(source, total) == total
    assert node_count(source, total - 1) == total  # one past the bound: enough to refuse
    assert node_count(source, 10) == 11
    assert node_count(b"def f(:\n", 10) is None


def test_a_file_over_the_bound_is_passed_over_with_why_and_one_at_it_is_verified():
    source = b"".join(b"x%d = a + b * c\n" % i for i in range(50))
    total = _nodes(source)
    assert verdict(source, max_nodes=total) == EXACT
    assert verdict(source, max_nodes=0) == EXACT  # no bound
    passed_over = verdict(source, max_nodes=total - 1)
    assert passed_over.startswith(NOT_VERIFIED) and syntax_passed_over(passed_over)
    assert not syntax_passed_over(verdict(source, max_nodes=total))
    assert f"more than {total - 1} syntax nodes" in passed_over and "MaxSyntaxNodes=" in passed_over
    # what ast cannot parse goes to libcst, which says why whatever its size
    broken = source + b"def f(:\n"
    assert verdict(broken, max_nodes=10).startswith("libcst cannot parse it")


def test_the_count_is_ast_walks_over_the_standard_librarys_modules_and_the_indexers():
    import ast
    import pathlib

    from codeanalysisd.index.extract import extract
    from codeanalysisd.index.syntax import count_nodes

    counted = 0
    for path in sorted(pathlib.Path(ast.__file__).parent.glob("*.py")):
        source = path.read_bytes()
        tree = ast.parse(source)
        walked = sum(1 for _ in ast.walk(tree))
        assert count_nodes(tree) == walked, path
        for most in (1, 2, walked // 3, walked - 1, walked, walked + 1):  # up to one past the bound
            assert count_nodes(tree, most) == min(walked, most + 1), (path, most)
        assert extract(source).nodes == walked, path  # the count the indexer sends with the facts
        counted += 1
    assert counted > 100
    assert extract(b"def f(:\n").nodes is None  # not parsed, not counted


def test_a_count_given_is_taken_as_the_files_without_counting_again():
    source = b"".join(b"x%d = a + b * c\n" % i for i in range(50))
    total = _nodes(source)
    # The count the indexer kept decides, whatever the bytes hold: none is made here.
    assert verdict(source, max_nodes=total, nodes=total + 1).startswith(NOT_VERIFIED)
    assert verdict(source, max_nodes=10, nodes=10) == EXACT
    assert verdict(source, max_nodes=0, nodes=total + 1) == EXACT  # no bound
    assert too_many_nodes(total, total) is None and too_many_nodes(total + 1, 0) is None
    assert too_many_nodes(total + 1, total) == verdict(source, max_nodes=total - 1).replace(
        str(total - 1), str(total))


# Layouts a code generator can get wrong: other newlines and indents, an encoding, no final
# newline, form feeds, continuation lines, comments everywhere, nested f-strings, match.
_LAYOUTS = [
    b"",
    b"x = 1",
    b"def f():\r\n\treturn 1\r\n",
    b"if x:\r    y = 2\r",
    "# -*- coding: latin-1 -*-\ns = 'caf\u00e9'\n".encode("latin-1"),
    b"\x0cclass A:  # c\n\n    @d\n    async def m(self, *a, b=1, **k) -> 'T':  # c\n        await g(  # c\n"
    b"            a, \\\n            b)\n",
    b"x = f'{a!r:>{w}} {f\"{b}\"}' + rb'\\d' \\\n    + u'''q\n'''\n",
    b"match p:\n    case [1, *r] | {'k': _} if r:\n        pass\n    case Point(x=0):\n        pass\n",
    b"try:\n    pass\nexcept ValueError :\n    pass\n",  # a file libcst does not give back
]


def test_the_verdicts_code_generation_gives_what_libcsts_does():
    """The verdict regenerates a module with libcst's codegen minus a no-op hook
    (index/codegen.py): byte for byte what ``Module.bytes`` gives, over every fifth module
    of the standard library's top level and the layouts above."""
    import ast
    import pathlib

    import libcst

    from codeanalysisd.index.codegen import module_bytes

    sources = [p.read_bytes() for p in sorted(pathlib.Path(ast.__file__).parent.glob("*.py"))[::5]]
    compared = 0
    for source in [*_LAYOUTS, *sources]:
        try:
            module = libcst.parse_module(source)
        except Exception:
            continue
        assert module_bytes(module) == module.bytes, source[:80]
        compared += 1
    assert compared > 40

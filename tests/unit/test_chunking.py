"""Which pieces of a file are embedded, and that their keys follow their text alone."""

import ast
import os
import sysconfig

from codeanalysisd.index import chunking
from codeanalysisd.index.extract import extract

SOURCE = '''"""Tools for reading settings."""

import os


def load(path):
    """Read a settings file."""
    with open(path) as f:
        return f.read()


class Settings:
    """Holds settings."""

    default = 1

    @property
    def name(self):
        def inner():
            return 1
        return inner()
'''


def definitions(source: str) -> list[chunking.Definition]:
    facts = extract(source.encode())
    return [chunking.Definition(d.qualname, d.kind, d.line, d.end_line, len(d.decorators), d.parent,
                                d.docstring is not None)
            for d in facts.definitions]


def texts(source: str) -> dict[str, str]:
    lines = chunking.source_lines(source)
    return {c.symbol: c.text(lines) for c in chunking.chunks(lines, definitions(source), True)}


def test_a_chunk_per_definition_and_one_for_the_module_docstring():
    found = texts(SOURCE)
    assert list(found) == ["", "load", "Settings", "Settings.name"]  # inner() is read as part of name()
    assert found[""] == '"""Tools for reading settings."""\n\nimport os'
    assert found["load"].startswith("def load(path):") and found["load"].endswith("return f.read()")
    # a class is its header and docstring, up to its first method (and that method's decorator)
    assert found["Settings"] == 'class Settings:\n    """Holds settings."""\n\n    default = 1'
    assert "def inner" in found["Settings.name"]


def test_long_bodies_are_cut_into_windows_that_repeat_the_header():
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    source = f"def long(a, b):\n{body}"
    lines = chunking.source_lines(source)
    found = chunking.chunks(lines, definitions(source), False)
    assert [(c.start_line, c.end_line, c.head_line) for c in found] == [(1, 25, 0), (26, 50, 1), (51, 61, 1)]
    assert found[1].text(lines).startswith("def long(a, b):\n    x24 = 24")
    assert all(len(c.text(lines).splitlines()) <= chunking.WINDOW + 1 for c in found)


def test_keys_depend_on_the_text_only():
    moved_down = "\n\n\n# a comment above\n" + SOURCE.replace('"""Tools for reading settings."""\n', "")
    a = {c.symbol: c.key for c in chunking.chunks(chunking.source_lines(SOURCE), definitions(SOURCE), True)}
    b = {c.symbol: c.key for c in chunking.chunks(chunking.source_lines(moved_down), definitions(moved_down), False)}
    assert a["load"] == b["load"] and a["Settings.name"] == b["Settings.name"]
    edited = SOURCE.replace("return f.read()", "return f.read().strip()")
    c = {k.symbol: k.key for k in chunking.chunks(chunking.source_lines(edited), definitions(edited), True)}
    assert c["load"] != a["load"] and c["Settings"] == a["Settings"]


def test_lines_are_counted_as_python_counts_them():
    # a form feed is inside a line for ast; str.splitlines would split there and shift every line below
    source = "x = 1\n\x0c\ndef f():\r\n    return 2\rdef g():\n    pass\n"
    lines = chunking.source_lines(source)
    tree = ast.parse(source)
    assert [lines[n.lineno - 1].split("(")[0] for n in tree.body[1:]] == ["def f", "def g"]


def chunk_texts(source: str, symbol: str) -> list[str]:
    lines = chunking.source_lines(source)
    return [c.text(lines) for c in chunking.chunks(lines, definitions(source), False) if c.symbol == symbol]


def test_a_documented_function_has_its_signature_and_docstring_as_a_chunk_of_their_own():
    assert chunk_texts(SOURCE, "load") == ['def load(path):\n    """Read a settings file."""',
                                           'def load(path):\n    """Read a settings file."""\n'
                                           '    with open(path) as f:\n        return f.read()']
    source = ('class C:\n    @staticmethod\n    def pick(items: dict[str, int] = {"a": 1},\n'
              '             key=lambda item: item[0]) -> int:  # a comment\n'
              '        # why\n        r"""Pick one.\n\n        Of many.\n        """\n        return 1\n')
    assert chunk_texts(source, "C.pick")[0].endswith('Of many.\n        """')
    assert len(chunk_texts(source, "C.pick")) == 2


def test_no_header_chunk_without_a_docstring_or_without_more_code_after_it():
    assert chunk_texts("def f(x):\n    return x\n", "f") == ["def f(x):\n    return x"]
    assert chunk_texts('def f(x):\n    """Only a docstring."""\n', "f") == ['def f(x):\n    """Only a docstring."""']
    assert chunk_texts('def f(x): """One line."""\n', "f") == ['def f(x): """One line."""']
    assert len(chunk_texts('def f(x):\n    f"not a docstring {x}"\n    return x\n', "f")) == 1
    # a string that starts an expression, or bytes, is not a docstring either (as the parser says)
    assert len(chunk_texts("def f(x):\n    ''.join(x)\n    return x\n", "f")) == 1
    assert len(chunk_texts("def f(x):\n    b'not a docstring'\n    return x\n", "f")) == 1
    # a docstring that runs past the first window: that window already says it
    long_doc = 'def f(x):\n    """' + "words\n" * 40 + '    """\n    return x\n'
    assert [len(t.splitlines()) for t in chunk_texts(long_doc, "f")] == [25, 19]


# (source, line of the def, the docstring's last line or None, whether the plain scan decides)
DOCSTRING_ENDS = [
    ('def f():\n    """One line."""\n    return 1\n', 1, 2, True),
    ('def f():\n    """First.\n\n    Last.\n    """\n    return 1\n', 1, 5, True),
    ("def f():\n    '''Quotes \\''' and \"\"\" inside.\n    end'''\n", 1, 3, True),
    ('def f():\n    r"""C:\\dir\\""" still open\n    """\n', 1, 3, True),
    ('def f():\n    ""\n    return 1\n', 1, 2, True),
    ("def f():\n    u'single'\n", 1, 2, True),
    ('def f(a=(1, 2), key=lambda item: item[0],\n      *, b: dict[str, int] = {}) -> list[int]:\n\n'
     '    # why\n    """Doc."""\n', 1, 5, True),
    ('def f():\n    f"""not {a} docstring"""\n', 1, None, True),
    ("def f():\n    ('parenthesized')\n", 1, None, True),
    ("def f():\n    return 1\n", 1, None, True),
    ('def f():\n    """' + "words\n" * 30 + '"""\n', 1, None, True),         # ends past the lines given
    # left to the tokenizer: a string or a comment in the header, a body on its line, a
    # backslash that continues a line or a string
    ('def f(a="x:y"):\n    """Doc."""\n', 1, 2, False),
    ('def f():  # note\n    """Doc."""\n', 1, 2, False),
    ('def f(): """Doc."""\n', 1, 1, False),
    ('def f():\n    """Doc \\\n    continued."""\n', 1, 3, False),
    ("def f():\n    'one \\\n    quote'\n", 1, 3, False),
    ('def f():\n    \\\n    """Doc."""\n', 1, 3, False),
]


def test_a_docstring_s_end_is_the_tokenizer_s_whether_or_not_lines_are_plain():
    for source, start, expected, plain in DOCSTRING_ENDS:
        lines = chunking.source_lines(source)
        end = min(len(lines), start + chunking.WINDOW - 1)
        assert chunking._tokenized_docstring_end(lines, start, end) == expected, source
        assert chunking._docstring_end(lines, start, end) == expected, source
        found = chunking._plain_docstring_end(lines, start, end)
        assert (found == expected) if plain else (found is chunking._UNSURE), source


def test_the_plain_scan_agrees_with_the_tokenizer_over_the_standard_library():
    # Every documented function of every fourth module, by the parser's own word.
    root = sysconfig.get_paths()["stdlib"]
    paths = sorted(os.path.join(d, f) for d, dirs, files in os.walk(root)
                   if "site-packages" not in d and "__pycache__" not in d for f in files if f.endswith(".py"))
    decided = 0
    for path in paths[::4]:
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        lines = chunking.source_lines(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and ast.get_docstring(node) is not None:
                end = min(node.end_lineno or node.lineno, node.lineno + chunking.WINDOW - 1)
                found = chunking._plain_docstring_end(lines, node.lineno, end)
                if found is not chunking._UNSURE:
                    decided += 1
                    assert found == chunking._tokenized_docstring_end(lines, node.lineno, end), (path, node.lineno)
    assert decided > 1000

"""The facts of a file between processes: the JSON the workers send, checked on arrival, and the
same record built in process without it."""

import ast
import dataclasses
import hashlib
import json

import pytest

from codeanalysisd.index import reading, wire
from codeanalysisd.index.facts import Binding, Definition, Import, IndexedFacts, Reference, Use
from codeanalysisd.index.reading import FileRead, file_facts, file_update, indexed_facts
from codeanalysisd.index.record import NO_CONTENT, FileUpdate
from codeanalysisd.repair import disk
from codeanalysisd.tree import Tree

SOURCE = (b'"""Mod."""\nimport os\nfrom . import x as y\n@dec(1)\nclass A(B, metaclass=M):\n'
          b'    def f(self, a: int = 2) -> str:\n        "Doc."\n        return os.sep\n')
# What the watcher sent for SOURCE before the facts were typed, in rows: older workers, not yet
# restarted after an upgrade, still send it, and the owner still reads it.
SENT = ('{"encoding":"utf-8","parsed":true,"problems":[],"docstring":"Mod.","definitions":[["A","A","class",5,0,8,'
        '["dec(1)"],["B","metaclass=M"],"(B, metaclass=M)",null,null],["A.f","f","method",6,4,8,[],[],'
        '"(self, a: int=2) -> str","Doc.","A"]],"imports":[["os",null,null,0,2,7],["","x","y",1,3,14]],'
        '"references":[["dec","call",4,1,""],["B","name",5,8,""],["M","name",5,21,""],["int","name",6,19,"A"],'
        '["str","name",6,31,"A"],["os.sep","attribute",8,15,"A.f"]]}')
# ... and what it sends since bindings and uses (the names' meanings) were added after them.
STRUCTURE = (',"bindings":[["","os","import","^os",2,7],["","y","import","^.x",3,14],["A","0","base","~B",5,0],'
             '["A.f","","return","^builtins.str()",6,0]],"uses":[["os","^os","import",2,7,"","os"],'
             '["x","^.x","import",3,14,"","x"],["dec","~dec","call",4,1,"","dec"],["B","~B","name",5,8,"","B"],'
             '["M","~M","name",5,21,"","M"],["os","^os","name",8,15,"A.f","os"],'
             '["sep","^os.sep","attribute",8,18,"A.f","os.sep"]]}')
# What it sent next: references, bindings and uses as columns, each text once (the form must not
# move without the owner reading both).
COLUMNS_BEFORE_NODES = (
           '{"encoding":"utf-8","parsed":true,"problems":[],"docstring":"Mod.","definitions":[["A","A","class",5,0,8,'
           '["dec(1)"],["B","metaclass=M"],"(B, metaclass=M)",null,null],["A.f","f","method",6,4,8,[],[],'
           '"(self, a: int=2) -> str","Doc.","A"]],"imports":[["os",null,null,0,2,7],["","x","y",1,3,14]],'
           '"form":2,"strings":["dec","B","M","int","str","os.sep","call","name","attribute","","A","A.f","os","y",'
           '"0","import","base","return","^os","^.x","~B","^builtins.str()","x","sep","~dec","~M","^os.sep"],'
           '"references":[[0,1,2,3,4,5],[6,7,7,7,7,8],[4,5,5,6,6,8],[1,8,21,19,31,15],[9,9,9,10,10,11]],'
           '"bindings":[[9,9,10,11],[12,13,14,9],[15,15,16,17],[18,19,20,21],[2,3,5,6],[7,14,0,0]],'
           '"uses":[[12,22,0,1,2,12,23],[18,19,24,20,25,18,26],[15,15,6,7,7,7,8],[2,3,4,5,5,8,8],'
           '[7,14,1,8,21,15,18],[9,9,9,9,9,11,11],[12,22,0,1,2,12,5]]}')
# ... and what it sends since, with the count of the nodes of SOURCE's ast tree.
COLUMNS = COLUMNS_BEFORE_NODES[:-1] + ',"nodes":33}'
UNREADABLE_SENT = ('{"encoding": null, "parsed": false, "problems": ["cannot read: Permission denied"], '
                   '"docstring": null, "definitions": [], "imports": [], "references": [], "unreadable": true}')
TEXT_ONLY_SENT = ('{"encoding": "iso-8859-1", "parsed": false, "problems": ["larger than 10 bytes"], '
                  '"docstring": null, "definitions": [], "imports": [], "references": []}')


def read(data: bytes | None, error: str = "") -> FileRead:
    sha = NO_CONTENT if data is None else hashlib.sha256(data).digest()
    return FileRead("m.py", len(data or b""), 7, data, sha, error)


def test_a_parsed_file_is_sent_in_columns_with_each_text_once():
    text, clean = file_facts(read(SOURCE), 1 << 20)
    assert clean and text == COLUMNS


def test_the_columns_and_the_rows_older_workers_send_are_the_same_facts():
    columns, rows = wire.decode(COLUMNS_BEFORE_NODES), wire.decode(SENT[:-1] + STRUCTURE)
    assert columns == rows
    assert len(columns.references) == 6 and len(columns.bindings) == 4 and len(columns.uses) == 7


def test_the_count_of_syntax_nodes_is_the_one_fact_older_workers_did_not_send():
    counted, before = wire.decode(COLUMNS), wire.decode(COLUMNS_BEFORE_NODES)
    assert before.nodes is None and counted.nodes == sum(1 for _ in ast.walk(ast.parse(SOURCE))) == 33
    assert counted == dataclasses.replace(before, nodes=33)
    # not parsed: nothing counted, nothing sent
    text, _ = file_facts(read(b"def f(:\n"), 1 << 20)
    assert "nodes" not in json.loads(text) and wire.decode(text).nodes is None


def test_bindings_and_uses_arrive_as_typed_rows():
    facts = wire.decode(SENT[:-1] + STRUCTURE)
    assert facts.bindings[2] == Binding("A", "0", "base", "~B", 5, 0)
    assert facts.uses[-1] == Use("sep", "^os.sep", "attribute", 8, 18, "A.f", "os.sep")
    assert wire.decode(SENT).uses == ()


def test_decoded_facts_are_typed_rows():
    facts = wire.decode(SENT)
    assert (facts.encoding, facts.parsed, facts.problems, facts.docstring, facts.unreadable) == (
        "utf-8", True, (), "Mod.", False)
    cls, method = facts.definitions
    assert cls == Definition("A", "A", "class", 5, 0, 8, ("dec(1)",), ("B", "metaclass=M"), "(B, metaclass=M)",
                             None, None)
    assert (method.qualname, method.signature, method.docstring, method.parent) == (
        "A.f", "(self, a: int=2) -> str", "Doc.", "A")
    assert facts.imports == (Import("os", None, None, 0, 2, 7), Import("", "x", "y", 1, 3, 14))
    assert facts.references[-1] == Reference("os.sep", "attribute", 8, 15, "A.f")
    assert all(isinstance(f, tuple) for f in (facts.problems, cls.decorators, cls.bases))


def test_what_older_workers_sent_for_unreadable_and_unparsed_files_still_decodes():
    assert wire.decode(UNREADABLE_SENT) == IndexedFacts(None, False, ("cannot read: Permission denied",), None,
                                                        unreadable=True)
    assert wire.decode(TEXT_ONLY_SENT) == IndexedFacts("iso-8859-1", False, ("larger than 10 bytes",), None)


@pytest.mark.parametrize("item, max_parse", [
    (read(SOURCE), 1 << 20),
    (read(b"def broken(:\n"), 1 << 20),                             # parse failure
    (read(b"\xff\xfe not text"), 1 << 20),                          # not decodable
    (read(b"# -*- coding: latin-1 -*-\nx = 1\n"), 10),              # too large to parse
    (read(b"# -*- coding: nonesuch -*-\nx = 1\n"), 10),             # too large, unknown coding cookie
    (read(None, "cannot read: Permission denied"), 1 << 20),        # unreadable
], ids=["parsed", "syntax error", "not text", "text only", "text only, bad cookie", "unreadable"])
def test_in_process_and_over_the_wire_give_the_same_record(item, max_parse):
    text, clean = file_facts(item, max_parse)
    here, clean_here = file_update(item, max_parse)
    sent = FileUpdate.from_wire(item.rel, item.size, item.mtime_ns, item.data or b"", text)
    assert here == sent and clean == clean_here
    assert here.sha256 == item.sha256 and (here.sha256 == NO_CONTENT) == here.facts.unreadable


def test_too_many_references_are_cut_and_said(monkeypatch):
    monkeypatch.setattr(reading, "MAX_REFERENCES", 2)
    facts, clean = indexed_facts(read(SOURCE), 1 << 20)
    assert not clean and len(facts.references) == 2
    assert facts.problems == ("only the first 2 references indexed",)
    assert wire.decode(file_facts(read(SOURCE), 1 << 20)[0]) == facts


def test_from_wire_hashes_the_source_once_and_never_an_unreadable_one():
    sent = FileUpdate.from_wire("a.py", len(SOURCE), 5, SOURCE, SENT)
    assert (sent.path, sent.size, sent.mtime_ns, sent.source) == ("a.py", len(SOURCE), 5, SOURCE)
    assert sent.sha256 == hashlib.sha256(SOURCE).digest()
    assert FileUpdate.from_wire("e.py", 0, 5, b"", SENT).sha256 == hashlib.sha256(b"").digest()  # empty, readable
    assert FileUpdate.from_wire("u.py", 9, 5, b"", UNREADABLE_SENT).sha256 == NO_CONTENT


def test_the_owners_own_parse_reuses_the_read_and_its_hash(tmp_path):
    (tmp_path / "m.py").write_bytes(SOURCE)
    expected = hashlib.sha256(SOURCE).digest()
    update = disk.parsed(Tree(str(tmp_path)), "m.py", expected, 1 << 20)
    assert update is not None and update.sha256 == expected and update.facts == wire.decode(COLUMNS)
    assert disk.parsed(Tree(str(tmp_path)), "m.py", b"other" * 6, 1 << 20) is None  # changed since the plan
    written = disk.from_bytes("m.py", SOURCE, len(SOURCE), 3, 1 << 20)
    assert written == FileUpdate("m.py", len(SOURCE), 3, SOURCE, expected, update.facts)
    item, text, clean = disk.reread(Tree(str(tmp_path)), "m.py", expected, 1 << 20)
    assert (item.sha256, text, clean) == (expected, COLUMNS, True)


def sent_with(**changes) -> str:
    facts = json.loads(SENT)
    facts.update(changes)
    return json.dumps({k: v for k, v in facts.items() if v is not DROP})


DROP = object()
DEF = ["f", "f", "function", 1, 0, 2, [], [], "()", None, None]
IMP = ["os", None, None, 0, 1, 7]
REF = ["os.sep", "attribute", 3, 4, "f"]


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    ("[]", "must be an object with keys"),
    (sent_with(references=DROP), "must be an object with keys"),
    (sent_with(extra=1), "unknown keys: extra"),
    (sent_with(parsed=1), "parsed must be true or false"),
    (sent_with(unreadable=None), "unreadable must be true or false"),
    (sent_with(encoding=8), "encoding must be a string or null"),
    (sent_with(docstring=["x"]), "docstring must be a string or null"),
    (sent_with(problems="oops"), "problems must be a list of strings"),
    (sent_with(problems=["ok", 3]), "problems must be a list of strings"),
    (sent_with(definitions={}), "definitions must be a list"),
    (sent_with(definitions=[DEF[:-1]]), r"definitions\[0\] must be \[qualname"),
    (sent_with(definitions=[[*DEF, None]]), r"definitions\[0\]"),
    (sent_with(definitions=[DEF, "f"]), r"definitions\[1\]"),
    (sent_with(definitions=[{**dict(enumerate(DEF))}]), r"definitions\[0\]"),
    (sent_with(definitions=[[*DEF[:3], "1", *DEF[4:]]]), r"definitions\[0\]"),        # line as a string
    (sent_with(definitions=[[*DEF[:3], True, *DEF[4:]]]), r"definitions\[0\]"),       # line as a boolean
    (sent_with(definitions=[[*DEF[:3], 1.0, *DEF[4:]]]), r"definitions\[0\]"),        # line as a float
    (sent_with(definitions=[[*DEF[:3], 1 << 63, *DEF[4:]]]), r"definitions\[0\]"),    # beyond SQLite's integers
    (sent_with(definitions=[[*DEF[:6], [1], *DEF[7:]]]), r"definitions\[0\]"),        # a decorator not a string
    (sent_with(definitions=[[*DEF[:7], "B", *DEF[8:]]]), r"definitions\[0\]"),        # bases not a list
    (sent_with(definitions=[[None, *DEF[1:]]]), r"definitions\[0\]"),                 # qualname null
    (sent_with(imports=[IMP[:5]]), r"imports\[0\] must be \[module, name or null"),
    (sent_with(imports=[[*IMP[:1], 5, *IMP[2:]]]), r"imports\[0\]"),
    (sent_with(imports=[[*IMP[:3], None, *IMP[4:]]]), r"imports\[0\]"),               # level null
    (sent_with(imports=[[*IMP[:5], -(1 << 63) - 1]]), r"imports\[0\]"),
    (sent_with(references=[REF, REF[:4]]),
     r"references\[1\] must be \[name, kind \(name, attribute or call\), line, column, scope\]"),
    (sent_with(references=[[REF[0], "import", *REF[2:]]]), r"references\[0\]"),    # not a reference's kind
    (sent_with(references=[[REF[0], "Call", *REF[2:]]]), r"references\[0\]"),
    (sent_with(references=[[*REF[:4], None]]), r"references\[0\]"),
    (sent_with(references=[[*REF[:2], "3", *REF[3:]]]), r"references\[0\]"),
    (sent_with(references=[[*REF[:3], 1 << 64, *REF[4:]]]), r"references\[0\]"),
    (sent_with(references=[[*REF, "extra"]]), r"references\[0\]"),
    (sent_with(bindings=[["", "x", "import", "^x", 1]]), r"bindings\[0\] must be \[scope, name, kind, value"),
    (sent_with(bindings=[["", "x", "import", None, 1, 0]]), r"bindings\[0\]"),
    (sent_with(uses=[["x", "^x", "name", 1, 0, ""]]),
     r"uses\[0\] must be \[key, expr, kind \(name, attribute, call or import\), line"),
    (sent_with(uses=[["x", "^x", "name", 1, 1 << 63, "", "x"]]), r"uses\[0\]"),
    (sent_with(uses=[["x", "^x", "read", 1, 0, "", "x"]]), r"uses\[0\]"),            # not a use's kind
])
def test_malformed_facts_are_refused_with_a_reason(text, message):
    with pytest.raises(wire.BadFacts, match=message):
        wire.decode(text)


def columns_with(**changes) -> str:
    facts = json.loads(COLUMNS)
    facts.update(changes)
    return json.dumps({k: v for k, v in facts.items() if v is not DROP})


# The references of COLUMNS, column by column: name, kind, line, column, scope.
NAMES, KINDS, LINES, COLS, SCOPES = json.loads(COLUMNS)["references"]


@pytest.mark.parametrize("text, message", [
    (columns_with(form=3), "form must be 2"),
    (columns_with(form="2"), "form must be 2"),
    (columns_with(form=2.0), "form must be 2"),
    (sent_with(strings=[]), "strings come only with form 2"),
    (columns_with(strings=DROP), "strings must be a list of strings"),
    (columns_with(strings=["a", 1]), "strings must be a list of strings"),
    (columns_with(references=DROP), "must be an object with keys"),
    (columns_with(bindings=DROP), r"bindings must be 6 columns of equal length, \[scope\], \[name\]"),
    (columns_with(references={}), "references must be 5 columns"),
    (columns_with(references=[NAMES, KINDS, LINES, COLS]), "references must be 5 columns"),
    (columns_with(references=[NAMES, KINDS, LINES[:-1], COLS, SCOPES]), "of equal length"),
    (columns_with(references=[NAMES, KINDS, LINES, COLS, "x"]), "references must be 5 columns"),
    (columns_with(references=[NAMES, KINDS, [*LINES[:-1], "3"], COLS, SCOPES]),
     "references column 2 must hold only integers"),
    (columns_with(references=[NAMES, KINDS, [*LINES[:-1], True], COLS, SCOPES]), "column 2 must hold only integers"),
    (columns_with(references=[NAMES, KINDS, [*LINES[:-1], 3.0], COLS, SCOPES]), "column 2 must hold only integers"),
    (columns_with(references=[NAMES, KINDS, LINES, [*COLS[:-1], 1 << 63], SCOPES]),
     "references column 3 must hold integers SQLite can store"),
    (columns_with(references=[[*NAMES[:-1], 27], KINDS, LINES, COLS, SCOPES]),
     r"references column 0 must hold numbers of strings \(0 to 26\)"),
    (columns_with(references=[[*NAMES[:-1], -1], KINDS, LINES, COLS, SCOPES]), "column 0 must hold numbers of strings"),
    (columns_with(references=[NAMES, [*KINDS[:-1], 15], LINES, COLS, SCOPES]),   # 15: "import", not a reference's
     "references hold a kind other than attribute, call, name: \\[\"import\"\\]"),
    (columns_with(references=[NAMES, [*KINDS[:-1], 0], LINES, COLS, SCOPES]), "references hold a kind other than"),
    (columns_with(uses=[[0], [0], [0], [1], [0], [0], [0]]),
     "uses hold a kind other than attribute, call, import, name"),
    (columns_with(nodes=-1), r"nodes must be a count \(an integer from 0 to 9223372036854775807\) or missing"),
    (columns_with(nodes=1 << 63), "nodes must be a count"),
    (columns_with(nodes=True), "nodes must be a count"),
    (columns_with(nodes=33.0), "nodes must be a count"),
    (columns_with(nodes="33"), "nodes must be a count"),
    (columns_with(nodes=None), "nodes must be a count"),  # missing, not null
])
def test_malformed_columns_are_refused_with_a_reason(text, message):
    with pytest.raises(wire.BadFacts, match=message):
        wire.decode(text)


def test_columns_at_the_limits_are_accepted():
    facts = wire.decode(columns_with(strings=["x", "name", ""],
                                     references=[[0], [1], [(1 << 63) - 1], [-(1 << 63)], [2]],
                                     bindings=[[]] * 6, uses=[[]] * 7))
    assert facts.references == (Reference("x", "name", (1 << 63) - 1, -(1 << 63), ""),)
    assert facts.bindings == facts.uses == ()
    empty = wire.decode(columns_with(strings=[], references=[[]] * 5, bindings=[[]] * 6, uses=[[]] * 7))
    assert empty.references == empty.bindings == empty.uses == ()
    assert wire.decode(columns_with(nodes=0)).nodes == 0
    assert wire.decode(columns_with(nodes=(1 << 63) - 1)).nodes == (1 << 63) - 1


def test_the_reason_shows_the_offending_row_briefly():
    with pytest.raises(wire.BadFacts) as caught:
        wire.decode(sent_with(references=[[*REF[:4], "x" * 10_000, 1]]))
    assert len(str(caught.value)) < 400 and str(caught.value).endswith("...")


def test_rows_at_the_limits_are_accepted():
    big, small = (1 << 63) - 1, -(1 << 63)
    facts = wire.decode(sent_with(definitions=[[*DEF[:3], big, small, big, ["d"], ["b"], "()", "doc", "p"]],
                                  imports=[["", "*", None, 2, 1, 0], ["m", None, "a", 0, 1, 0]],
                                  references=[["x", "name", 1, 0, ""]], unreadable=False))
    assert facts.definitions[0].line == big and facts.definitions[0].decorators == ("d",)
    assert [i.name for i in facts.imports] == ["*", None]

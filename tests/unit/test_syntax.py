from codeanalysisd.index.syntax import EXACT, verdict


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

import logging

from codeanalysisd import journal


def test_priorities():
    assert journal.priority_of(logging.CRITICAL) == 2
    assert journal.priority_of(logging.ERROR) == 3
    assert journal.priority_of(logging.WARNING) == 4
    assert journal.priority_of(journal.NOTICE) == 5
    assert journal.priority_of(logging.INFO) == 6
    assert journal.priority_of(logging.DEBUG) == 7


def test_field_encoding_plain_and_binary_safe():
    assert journal._field("MESSAGE", "hello") == b"MESSAGE=hello\n"
    # a value with a newline uses the length-prefixed form of the native protocol
    assert journal._field("MESSAGE", "a\nb") == b"MESSAGE\n" + (3).to_bytes(8, "little") + b"a\nb\n"
    assert journal._field("CODEANALYSIS_PATH", "/p/\udcff.py").startswith(b"CODEANALYSIS_PATH=/p/")

"""Stored contents: packed, and read back byte for byte, whichever form a database holds."""

from hypothesis import given
from hypothesis import strategies as st

from codeanalysisd.db import packing


@given(st.binary(max_size=4096))
def test_a_packed_content_reads_back_byte_for_byte(data):
    assert packing.unpack(packing.pack(data)) == data
    assert packing.unpack_any(packing.pack(data)) == data


def test_source_packs_to_a_fraction_of_its_size():
    source = b"".join(b"def f_%d(x):\n    return x + %d\n\n" % (i, i) for i in range(500))
    assert len(packing.pack(source)) < len(source) / 3


def test_plain_bytes_from_before_packing_read_as_they_are():
    plain = b"import os\nprint(os.getcwd())\n"
    assert packing.unpack_any(plain) == plain

"""Columns of integers and texts packed into one blob (db/int_columns.py): every width, the
empty cases, the layout's size, and what cannot be packed or unpacked named as such."""

import random

import pytest

from codeanalysisd.db import int_columns
from codeanalysisd.db.int_columns import DEFLATE_OVER, DEFLATED, PackError, compact, pack, plain, unpack


@pytest.mark.parametrize("seed", range(20))
def test_random_columns_and_texts_come_back_as_they_went_in(seed):
    rnd = random.Random(seed)
    length = rnd.choice([0, 1, 2, 7, 300])
    columns = [[rnd.randrange(top) for _ in range(length)]
               for top in rnd.choices([1, 2, 256, 257, 1 << 16, (1 << 16) + 1, 1 << 32], k=rnd.randrange(8))]
    texts = [rnd.choice(["", "os.path", "née", "self", "x" * 300, "日本"]) for _ in range(rnd.randrange(5))]
    blob = pack(columns, texts)
    assert unpack(blob) == (columns, texts)
    assert int_columns.length(blob) == (length if columns else 0)


@pytest.mark.parametrize(("top", "width"), [(0, 0), (255, 1), (256, 2), (65535, 2), (65536, 4), ((1 << 32) - 1, 4)])
def test_each_column_takes_the_width_its_largest_value_needs(top, width):
    columns = [[0] * 10, [top] * 10]
    # one byte of columns, the length, one byte of widths, the values, no texts
    assert len(pack(columns)) == 1 + 1 + 1 + 10 * width + 1
    assert unpack(pack(columns)) == (columns, [])


def test_one_occurrence_of_six_columns_takes_a_few_bytes_of_header():
    blob = pack([[812], [1044], [8], [0], [0], [1]], ["self"])
    # 6 columns, length 1, two bytes of widths; 2 + 2 + 1 + 1 bytes of values; one text of 4 bytes
    assert len(blob) == 1 + 1 + 2 + 6 + 1 + 1 + 1 + 4
    assert unpack(blob) == ([[812], [1044], [8], [0], [0], [1]], ["self"])


@pytest.mark.parametrize(("columns", "message"), [
    ([[1, -1]], r"out of \[0, 2\*\*32\)"),
    ([[0, -1]], "negative"),
    ([[1 << 32]], r"out of \[0, 2\*\*32\)"),
    ([[300, -1]], r"out of \[0, 2\*\*32\)"),
    ([[1, 2], [3]], "different lengths"),
    ([[0]] * 255, "at most 254"),
])
def test_what_cannot_be_packed_is_refused_by_name(columns, message):
    with pytest.raises(PackError, match=message):
        pack(columns)


@pytest.mark.parametrize("cut", [1, 3, 8, -1])
def test_a_blob_cut_short_or_with_bytes_after_it_is_refused_by_name(cut):
    blob = pack([[1, 300, 70000], [5, 6, 7]], ["a", "bc"])
    with pytest.raises(PackError):
        unpack(blob[:cut] if cut > 0 else blob + b"\0")
    with pytest.raises(PackError):
        unpack(b"")
    with pytest.raises(PackError):
        int_columns.length(b"\x01")


def test_the_texts_alone_are_read_past_columns_of_every_width():
    columns = [[0, 0], [1, 255], [256, 3], [1 << 16, 5]]
    blob = pack(columns, ["os.path", "", "née"])
    assert unpack(blob, False) == ([], ["os.path", "", "née"])
    assert unpack(pack(columns), False) == ([], [])


def test_one_column_is_read_past_columns_of_every_width():
    columns = [[0, 0, 0], [1, 255, 7], [256, 3, 9], [1 << 16, 5, 0], [4, 0, 2]]
    blob = pack(columns, ["a"])
    assert [int_columns.column(blob, n) for n in range(len(columns))] == columns
    with pytest.raises(PackError, match="no column 5"):
        int_columns.column(blob, 5)


def test_a_long_packing_is_kept_deflated_and_read_as_a_plain_one():
    # a name's occurrences: lines close together, the same kind and scope
    columns = [list(range(0, 600, 3)), list(range(100, 300)), [4] * 200, [0] * 200, [7] * 200]
    blob = pack(columns, ["os.path"])
    assert blob[0] == DEFLATED and len(blob) < len(plain(blob)) * 0.6
    assert unpack(blob) == (columns, ["os.path"])
    assert unpack(blob, False) == ([], ["os.path"])
    assert [int_columns.column(blob, n) for n in range(len(columns))] == columns
    assert int_columns.length(blob) == 200
    assert compact(blob) == blob and compact(plain(blob)) == blob


def test_a_short_packing_or_one_that_does_not_shrink_stays_plain():
    short = pack([[1, 2, 3]], ["x"])
    assert len(short) <= DEFLATE_OVER and short[0] != DEFLATED and plain(short) == short
    rnd = random.Random(0)
    noise = pack([[rnd.randrange(1 << 32) for _ in range(100)]])
    assert len(noise) > DEFLATE_OVER and noise[0] != DEFLATED
    assert unpack(noise)[0][0] == unpack(plain(noise))[0][0]


def test_a_deflated_packing_cut_short_is_refused_by_name():
    blob = pack([list(range(300)), [5] * 300])
    assert blob[0] == DEFLATED
    for broken in (blob[:len(blob) // 2], bytes((DEFLATED,)) + b"not deflate", bytes((DEFLATED,))):
        with pytest.raises(PackError):
            unpack(broken)
        with pytest.raises(PackError):
            int_columns.column(broken, 0)
        with pytest.raises(PackError):
            int_columns.length(broken)

"""Columns of non-negative integers, all of one length, and a few texts, packed into one blob:
how a file's occurrences of one name are kept in one row (``name_rows.py``).

Each column is stored at the width its largest value needs (1, 2 or 4 bytes a value), and a
column of zeros takes no byte: most of a name's occurrences are of the first kind and at
module level, both numbered 0. ``bytes`` and ``array`` convert a whole column in C, so
packing costs a few Python operations a column rather than a loop over its values (there is
a blob per name of every file indexed). The header is a few bytes, since most blobs are
small (two in five names of a file occur in it once). Values are little-endian on every
machine, so a database file moves between them as SQLite's own format does.

The layout: the number of columns (one byte); their length (a varint); each column's width,
two bits a column (0: all zeros, 1, 2 or 4 bytes a value), four to a byte; the columns'
values, one column after the other; the number of texts (a varint), and if there are any,
their lengths in bytes as one more column (its width a byte of its own), then the texts,
UTF-8, one after the other.

A packing longer than DEFLATE_OVER bytes is kept deflated (raw DEFLATE, no zlib header)
behind a first byte of DEFLATED, when that is shorter: the numbers of a name's occurrences
repeat (lines close together, the same few kinds and scopes), and a long row also costs
SQLite a page of its own past about a thousand bytes (the largest a row of a table keyed
by its columns keeps in its page), mostly left empty.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Sequence

# The array type code of each width (B and H are 1 and 2 bytes wherever Python runs; which
# of I and L is 4 is the platform's).
_CODES: dict[int, str] = {array(code).itemsize: code for code in "LIHB" if array(code).itemsize <= 4}
_WIDTH_OF_CODE = (0, 1, 2, 4)
_SWAP = sys.byteorder == "big"
# For each byte of widths' codes: the bytes a value of its four columns takes together, and
# of its first 0, 1, 2 and 3 columns.
_PART_WIDTHS = [[sum(_WIDTH_OF_CODE[(byte >> (2 * n)) & 3] for n in range(part)) for part in range(5)]
                for byte in range(256)]
_BYTE_WIDTHS = [parts[4] for parts in _PART_WIDTHS]
MAX_COLUMNS = 254
# The first byte of a deflated packing, where a plain one has its number of columns.
DEFLATED = 0xFF
# Packings up to this many bytes are kept plain: shorter ones rarely shrink by much, and
# most rows are short (bench/deflated_names.py).
DEFLATE_OVER = 128


class PackError(ValueError):
    """A blob that is not a packing of columns, or values that cannot be packed."""


def pack(columns: Sequence[Sequence[int]], texts: Sequence[str] = ()) -> bytes:
    """``columns`` (at most 254, of one length, each of integers in [0, 2**32)) and ``texts`` as one blob."""
    # Written for speed (a blob per name and file of every file indexed): no call per column
    # but the C functions that check and convert it.
    if len(columns) > MAX_COLUMNS:
        raise PackError(f"{len(columns)} columns: at most {MAX_COLUMNS}")
    if len(set(map(len, columns))) > 1:
        raise PackError("columns of different lengths")
    out = bytearray((len(columns),))
    _varint(out, len(columns[0]) if columns else 0)
    codes = 0
    values = []
    try:
        for n, column in enumerate(columns):
            code, packed = _column(column)
            codes |= code << (2 * n)
            values.append(packed)
    except (ValueError, OverflowError) as exc:
        raise PackError(f"a value out of [0, 2**32) in a column: {exc}") from exc
    out += codes.to_bytes((len(columns) + 3) // 4, "little")
    out += b"".join(values)
    _varint(out, len(texts))
    if texts:
        encoded = [text.encode() for text in texts]
        code, packed = _column([len(data) for data in encoded])
        out.append(code)
        out += packed
        out += b"".join(encoded)
    return compact(bytes(out))


def compact(blob: bytes) -> bytes:
    """A packing as ``pack`` keeps it: deflated if longer than DEFLATE_OVER bytes and shorter
    so; a deflated one as it is."""
    if len(blob) <= DEFLATE_OVER or blob[0] == DEFLATED:
        return blob
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    deflated = packer.compress(blob) + packer.flush()
    return bytes((DEFLATED,)) + deflated if len(deflated) + 1 < len(blob) else blob


def plain(blob: bytes) -> bytes:
    """A packing as ``pack`` laid it out, inflated if it was kept deflated."""
    if not blob or blob[0] != DEFLATED:
        return blob
    try:
        return zlib.decompress(blob[1:], -15)
    except zlib.error as exc:
        raise PackError(f"not a deflated packing of columns: {exc}") from exc


def _column(column: Sequence[int]) -> tuple[int, bytes]:
    """(the width's code, the values packed); a value out of range raises ValueError or OverflowError."""
    high = max(column, default=0)
    if high < 1 << 8:
        if high == 0:
            if column and min(column) < 0:
                raise ValueError(f"a negative value ({min(column)})")
            return 0, b""
        return 1, bytes(column)
    code = 2 if high < 1 << 16 else 3
    values = array(_CODES[_WIDTH_OF_CODE[code]], column)
    if _SWAP:
        values.byteswap()
    return code, values.tobytes()


def unpack(blob: bytes, columns_too: bool = True) -> tuple[list[list[int]], list[str]]:
    """The inverse of ``pack``: (the columns, the texts); ``columns_too`` False: the texts
    alone (no column), their columns passed over unread."""
    view = memoryview(plain(blob))
    try:
        count = view[0]
        length, at = _read_varint(view, 1)
        codes = [(view[at + n // 4] >> (2 * (n % 4))) & 3 for n in range(count)]
        at += (count + 3) // 4
        columns = []
        if columns_too:
            for code in codes:
                column, at = _read_column(view, at, code, length)
                columns.append(column)
        else:
            at += length * sum(_WIDTH_OF_CODE[code] for code in codes)
        texts: list[str] = []
        number, at = _read_varint(view, at)
        if number:
            lengths, at = _read_column(view, at + 1, view[at], number)
            for size in lengths:
                texts.append(str(view[at:at + size], "utf-8"))
                at += size
    except (IndexError, UnicodeDecodeError) as exc:
        raise PackError(f"not a packing of columns: {exc}") from exc
    if at != len(view):
        raise PackError(f"{len(view) - at} bytes after the texts")
    return columns, texts


def column(blob: bytes, index: int) -> list[int]:
    """One column of a packing, the others passed over unread."""
    # Written for speed: a call graph reads one column of every row of a file's uses.
    blob = plain(blob)
    try:
        count, length, at = blob[0], blob[1], 2
        if length >= 0x80:
            length, at = _read_varint(memoryview(blob), 1)
        if not 0 <= index < count:
            raise PackError(f"no column {index} of {count}")
        whole, part = divmod(index, 4)
        width = sum(_BYTE_WIDTHS[byte] for byte in blob[at:at + whole]) + _PART_WIDTHS[blob[at + whole]][part]
        code = (blob[at + whole] >> (2 * part)) & 3
        return _read_column(memoryview(blob), at + (count + 3) // 4 + length * width, code, length)[0]
    except IndexError as exc:
        raise PackError(f"not a packing of columns: {exc}") from exc


def length(blob: bytes) -> int:
    """The columns' length, read without unpacking them."""
    try:
        return _read_varint(memoryview(plain(blob)), 1)[0]
    except IndexError as exc:
        raise PackError(f"not a packing of columns: {exc}") from exc


def _read_column(view: memoryview, at: int, code: int, length: int) -> tuple[list[int], int]:
    if code == 0:
        return [0] * length, at
    if code > 3:
        raise PackError(f"a column's width code {code}")
    end = at + length * _WIDTH_OF_CODE[code]
    if end > len(view):
        raise PackError(f"a column of {length} values past the end of {len(view)} bytes")
    values = array(_CODES[_WIDTH_OF_CODE[code]])
    values.frombytes(view[at:end])
    if _SWAP:
        values.byteswap()
    return values.tolist(), end


def _varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _read_varint(view: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = view[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7

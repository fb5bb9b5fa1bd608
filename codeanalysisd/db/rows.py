"""Reading the one value of a statement that always yields one row.

apsw cannot know what a statement selects: it types ``fetchone()`` as ``Any | None`` and a
row's values as any SQLite value. Where a statement's columns are known, the reading site
says so, with a ``cast`` to the row type the schema gives (beside the statement); the
helpers here cover the rows every module reads the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import apsw

# Rows one INSERT of insert_many writes at most.
ROWS_PER_INSERT = 256


def _first_int(cursor: apsw.Cursor, statement: str) -> int:
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"{statement} returned no row")
    return int(row[0])


def returned_id(cursor: apsw.Cursor) -> int:
    """The id an ``INSERT ... RETURNING id`` gives: one row, always."""
    return _first_int(cursor, "INSERT ... RETURNING id")


def single_int(cursor: apsw.Cursor) -> int:
    """The integer an aggregate (``count(*)``, ``coalesce(sum(...), 0)``) or a pragma
    (``user_version``) yields: one row, always."""
    return _first_int(cursor, "an aggregate or pragma")


def insert_many(db: apsw.Connection, into: str, rows: Sequence[tuple[apsw.SQLiteValue, ...]]) -> None:
    """INSERT INTO ``into`` (a table and its columns) every row, ROWS_PER_INSERT to a statement."""
    if not rows:
        return
    width = len(rows[0])
    one = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(rows), ROWS_PER_INSERT):
        part = rows[start:start + ROWS_PER_INSERT]
        db.execute(f"INSERT INTO {into} VALUES " + ", ".join([one] * len(part)),
                   [value for row in part for value in row])


@contextlib.contextmanager
def one_read(db: apsw.Connection) -> Iterator[None]:
    """The statements inside read one state of the database: in a transaction of their own,
    unless one is open already (whose state they then read)."""
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")

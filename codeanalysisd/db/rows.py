"""Reading the one value of a statement that always yields one row.

apsw cannot know what a statement selects: it types ``fetchone()`` as ``Any | None`` and a
row's values as any SQLite value. Where a statement's columns are known, the reading site
says so, with a ``cast`` to the row type the schema gives (beside the statement); the
helpers here cover the rows every module reads the same way.
"""

from __future__ import annotations

import apsw


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

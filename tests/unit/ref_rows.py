"""Every reference and every use of the index as a row of its own (``name_rows.REF_COLUMNS``,
``USE_ROW_COLUMNS``), unpacked from ``refs``' and ``uses``' rows per file and name: what the
tests compare against, and what an undo of migrations.PACKED_REFS or PACKED_USES writes back."""

import apsw

from codeanalysisd.db import name_rows


def reference_rows(db: apsw.Connection, file_id: int | None = None) -> list[tuple]:
    """(file_id, seq, last, qualifier, kind, line, col, scope) of every reference (of one
    file), in (file, seq) order."""
    packed = db.execute("SELECT file_id, last, occurrences FROM refs" + ("" if file_id is None else
                        " WHERE file_id = ?"), () if file_id is None else (file_id,)).fetchall()
    return sorted((file, seq, last, qualifier, kind, line, col, scope) for file, last, blob in packed
                  for seq, qualifier, kind, line, col, scope in name_rows.occurrences(blob))


def use_rows(db: apsw.Connection, file_id: int | None = None) -> list[tuple]:
    """(file_id, seq, key, head, expr_tail, kind, line, col, scope, text, text_tail) of every
    use (of one file), in (file, seq) order."""
    packed = db.execute("SELECT file_id, key, occurrences FROM uses" + ("" if file_id is None else
                        " WHERE file_id = ?"), () if file_id is None else (file_id,)).fetchall()
    return sorted((file, seq, key, *rest) for file, key, blob in packed
                  for seq, *rest in name_rows.use_occurrences(key, blob))

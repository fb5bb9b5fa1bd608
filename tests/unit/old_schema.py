"""Databases as an earlier version left them, for the tests of an upgrade in place."""

import zlib

import apsw


def undo_packed_blobs(db: apsw.Connection) -> None:
    """What the migration that packed the index's copies of contents (migrations.PACKED_BLOBS)
    changed, taken back: every blob's bytes stored plain."""
    for sha256, data in db.execute("SELECT sha256, data FROM blobs").fetchall():
        db.execute("UPDATE blobs SET data = ? WHERE sha256 = ?", (zlib.decompress(data), sha256))


# What the migration that found names through their files (migrations.NAME_FILES) changed,
# taken back with the rows: refs and uses clustered by file and position, each occurrence
# indexed by name.
UNDO_NAME_FILES = """
    DROP TRIGGER files_names_delete; DROP TABLE ref_files; DROP TABLE use_files;
    CREATE TABLE refs_14 (
        file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        seq       INTEGER NOT NULL,
        last      TEXT NOT NULL,
        qualifier TEXT,
        kind      INTEGER NOT NULL,
        line      INTEGER NOT NULL,
        col       INTEGER NOT NULL,
        scope     INTEGER NOT NULL,
        PRIMARY KEY (file_id, seq)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO refs_14 SELECT file_id, seq, last, qualifier, kind, line, col, scope FROM refs;
    CREATE TABLE uses_14 (
        file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        seq       INTEGER NOT NULL,
        key       TEXT NOT NULL,
        expr      TEXT NOT NULL,
        expr_tail INTEGER NOT NULL,
        kind      INTEGER NOT NULL,
        line      INTEGER NOT NULL,
        col       INTEGER NOT NULL,
        scope     INTEGER NOT NULL,
        text      TEXT NOT NULL,
        text_tail INTEGER NOT NULL,
        PRIMARY KEY (file_id, seq)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO uses_14 SELECT file_id, seq, key, expr, expr_tail, kind, line, col, scope, text, text_tail FROM uses;
    DROP TABLE refs; DROP TABLE uses;
    ALTER TABLE refs_14 RENAME TO refs; ALTER TABLE uses_14 RENAME TO uses;
    CREATE INDEX refs_by_last ON refs(last);
    CREATE INDEX uses_by_key ON uses(key);
"""

# What the migration that indexed definitions by file and name (migrations.FILE_NAMES) added.
UNDO_FILE_NAMES = "DROP INDEX definitions_by_file_name;"

# What the migration after header chunks (migrations.DEFINITION_SEARCH) added, taken away again.
UNDO_DEFINITION_SEARCH = """
    DROP TRIGGER definitions_named; DROP TRIGGER definitions_unnamed; DROP TRIGGER definitions_renamed;
    DROP TABLE definition_names; DROP INDEX definitions_by_file_line;
    CREATE INDEX definitions_by_file ON definitions(file_id);
"""

# What the migration that made the name occurrences' rows compact (migrations.COMPACT_NAMES)
# changed, taken back with the rows: the tables of schema 11, each row's columns spelled out
# again, in the order the rows were written.
UNDO_COMPACT_NAMES = """
    CREATE TABLE refs_11 (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        name    TEXT NOT NULL,
        last    TEXT NOT NULL,
        kind    TEXT NOT NULL,
        line    INTEGER NOT NULL,
        col     INTEGER NOT NULL,
        scope   TEXT NOT NULL
    ) STRICT;
    INSERT INTO refs_11 (file_id, name, last, kind, line, col, scope)
        SELECT r.file_id, iif(r.qualifier IS NULL, r.last, r.qualifier || '.' || r.last), r.last,
               CASE r.kind WHEN 0 THEN 'name' WHEN 1 THEN 'attribute' WHEN 2 THEN 'call' ELSE 'import' END,
               r.line, r.col, s.qualname
        FROM refs r JOIN scopes s ON s.file_id = r.file_id AND s.id = r.scope ORDER BY r.file_id, r.seq;
    CREATE TABLE uses_11 (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        key     TEXT NOT NULL,
        expr    TEXT NOT NULL,
        kind    TEXT NOT NULL,
        line    INTEGER NOT NULL,
        col     INTEGER NOT NULL,
        scope   TEXT NOT NULL,
        text    TEXT NOT NULL
    ) STRICT;
    INSERT INTO uses_11 (file_id, key, expr, kind, line, col, scope, text)
        SELECT file_id, key, expr, kind, line, col, scope, head || substr(expr, length(expr) - tail + 1)
        FROM (SELECT u.file_id, u.seq, u.key, u.expr || substr(u.key, length(u.key) - u.expr_tail + 1) AS expr,
                     CASE u.kind WHEN 0 THEN 'name' WHEN 1 THEN 'attribute' WHEN 2 THEN 'call' ELSE 'import' END
                     AS kind, u.line, u.col, s.qualname AS scope, u.text AS head, u.text_tail AS tail
              FROM uses u JOIN scopes s ON s.file_id = u.file_id AND s.id = u.scope)
        ORDER BY file_id, seq;
    DROP TABLE refs; DROP TABLE uses; DROP TABLE scopes;
    ALTER TABLE refs_11 RENAME TO refs; ALTER TABLE uses_11 RENAME TO uses;
    CREATE INDEX refs_by_file ON refs(file_id);
    CREATE INDEX refs_by_last ON refs(last);
    CREATE INDEX uses_by_key ON uses(key);
    CREATE INDEX uses_by_file ON uses(file_id);
"""


def undo_window_texts(db: apsw.Connection) -> None:
    """What the migration that took the windows' text out of the full-text index
    (migrations.WINDOW_TEXTS) changed, taken back: FTS5 keeping each window's text itself."""
    texts = [(chunk, zlib.decompress(packed).decode()) for chunk, packed in
             db.execute("SELECT chunk, packed FROM window_texts").fetchall()]
    db.execute("""
        DROP TRIGGER text_chunks_delete; DROP TABLE window_texts; DROP TABLE fts;
        CREATE VIRTUAL TABLE fts USING fts5(text, tokenize = "unicode61 tokenchars '_'");
        CREATE TRIGGER text_chunks_delete AFTER DELETE ON text_chunks BEGIN
            DELETE FROM fts WHERE rowid = old.id;
        END;
    """)
    db.executemany("INSERT INTO fts (rowid, text) VALUES (?, ?)", texts)


# What the migration that numbered a use's expression per file (migrations.USE_HEADS) changed,
# taken back with the rows: the head as text on every row.
UNDO_USE_HEADS = """
    CREATE TABLE uses_16 (
        file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        seq       INTEGER NOT NULL,
        key       TEXT NOT NULL,
        expr      TEXT NOT NULL,
        expr_tail INTEGER NOT NULL,
        kind      INTEGER NOT NULL,
        line      INTEGER NOT NULL,
        col       INTEGER NOT NULL,
        scope     INTEGER NOT NULL,
        text      TEXT NOT NULL,
        text_tail INTEGER NOT NULL,
        PRIMARY KEY (file_id, key, seq)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO uses_16
        SELECT u.file_id, u.seq, u.key, h.head, u.expr_tail, u.kind, u.line, u.col, u.scope, u.text, u.text_tail
        FROM uses u JOIN use_heads h ON h.file_id = u.file_id AND h.id = u.head;
    DROP TRIGGER files_names_delete; DROP TABLE uses; DROP TABLE use_heads;
    ALTER TABLE uses_16 RENAME TO uses;
    CREATE TRIGGER files_names_delete BEFORE DELETE ON files BEGIN
        DELETE FROM ref_files WHERE file_id = old.id
            AND last IN (SELECT DISTINCT last FROM refs WHERE file_id = old.id);
        DELETE FROM use_files WHERE file_id = old.id
            AND key IN (SELECT DISTINCT key FROM uses WHERE file_id = old.id);
    END;
"""


def undo_packed(db: apsw.Connection, table: str, columns: str, rows: list[tuple]) -> None:
    """What migrations.PACKED_REFS or PACKED_USES changed, taken back: ``table`` with a row
    per occurrence (``columns``, its definition's lines), holding ``rows``."""
    from codeanalysisd.db import name_rows

    db.execute(f"CREATE TABLE {table}_unpacked ({columns}) STRICT, WITHOUT ROWID")
    if rows:
        db.executemany(f"INSERT INTO {table}_unpacked VALUES ({', '.join('?' * len(rows[0]))})", rows)
    name_rows.replace_table(db, table, f"{table}_unpacked")


REFS_17 = """
    file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    last      TEXT NOT NULL,
    qualifier TEXT,
    kind      INTEGER NOT NULL,
    line      INTEGER NOT NULL,
    col       INTEGER NOT NULL,
    scope     INTEGER NOT NULL,
    PRIMARY KEY (file_id, last, seq)
"""
USES_18 = """
    file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    key       TEXT NOT NULL,
    head      INTEGER NOT NULL,
    expr_tail INTEGER NOT NULL,
    kind      INTEGER NOT NULL,
    line      INTEGER NOT NULL,
    col       INTEGER NOT NULL,
    scope     INTEGER NOT NULL,
    text      TEXT NOT NULL,
    text_tail INTEGER NOT NULL,
    PRIMARY KEY (file_id, key, seq)
"""


def undo_deflated_names(db: apsw.Connection) -> None:
    """What migrations.DEFLATED_NAMES changed, taken back: every row of refs and uses plain."""
    from codeanalysisd.db import int_columns, name_rows

    for table, name, _ in name_rows.NAME_TABLES:
        rows = db.execute(f"SELECT file_id, {name}, occurrences FROM {table}").fetchall()
        db.executemany(f"UPDATE {table} SET occurrences = ? WHERE file_id = ? AND {name} = ?",
                       [(int_columns.plain(blob), file_id, key) for file_id, key, blob in rows])


def undo_chunk_keys(db: apsw.Connection) -> None:
    """What migrations.CHUNK_KEYS changed, taken back: every chunk's key the whole sha256 of
    its text again, and each vector's the key of its chunk."""
    import hashlib

    from codeanalysisd.db import stored_text
    from codeanalysisd.index import chunking

    whole: dict[bytes, bytes] = {}
    for chunk, file_id, start, end, head, key in db.execute(
            "SELECT id, file_id, start_line, end_line, head_line, key FROM chunks").fetchall():
        lines = stored_text.stored_lines(db, file_id, "packed")
        assert lines is not None
        text = chunking.chunk_text(lines, start, end, head).encode("utf-8", "surrogatepass")
        whole[key] = hashlib.sha256(text).digest()
        db.execute("UPDATE chunks SET key = ? WHERE id = ?", (whole[key], chunk))
    for embedding, key in db.execute("SELECT id, key FROM embeddings").fetchall():
        db.execute("UPDATE embeddings SET key = ? WHERE id = ?", (whole.get(key, key + bytes(16)), embedding))


def undo_window_dictionary(db: apsw.Connection) -> None:
    """What migrations.WINDOW_DICTIONARY changed, taken back: each window zlib-packed alone."""
    from codeanalysisd.db import packing, stored_text

    rows = db.execute("SELECT chunk, packed FROM window_texts").fetchall()
    db.executemany("UPDATE window_texts SET packed = ? WHERE chunk = ?",
                   [(packing.pack(stored_text.unpack_window(packed)), chunk) for chunk, packed in rows])


def undo_content_windows(db: apsw.Connection) -> None:
    """What migrations.CONTENT_WINDOWS changed, taken back: every content whole and packed in
    blobs, and each window's text packed on its own in window_texts, as schema 22 kept it."""
    from codeanalysisd.db import packing, stored_text

    contents = [(sha, size, packing.pack(stored_text.content(db, sha) or b""))
                for sha, size in db.execute("SELECT sha256, size FROM blobs").fetchall()]
    texts = [(chunk, stored_text.pack_window(stored_text.stored_window(db, chunk).encode()))
             for (chunk,) in db.execute("SELECT id FROM text_chunks").fetchall()]
    db.execute("""
        DROP TRIGGER blobs_delete; DROP TABLE blob_windows; DROP TABLE blobs;
        CREATE TABLE blobs (sha256 BLOB PRIMARY KEY, size INTEGER NOT NULL, data BLOB NOT NULL) STRICT;
        CREATE TABLE window_texts (chunk INTEGER PRIMARY KEY, packed BLOB NOT NULL) STRICT;
        DROP TRIGGER text_chunks_delete;
        CREATE TRIGGER text_chunks_delete AFTER DELETE ON text_chunks BEGIN
            DELETE FROM fts WHERE rowid = old.id;
            DELETE FROM window_texts WHERE chunk = old.id;
        END;
    """)
    db.executemany("INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?)", contents)
    db.executemany("INSERT INTO window_texts (chunk, packed) VALUES (?, ?)", texts)


def undo_definition_columns(db: apsw.Connection) -> None:
    """What migrations.DEFINITION_COLUMNS changed, taken back: each definition's parent kept
    again, and its bases, as the JSON list of none (nothing read them; the signature holds them)."""
    from codeanalysisd.index.facts import parent_of

    db.execute("ALTER TABLE definitions ADD COLUMN bases TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE definitions ADD COLUMN parent TEXT")
    rows = db.execute("SELECT id, qualname FROM definitions").fetchall()
    db.executemany("UPDATE definitions SET parent = ? WHERE id = ?", [(parent_of(q), i) for i, q in rows])


UNDO_WINDOW_CHANGES = """
    DROP TABLE window_changes;
    DROP TRIGGER text_chunks_delete;
    CREATE TRIGGER text_chunks_delete AFTER DELETE ON text_chunks BEGIN
        DELETE FROM fts WHERE rowid = old.id;
    END;
"""


def back_to(db: apsw.Connection, version: int) -> None:
    """The database as schema ``version`` left it: every migration after it that changed what
    an older version would read taken back, newest first, in one transaction, and
    ``user_version`` set to it."""
    from ref_rows import reference_rows, use_rows

    from codeanalysisd.db import migrations

    undo = {
        migrations.SYNTAX_NODES: lambda: db.execute("ALTER TABLE files DROP COLUMN nodes"),
        migrations.WINDOW_CHANGES: lambda: db.execute(UNDO_WINDOW_CHANGES),
        # The contents no file held that the migration let go are not brought back.
        migrations.CONTENTS_HELD: lambda: db.execute(
            "DROP TRIGGER files_content_replaced; DROP TRIGGER files_content_dropped; DROP INDEX files_by_content"),
        migrations.DEFINITION_COLUMNS: lambda: undo_definition_columns(db),
        migrations.CONTENT_WINDOWS: lambda: undo_content_windows(db),
        migrations.WINDOW_DICTIONARY: lambda: undo_window_dictionary(db),
        migrations.CHUNK_KEYS: lambda: undo_chunk_keys(db),
        migrations.DEFLATED_NAMES: lambda: undo_deflated_names(db),
        migrations.PACKED_USES: lambda: undo_packed(db, "uses", USES_18, use_rows(db)),
        migrations.PACKED_REFS: lambda: undo_packed(db, "refs", REFS_17, reference_rows(db)),
        migrations.USE_HEADS: lambda: db.execute(UNDO_USE_HEADS),
        migrations.WINDOW_TEXTS: lambda: undo_window_texts(db),
        migrations.NAME_FILES: lambda: db.execute(UNDO_NAME_FILES),
        migrations.PACKED_BLOBS: lambda: undo_packed_blobs(db),
        migrations.FILE_NAMES: lambda: db.execute(UNDO_FILE_NAMES),
        migrations.COMPACT_NAMES: lambda: db.execute(UNDO_COMPACT_NAMES),
        migrations.DEFINITION_SEARCH: lambda: db.execute(UNDO_DEFINITION_SEARCH),
    }
    with db:
        for later in sorted((v for v in undo if v > version), reverse=True):
            undo[later]()
    db.execute(f"PRAGMA user_version = {version}")

"""Versioned schema migrations, applied by the DB owner before it reports READY=1.

Each migration runs in its own IMMEDIATE transaction together with the bump of
``PRAGMA user_version``: it either applies completely or not at all, so a failed
migration leaves the previous schema intact and the owner refuses to start (the earlier
system recreated tables by rename and swallowed errors, and workers met "no such table").
Migrations are append-only: never edit one that has shipped, add the next.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import apsw

from codeanalysisd.db.rows import single_int

# The migration that added semantic search's chunks: files indexed before it get theirs
# from their stored rows when it is applied (Store.open).
CHUNKS = 6
# What files.structure says of a file whose bindings and uses were taken by this version of
# the extractor; a file indexed before has 0, and is indexed again (indexing.states).
STRUCTURE = 1
# The migration that added header chunks: every file is cut again inside it.
HEADER_CHUNKS = 10
# The migration that added the trigram index of definitions' names (sym:).
DEFINITION_SEARCH = 11
# The migration that made the name occurrences' rows compact (db/name_rows.py): every file's
# rows are written again inside it.
COMPACT_NAMES = 12
# The migration that added the index of definitions by file and name.
FILE_NAMES = 13
# The migration that packed the index's copy of every content (blobs), as the version store's.
PACKED_BLOBS = 14
# The migration that indexed names by file (ref_files, use_files) in place of by occurrence.
NAME_FILES = 15
# The migration that took the windows' text out of the full-text index, packed (window_texts).
WINDOW_TEXTS = 16
# The migration that numbered a use's expression per file (use_heads), as its scope is.
USE_HEADS = 17
# The migration that packed a file's references of a name into one row (name_rows.py).
PACKED_REFS = 18
# The migration that packed a file's uses of a key into one row, as its references are.
PACKED_USES = 19
# The migration that deflated the long rows of refs and uses (int_columns.DEFLATE_OVER).
DEFLATED_NAMES = 20
# The migration that cut the chunks' keys to half a sha256 (chunking.KEY_BYTES).
CHUNK_KEYS = 21
# The migration that packed the windows' text with a preset dictionary of Python.
WINDOW_DICTIONARY = 22
# The migration that kept each content as its windows (blob_windows), in place of a whole
# copy and a copy of each window's text.
CONTENT_WINDOWS = 23
# The migration that dropped what definitions kept twice: parent (the qualified name's) and bases.
DEFINITION_COLUMNS = 24
# The migration after which the index keeps a content only while a file holds it.
CONTENTS_HELD = 25
# The migration that logged every window written, for the memos of common words (common_words.py).
WINDOW_CHANGES = 26
# The migration that kept the count of each file's syntax nodes, the indexer's.
SYNTAX_NODES = 27


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "projects",
        """
        CREATE TABLE projects (
            id      TEXT PRIMARY KEY,
            name    TEXT NOT NULL,
            root    TEXT NOT NULL UNIQUE,
            state   TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'missing')),
            created REAL NOT NULL
        ) STRICT;
        """,
    ),
    Migration(
        2,
        "files",
        """
        CREATE TABLE files (
            id         INTEGER PRIMARY KEY,
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            path       TEXT NOT NULL,
            size       INTEGER NOT NULL,
            mtime_ns   INTEGER NOT NULL,
            sha256     BLOB NOT NULL,
            state      TEXT NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'deleted')),
            indexed_at REAL NOT NULL,
            UNIQUE (project_id, path)
        ) STRICT;
        CREATE INDEX files_by_state ON files(project_id, state);
        """,
    ),
    Migration(
        3,
        "index: sources, definitions, imports, references, full text",
        """
        -- Exact source bytes, stored once per distinct content (the version store builds on it).
        CREATE TABLE blobs (
            sha256 BLOB PRIMARY KEY,
            size   INTEGER NOT NULL,
            data   BLOB NOT NULL
        ) STRICT;
        ALTER TABLE files ADD COLUMN encoding TEXT;
        ALTER TABLE files ADD COLUMN parsed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE files ADD COLUMN problems TEXT NOT NULL DEFAULT '';
        ALTER TABLE files ADD COLUMN lines INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE files ADD COLUMN docstring TEXT;
        CREATE INDEX files_with_problems ON files(project_id) WHERE problems != '';
        CREATE TABLE definitions (
            id         INTEGER PRIMARY KEY,
            file_id    INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            qualname   TEXT NOT NULL,
            name       TEXT NOT NULL,
            kind       TEXT NOT NULL,
            line       INTEGER NOT NULL,
            col        INTEGER NOT NULL,
            end_line   INTEGER NOT NULL,
            decorators TEXT NOT NULL,
            bases      TEXT NOT NULL,
            signature  TEXT NOT NULL,
            docstring  TEXT,
            parent     TEXT
        ) STRICT;
        CREATE INDEX definitions_by_file ON definitions(file_id);
        CREATE INDEX definitions_by_name ON definitions(name);
        CREATE INDEX definitions_by_qualname ON definitions(qualname);
        CREATE TABLE imports (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            module  TEXT NOT NULL,
            name    TEXT,
            alias   TEXT,
            level   INTEGER NOT NULL,
            line    INTEGER NOT NULL,
            col     INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX imports_by_file ON imports(file_id);
        CREATE INDEX imports_by_module ON imports(module);
        CREATE TABLE refs (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            name    TEXT NOT NULL,
            last    TEXT NOT NULL,
            kind    TEXT NOT NULL,
            line    INTEGER NOT NULL,
            col     INTEGER NOT NULL,
            scope   TEXT NOT NULL
        ) STRICT;
        CREATE INDEX refs_by_file ON refs(file_id);
        CREATE INDEX refs_by_last ON refs(last);
        -- Full text in windows of lines; text_chunks.id is the FTS rowid, so a file's rows are
        -- found (and deleted) through the index on file_id instead of a scan of the FTS table.
        CREATE TABLE text_chunks (
            id         INTEGER PRIMARY KEY,
            file_id    INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            start_line INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX text_chunks_by_file ON text_chunks(file_id);
        CREATE VIRTUAL TABLE fts USING fts5(text, tokenize = "unicode61 tokenchars '_'");
        -- The one place that keeps the FTS rows in step, whatever deletes a chunk (a re-index,
        -- a deleted file, or a removed project through ON DELETE CASCADE).
        CREATE TRIGGER text_chunks_delete AFTER DELETE ON text_chunks BEGIN
            DELETE FROM fts WHERE rowid = old.id;
        END;
        """,
    ),
    Migration(
        4,
        "concrete syntax verdicts",
        """
        -- NULL: not verified yet; 'exact': libcst's tree reproduces the file byte for byte;
        -- anything else says why not (the stored bytes remain the file's exact content).
        ALTER TABLE files ADD COLUMN syntax TEXT;
        CREATE INDEX files_syntax_pending ON files(project_id) WHERE syntax IS NULL AND state = 'live' AND parsed = 1;
        """,
    ),
    Migration(
        5,
        "skipped paths",
        """
        -- Paths that look like project files but are not followed (symbolic links: a loop, a
        -- link out of the root): not part of the project, listed with the reason.
        CREATE TABLE skipped (
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
            path       TEXT NOT NULL,
            reason     TEXT NOT NULL,
            PRIMARY KEY (project_id, path)
        ) STRICT, WITHOUT ROWID;
        """,
    ),
    Migration(
        CHUNKS,
        "semantic search: chunks, models, embeddings",
        """
        -- What is embedded: a definition or a window of one (codeanalysisd/index/chunking.py).
        -- The text is not stored: it is cut again from the file's blob when it is embedded.
        CREATE TABLE chunks (
            id         INTEGER PRIMARY KEY,
            file_id    INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            symbol     TEXT NOT NULL,
            kind       TEXT NOT NULL,
            start_line INTEGER NOT NULL,
            end_line   INTEGER NOT NULL,
            head_line  INTEGER NOT NULL,
            key        BLOB NOT NULL
        ) STRICT;
        CREATE INDEX chunks_by_file ON chunks(file_id);
        CREATE INDEX chunks_by_key ON chunks(key);
        -- Every vector records its model and dimension through model_id. Vectors of a model
        -- live in its own sqlite-vec table, vectors_<id> (vec0 fixes one dimension per table),
        -- created when the vectorizer first announces the model.
        CREATE TABLE models (
            id       INTEGER PRIMARY KEY,
            name     TEXT NOT NULL,
            dim      INTEGER NOT NULL CHECK (dim > 0),
            created  REAL NOT NULL,
            used     REAL NOT NULL,  -- the last time the vectorizer announced it: the newest is current
            complete REAL,           -- when every chunk first had a vector of this model
            UNIQUE (name, dim)
        ) STRICT;
        CREATE TABLE embeddings (
            id       INTEGER PRIMARY KEY,
            model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            key      BLOB NOT NULL,
            UNIQUE (model_id, key)
        ) STRICT;
        """,
    ),
    Migration(
        7,
        "project owners",
        """
        -- The uid that added a project: only it (and root) may restore into it, repair it or
        -- remove it. Projects from before owners were recorded belong to root.
        ALTER TABLE projects ADD COLUMN owner_uid INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX projects_by_owner ON projects(owner_uid);
        """,
    ),
    Migration(
        8,
        "project root identities",
        """
        -- A root is the directory (device, inode) registered, not whatever its path names later:
        -- a root swapped for a link or another directory is missing (tree.open_root). 0 0 is a
        -- project from before, whose identity the owner records the next time it starts.
        ALTER TABLE projects ADD COLUMN root_dev INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE projects ADD COLUMN root_ino INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    Migration(
        9,
        "structure: bindings, uses, and a change counter per project",
        """
        -- What the names a module or class binds mean, and the facts other files need to follow
        -- a name through this one (index/facts.Binding); every name read, with what it denotes
        -- as far as its file can tell (index/facts.Use). Replaced with the file, like the rest:
        -- what is resolved across files is worked out from these when asked (owner/structure.py).
        CREATE TABLE bindings (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            scope   TEXT NOT NULL,
            name    TEXT NOT NULL,
            kind    TEXT NOT NULL,
            value   TEXT NOT NULL,
            key     TEXT NOT NULL,  -- the last name of value: what finds the aliases of a name and its subclasses
            line    INTEGER NOT NULL,
            col     INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX bindings_by_file ON bindings(file_id);
        CREATE INDEX bindings_by_key ON bindings(key);
        CREATE INDEX bindings_by_name ON bindings(name);
        CREATE TABLE uses (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            key     TEXT NOT NULL,
            expr    TEXT NOT NULL,
            kind    TEXT NOT NULL,
            line    INTEGER NOT NULL,
            col     INTEGER NOT NULL,
            scope   TEXT NOT NULL,
            text    TEXT NOT NULL
        ) STRICT;
        CREATE INDEX uses_by_key ON uses(key);
        CREATE INDEX uses_by_file ON uses(file_id);
        -- 0: the file's bindings and uses were never taken (indexed before this migration)
        ALTER TABLE files ADD COLUMN structure INTEGER NOT NULL DEFAULT 0;
        -- Moves whenever a file row of the project does (written, moved, deleted, revived), in
        -- the same transaction: what is kept in memory from a project's rows is current while
        -- it has not moved.
        ALTER TABLE projects ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
        CREATE TRIGGER files_inserted_generation AFTER INSERT ON files BEGIN
            UPDATE projects SET generation = generation + 1 WHERE id = new.project_id;
        END;
        CREATE TRIGGER files_updated_generation AFTER UPDATE OF path, state, sha256, indexed_at ON files BEGIN
            UPDATE projects SET generation = generation + 1 WHERE id = new.project_id;
        END;
        CREATE TRIGGER files_deleted_generation AFTER DELETE ON files BEGIN
            UPDATE projects SET generation = generation + 1 WHERE id = old.project_id;
        END;
        """,
    ),
    Migration(
        HEADER_CHUNKS,
        "semantic search: a function's header chunk",
        """
        -- Every file is cut again (index/chunking.py), in this migration's transaction
        -- (Store.open gives migrate the step): an upgrade leaves each file with the new set of
        -- chunks, or, interrupted, with the old one. A vector is kept per chunk text, so only
        -- the texts that are new (the header chunks) wait for the vectorizer.
        DELETE FROM chunks;
        """,
    ),
    Migration(
        DEFINITION_SEARCH,
        "search: definitions by name part, and by line within their file",
        """
        -- sym:NAME asks for definitions whose name contains NAME: a trigram index of the
        -- names answers it without reading every name. It indexes the definitions' own
        -- column (external content: no copy of the names) and keeps only which rows hold each
        -- trigram (detail=none, no column sizes), the smallest form that narrows; the names
        -- it finds are checked exactly afterwards. The triggers keep it in step with every
        -- write of definitions, in the same transaction, deletes by a file's cascade included.
        CREATE VIRTUAL TABLE definition_names USING fts5(
            name, content = 'definitions', content_rowid = 'id', tokenize = 'trigram', detail = 'none',
            columnsize = 0);
        INSERT INTO definition_names (definition_names) VALUES ('rebuild');
        CREATE TRIGGER definitions_named AFTER INSERT ON definitions BEGIN
            INSERT INTO definition_names (rowid, name) VALUES (new.id, new.name);
        END;
        CREATE TRIGGER definitions_unnamed AFTER DELETE ON definitions BEGIN
            INSERT INTO definition_names (definition_names, rowid, name) VALUES ('delete', old.id, old.name);
        END;
        CREATE TRIGGER definitions_renamed AFTER UPDATE OF id, name ON definitions BEGIN
            INSERT INTO definition_names (definition_names, rowid, name) VALUES ('delete', old.id, old.name);
            INSERT INTO definition_names (rowid, name) VALUES (new.id, new.name);
        END;
        -- kind: and sym: beside words ask, for each window of lines the words found, whether a
        -- definition of the file starts within it: by file and line, a range of this index
        -- instead of every definition of the file (its prefix serves what the index by file did).
        DROP INDEX definitions_by_file;
        CREATE INDEX definitions_by_file_line ON definitions(file_id, line);
        """,
    ),
    Migration(
        COMPACT_NAMES,
        "references and uses: compact rows, clustered by file",
        """
        -- Every name the source reads was a row of refs and of uses, with its enclosing
        -- definition's qualified name and its kind as text on each: the two tables were more
        -- than half the index (bench/db_size.py). How a row is packed now is db/name_rows.py's.
        -- The old tables are renamed here; Store.open's step writes their rows again in the
        -- new form (name_rows.rewrite_renamed) and drops them, in this migration's transaction.
        ALTER TABLE refs RENAME TO refs_before_compact;
        ALTER TABLE uses RENAME TO uses_before_compact;
        DROP INDEX refs_by_last;
        DROP INDEX uses_by_key;
        -- The definitions that enclose a file's names, numbered within the file ("" for the
        -- module itself).
        CREATE TABLE scopes (
            file_id  INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            id       INTEGER NOT NULL,
            qualname TEXT NOT NULL,
            PRIMARY KEY (file_id, id)
        ) STRICT, WITHOUT ROWID;
        -- The primary keys cluster a file's rows (seq: its position in the file's facts), so no
        -- index by file is needed to read, replace or cascade-delete them.
        CREATE TABLE refs (
            file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            seq       INTEGER NOT NULL,
            last      TEXT NOT NULL,     -- the last name of the dotted name
            qualifier TEXT,              -- what precedes its last dot; NULL: no dot
            kind      INTEGER NOT NULL,  -- name_rows.KINDS
            line      INTEGER NOT NULL,
            col       INTEGER NOT NULL,
            scope     INTEGER NOT NULL,  -- scopes.id
            PRIMARY KEY (file_id, seq)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX refs_by_last ON refs(last);
        CREATE TABLE uses (
            file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            seq       INTEGER NOT NULL,
            key       TEXT NOT NULL,
            expr      TEXT NOT NULL,     -- the expression but its last expr_tail characters,
            expr_tail INTEGER NOT NULL,  -- which are the key's last
            kind      INTEGER NOT NULL,  -- name_rows.KINDS
            line      INTEGER NOT NULL,
            col       INTEGER NOT NULL,
            scope     INTEGER NOT NULL,  -- scopes.id
            text      TEXT NOT NULL,     -- the text as written but its last text_tail characters,
            text_tail INTEGER NOT NULL,  -- which are the expression's last
            PRIMARY KEY (file_id, seq)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX uses_by_key ON uses(key);
        """,
    ),
    Migration(
        FILE_NAMES,
        "definitions: by file and name, for FindSymbol of a common name",
        """
        -- FindSymbol answers in (project, path, line) order. For a name defined in thousands
        -- of files it walks the files in that order and looks the name up in each, stopping at
        -- the limit, instead of sorting every definition (queries._walked).
        CREATE INDEX definitions_by_file_name ON definitions(file_id, name, line);
        """,
    ),
    Migration(
        PACKED_BLOBS,
        "blobs compressed",
        """
        -- Every file's bytes (blobs) are packed as the version store's are (db/packing.py), by
        -- the migration's step (indexing.pack_blobs), in its transaction. size stays the bytes' own.
        SELECT 1;
        """,
    ),
    Migration(
        NAME_FILES,
        "references and uses: found by name through one row per name and file",
        """
        -- refs_by_last and uses_by_key held an entry per occurrence, 23.8 MB over the standard
        -- library (bench/name_files.py). A file's rows are now ordered by name within the file,
        -- so its occurrences of a name are one range, and ref_files and use_files say which
        -- files have a name: one row per name and file, a fifth as many. (name_rows.py)
        CREATE TABLE refs_by_name (
            file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            seq       INTEGER NOT NULL,
            last      TEXT NOT NULL,
            qualifier TEXT,
            kind      INTEGER NOT NULL,
            line      INTEGER NOT NULL,
            col       INTEGER NOT NULL,
            scope     INTEGER NOT NULL,
            PRIMARY KEY (file_id, last, seq)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO refs_by_name SELECT file_id, seq, last, qualifier, kind, line, col, scope FROM refs;
        DROP TABLE refs;
        ALTER TABLE refs_by_name RENAME TO refs;
        CREATE TABLE uses_by_name (
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
        INSERT INTO uses_by_name
            SELECT file_id, seq, key, expr, expr_tail, kind, line, col, scope, text, text_tail FROM uses;
        DROP TABLE uses;
        ALTER TABLE uses_by_name RENAME TO uses;
        -- No foreign key: a cascade would look a deleted file up in a table keyed by name
        -- first. The trigger finds the file's names in its own rows instead. n: the name's
        -- rows in the file (FindReferences counts a name's rows to choose its plan).
        CREATE TABLE ref_files (
            last    TEXT NOT NULL,
            file_id INTEGER NOT NULL,
            n       INTEGER NOT NULL,
            PRIMARY KEY (last, file_id)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO ref_files SELECT last, file_id, count(*) FROM refs GROUP BY last, file_id;
        CREATE TABLE use_files (
            key     TEXT NOT NULL,
            file_id INTEGER NOT NULL,
            n       INTEGER NOT NULL,
            PRIMARY KEY (key, file_id)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO use_files SELECT key, file_id, count(*) FROM uses GROUP BY key, file_id;
        -- Before the file's row goes, while its refs and uses (which go with it) are there.
        CREATE TRIGGER files_names_delete BEFORE DELETE ON files BEGIN
            DELETE FROM ref_files WHERE file_id = old.id
                AND last IN (SELECT DISTINCT last FROM refs WHERE file_id = old.id);
            DELETE FROM use_files WHERE file_id = old.id
                AND key IN (SELECT DISTINCT key FROM uses WHERE file_id = old.id);
        END;
        """,
    ),
    Migration(
        WINDOW_TEXTS,
        "full text: the windows' text kept packed beside a contentless index",
        """
        -- FTS5 kept its own plain copy of every window's text: 37 MB of 161 over the standard
        -- library (bench/db_size.py). The index now holds the tokens only (contentless, its
        -- rows deletable), and each window's text is kept zlib-packed: 13.0 MB where FTS5's
        -- copy took 37.2 (bench/window_text.py). Copied plain here; the migration's step packs it
        -- (indexing.pack_window_texts), in this transaction.
        CREATE TABLE window_texts (
            chunk  INTEGER PRIMARY KEY,  -- text_chunks.id, the window's rowid in fts
            packed BLOB NOT NULL
        ) STRICT;
        INSERT INTO window_texts (chunk, packed) SELECT rowid, CAST(text AS BLOB) FROM fts;
        DROP TRIGGER text_chunks_delete;
        DROP TABLE fts;
        CREATE VIRTUAL TABLE fts USING fts5(text, content = '', contentless_delete = 1,
                                            tokenize = "unicode61 tokenchars '_'");
        INSERT INTO fts (rowid, text) SELECT chunk, CAST(packed AS TEXT) FROM window_texts;
        -- Still the one place that keeps both in step with text_chunks.
        CREATE TRIGGER text_chunks_delete AFTER DELETE ON text_chunks BEGIN
            DELETE FROM fts WHERE rowid = old.id;
            DELETE FROM window_texts WHERE chunk = old.id;
        END;
        """,
    ),
    Migration(
        USE_HEADS,
        "uses: the expression before the key numbered per file",
        """
        -- What precedes a use's key in its expression ('os.path.' of 'os.path.join') was text on
        -- every row: 7.6 MB over the standard library's 536,479 uses, of which 49,029 differ
        -- within their file. Each is now kept once per file, numbered most frequent first, as
        -- the enclosing definitions are (scopes). (name_rows.py)
        CREATE TABLE use_heads (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            id      INTEGER NOT NULL,
            head    TEXT NOT NULL,
            PRIMARY KEY (file_id, id)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO use_heads (file_id, id, head)
            SELECT file_id, row_number() OVER (PARTITION BY file_id ORDER BY n DESC, expr) - 1, expr
            FROM (SELECT file_id, expr, count(*) AS n FROM uses GROUP BY file_id, expr);
        CREATE TABLE uses_headed (
            file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            seq       INTEGER NOT NULL,
            key       TEXT NOT NULL,
            head      INTEGER NOT NULL,  -- use_heads.id: the expression but its last expr_tail characters,
            expr_tail INTEGER NOT NULL,  -- which are the key's last
            kind      INTEGER NOT NULL,
            line      INTEGER NOT NULL,
            col       INTEGER NOT NULL,
            scope     INTEGER NOT NULL,
            text      TEXT NOT NULL,
            text_tail INTEGER NOT NULL,
            PRIMARY KEY (file_id, key, seq)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO uses_headed
            SELECT u.file_id, u.seq, u.key, h.id, u.expr_tail, u.kind, u.line, u.col, u.scope, u.text, u.text_tail
            FROM uses u JOIN use_heads h ON h.file_id = u.file_id AND h.head = u.expr;
        -- The trigger names uses: it goes while the table is replaced, and comes back as it was.
        DROP TRIGGER files_names_delete;
        DROP TABLE uses;
        ALTER TABLE uses_headed RENAME TO uses;
        CREATE TRIGGER files_names_delete BEFORE DELETE ON files BEGIN
            DELETE FROM ref_files WHERE file_id = old.id
                AND last IN (SELECT DISTINCT last FROM refs WHERE file_id = old.id);
            DELETE FROM use_files WHERE file_id = old.id
                AND key IN (SELECT DISTINCT key FROM uses WHERE file_id = old.id);
        END;
        """,
    ),
    Migration(
        PACKED_REFS,
        "refs: a file's references of a name packed into one row",
        """
        -- A row per reference took 24.6 MB over the standard library's 736,170, most of it
        -- SQLite's own key and header of each row; a row per name and file (147,267 there, as
        -- many as ref_files has) packs their columns (db/int_columns.py). The step
        -- (name_rows.pack_references) fills this table and puts it in the old one's place.
        CREATE TABLE refs_packed (
            file_id     INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            last        TEXT NOT NULL,
            occurrences BLOB NOT NULL,  -- name_rows.py: position, line, column, kind, scope, qualifier of each
            PRIMARY KEY (file_id, last)
        ) STRICT, WITHOUT ROWID;
        """,
    ),
    Migration(
        PACKED_USES,
        "uses: a file's uses of a key packed into one row",
        """
        -- A row per use took 19.3 MB of the standard library's vacuumed index for 536,479 uses;
        -- a row per key and file (102,022 there, as many as use_files has) packs their columns
        -- as refs' are (migration 18). The step (name_rows.pack_uses) fills this table and puts
        -- it in the old one's place.
        CREATE TABLE uses_packed (
            file_id     INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            key         TEXT NOT NULL,
            occurrences BLOB NOT NULL,  -- name_rows.py: position, head, tail, kind, line, column, scope, text of each
            PRIMARY KEY (file_id, key)
        ) STRICT, WITHOUT ROWID;
        """,
    ),
    Migration(
        DEFLATED_NAMES,
        "refs, uses: long rows deflated",
        """
        -- A name's occurrences packed past 128 bytes are kept deflated (db/int_columns.py): a
        -- twentieth of the rows, two fifths of their bytes. The step (name_rows.deflate_long_rows)
        -- deflates the rows written before, in this transaction; no table changes.
        SELECT 1;
        """,
    ),
    Migration(
        CHUNK_KEYS,
        "chunks: keys of 16 bytes",
        """
        -- A chunk's key, the sha256 of its text, is kept in three places (the chunk, its index
        -- entry, its vector's row); its first 16 bytes tell chunks apart as surely for any
        -- corpus this index holds (index/chunking.py) and save 2.7 MB of the standard library's
        -- index (bench/db_size.py). Every vector stays with its chunk: both keys are cut the same.
        UPDATE chunks SET key = substr(key, 1, 16) WHERE length(key) > 16;
        UPDATE embeddings SET key = substr(key, 1, 16) WHERE length(key) > 16;
        """,
    ),
    Migration(
        WINDOW_DICTIONARY,
        "full text: windows packed with a dictionary of Python",
        """
        -- A window is about a kilobyte, too short for DEFLATE alone to find much to repeat;
        -- a preset dictionary of Python's common shapes (db/window_dictionary.py) packs it
        -- smaller, without zlib's header (bench/window_dictionary.py). The step
        -- (stored_text.repack_windows) packs every window again, in this transaction.
        SELECT 1;
        """,
    ),
    Migration(
        CONTENT_WINDOWS,
        "contents kept once, as their windows",
        """
        -- The index kept every content twice: whole in blobs (8.8 MB packed over the standard
        -- library) and as its windows' text in window_texts (12.0 MB). Each content is now its
        -- windows' bytes, each window packed alone (db/stored_text.py): joined they are the
        -- file, decoded one is what a search shows. The step (stored_text.to_windows) cuts
        -- every content into these tables, then drops blobs and window_texts and puts
        -- blobs_windowed in blobs' place, in this transaction.
        CREATE TABLE blobs_windowed (
            id     INTEGER PRIMARY KEY,
            sha256 BLOB NOT NULL UNIQUE,
            size   INTEGER NOT NULL,
            alone  INTEGER NOT NULL  -- 1: a row per window; 0: one row, the whole content (stored_text.py)
        ) STRICT;
        CREATE TABLE blob_windows (
            blob   INTEGER NOT NULL,  -- blobs.id
            n      INTEGER NOT NULL,  -- lines n * 30 + 1 to n * 30 + 30
            packed BLOB NOT NULL,
            PRIMARY KEY (blob, n)
        ) STRICT, WITHOUT ROWID;
        """,
    ),
    Migration(
        DEFINITION_COLUMNS,
        "definitions: parent and bases dropped",
        """
        -- A definition's parent is its qualified name but the last name, without a function's
        -- <locals> (index/facts.py parent_of), and a class's bases are in its signature, which
        -- nothing read here: without both, the standard library's definitions take 17.9 MB,
        -- not 19.7 (bench/db_size.py).
        ALTER TABLE definitions DROP COLUMN parent;
        ALTER TABLE definitions DROP COLUMN bases;
        """,
    ),
    Migration(
        CONTENTS_HELD,
        "contents: kept while a file holds them",
        """
        -- The index kept every content it had seen, each edit's too, for as long as it lived:
        -- the version store is what keeps old contents (and prunes them by its retention).
        -- The index's copy of a content now goes when no file row holds it any more: a file
        -- edited, moved onto a deleted one's path, or its project removed. A deleted file's
        -- row keeps its content. (Its windows go with it: blobs_delete.)
        CREATE INDEX files_by_content ON files(sha256);
        DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM files);
        CREATE TRIGGER files_content_replaced AFTER UPDATE OF sha256 ON files
            WHEN old.sha256 != new.sha256 AND NOT EXISTS (SELECT 1 FROM files WHERE sha256 = old.sha256) BEGIN
            DELETE FROM blobs WHERE sha256 = old.sha256;
        END;
        CREATE TRIGGER files_content_dropped AFTER DELETE ON files
            WHEN NOT EXISTS (SELECT 1 FROM files WHERE sha256 = old.sha256) BEGIN
            DELETE FROM blobs WHERE sha256 = old.sha256;
        END;
        """,
    ),
    Migration(
        WINDOW_CHANGES,
        "full text: a log of the windows written",
        """
        -- A query of a common word ranks every window holding it; the best windows of such a
        -- word are kept between queries, with the point of this log they are of, and a query
        -- looks up afresh only the windows written since (db/common_words.py). The writer
        -- appends each window it adds or rewrites (indexing._write_windows) and keeps the last
        -- common_words.LOG_KEPT entries; the trigger, the one place that takes a window's
        -- tokens out of the index, appends each window deleted.
        CREATE TABLE window_changes (
            seq    INTEGER PRIMARY KEY,  -- the writer keeps the last entry: never reused
            window INTEGER NOT NULL      -- text_chunks.id, the window's rowid in fts
        ) STRICT;
        DROP TRIGGER text_chunks_delete;
        CREATE TRIGGER text_chunks_delete AFTER DELETE ON text_chunks BEGIN
            DELETE FROM fts WHERE rowid = old.id;
            INSERT INTO window_changes (window) VALUES (old.id);
        END;
        """,
    ),
    Migration(
        SYNTAX_NODES,
        "files: the count of syntax nodes",
        """
        -- The nodes of the file's ast tree, counted by the indexer as it walks it: the parser
        -- units bound the files they give libcst by it ([Parser] MaxSyntaxNodes=) without a
        -- parse of their own. NULL: not counted (indexed before this, or not parsed); a
        -- parser unit counts those itself.
        ALTER TABLE files ADD COLUMN nodes INTEGER;
        """,
    ),
)

LATEST = MIGRATIONS[-1].version


class MigrationError(RuntimeError):
    """The schema could not be brought to LATEST; the database is left as it was."""


def schema_version(db: apsw.Connection, schema: str = "main") -> int:
    return single_int(db.execute(f"PRAGMA {schema}.user_version"))


def migrate(db: apsw.Connection, migrations: tuple[Migration, ...] = MIGRATIONS, schema: str = "main",
            steps: Mapping[int, Callable[[apsw.Connection], object]] | None = None) -> list[int]:
    """Apply every pending migration to ``schema`` (an attached database's name); return the versions applied.

    ``steps``: work in Python that a migration needs done in its own transaction, after its SQL
    (what SQL alone cannot do: cutting files into chunks); by version."""
    current = schema_version(db, schema)
    latest = migrations[-1].version
    if current > latest:
        raise MigrationError(
            f"database schema version {current} is newer than this program knows ({latest}); "
            "install the matching codeanalysisd version or restore a backup"
        )
    applied = []
    for migration in migrations:
        if migration.version <= current:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(migration.sql)
            if steps and migration.version in steps:
                steps[migration.version](db)
            db.execute(f"PRAGMA {schema}.user_version = {int(migration.version)}")
            db.execute("COMMIT")
        except BaseException as exc:
            db.execute("ROLLBACK")
            if not isinstance(exc, apsw.Error):
                raise
            raise MigrationError(
                f"migration {migration.version} ({migration.description}) failed: {exc}; "
                f"the {'' if schema == 'main' else schema + ' '}database stays at schema version "
                f"{schema_version(db, schema)}"
            ) from exc
        applied.append(migration.version)
    return applied

"""How a file's name occurrences are written as rows, and read back: the one place for it.

Every name a file reads is an occurrence in ``refs`` (what ``FindReferences`` finds by name)
and, unless it is a function's own variable or a builtin, in ``uses`` (what the structure
questions follow across files). There are about as many occurrences as there are names in
the source, so each is kept small (measured in ``bench/db_size.py``):

- a file's occurrences of one name are one row, their columns packed into a blob
  (``int_columns``): a row per occurrence took about 30 bytes, most of them SQLite's own key
  and header, where the packed columns take 7 to 9 (bench/packed_refs.py, packed_uses.py);
- the enclosing definition is a small number per file (``scopes`` holds its qualified
  name once), not the name repeated on every row, and so is what a use's expression has
  before its key (``use_heads``: 'os.path.' of 'os.path.join');
- a kind is a number (``KINDS``);
- nothing repeats text another part holds: a reference's dotted name is its qualifier and
  its last name, the row's key; a use's expression ends with its key, and its text as
  written ends like its expression, so each keeps only what differs (``cut``) and the rest
  is taken back from the other part (``joined``).

Both tables are clustered by file, and within a file by name (``WITHOUT ROWID``, primary
key file and name): a file's rows are written, read and deleted as one range, without an
index by file, and its occurrences of a name are one row within it. Which files have a
name, and how often, ``ref_files`` and ``use_files`` say, a row per name and file (a fifth
as many as the occurrences over the standard library): an index by name of every
occurrence took 23.8 MB there, where these take 4.2 MB (bench/name_files.py). What the
packing costs is reading: the uses in one function (a call graph's question) are found by
reading one column of each of its file's rows (``uses_of``), where a row per use was a
range of the file's rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from operator import sub
from typing import cast

import apsw

from codeanalysisd.db import int_columns
from codeanalysisd.index.facts import Reference, Use

# A kind's number is its position; the first two cost no byte in a row (SQLite stores the
# integers 0 and 1 in the row's header alone).
KINDS: tuple[str, ...] = ("name", "attribute", "call", "import")
KIND_NUMBER: dict[str, int] = {kind: n for n, kind in enumerate(KINDS)}


def kind_numbers(kinds: Iterable[str]) -> list[int]:
    """The numbers of the kinds known here (a kind no row can have is left out)."""
    return [KIND_NUMBER[k] for k in kinds if k in KIND_NUMBER]


def split_dotted(name: str) -> tuple[str | None, str]:
    """A dotted name as (qualifier, last name): None when it has no dot."""
    qualifier, dot, last = name.rpartition(".")
    return (qualifier if dot else None), last


def dotted(qualifier: str | None, last: str) -> str:
    """The inverse of ``split_dotted``."""
    return last if qualifier is None else f"{qualifier}.{last}"


def cut(whole: str, other: str, known: int = 0) -> tuple[str, int]:
    """``whole`` as (what precedes its longest common ending with ``other``, that ending's
    length); ``known``: a length the common ending is known to have at least."""
    if whole.endswith(other):  # an expression and its key: the commonest case, at C speed
        return whole[:len(whole) - len(other)], len(other)
    if whole.endswith(other[1:]):  # a text and its expression, which starts with a mark ('?.get')
        return whole[:len(whole) - len(other) + 1], len(other) - 1
    low, high = known, min(len(whole), len(other))  # the answer is in [low, high]
    # Most other endings stop within a character or two of what is known ('self.get' and
    # '@Cart().get' at '.get'): looked at there before halving.
    for _ in range(3):
        if low == high or whole[-1 - low] != other[-1 - low]:
            return whole[:len(whole) - low], low
        low += 1
    # A common ending's endings are common too: the longest is found by halving, with
    # endswith doing the comparing (a loop over characters cost a second over the stdlib).
    while low < high:
        middle = (low + high + 1) // 2
        if whole.endswith(other[len(other) - middle:]):
            low = middle
        else:
            high = middle - 1
    return whole[:len(whole) - low], low


def joined(head: str, tail: int, other: str) -> str:
    """The inverse of ``cut``: ``head`` followed by the last ``tail`` characters of ``other``."""
    return head + other[len(other) - tail:] if tail else head


def numbered(texts: Iterable[str]) -> dict[str, int]:
    """A number per text of a file's rows (an enclosing definition, the head of an expression),
    the most frequent first (0 and 1 cost no byte), texts as frequent in the order of the text
    (as migrations.USE_HEADS numbers them in SQL)."""
    ordered = sorted(Counter(texts).items(), key=lambda counted: (-counted[1], counted[0]))
    return {text: n for n, (text, _) in enumerate(ordered)}


# A reference's row before PACKED_REFS (migration 12's rewrite writes them so).
REF_COLUMNS = "file_id, seq, last, qualifier, kind, line, col, scope"
USE_ROW_COLUMNS = "file_id, seq, key, head, expr_tail, kind, line, col, scope, text, text_tail"
HEAD = 3  # the position of head in USE_ROW_COLUMNS
# The same before USE_HEADS: the head as text in every row (a migration before it writes them).
USE_ROW_COLUMNS_BEFORE_HEADS = USE_ROW_COLUMNS.replace("head", "expr")

# Each table of occurrences, its column of names (the third of its row), and its table of
# the files that have a name.
NAME_TABLES = (("refs", "last", "ref_files"), ("uses", "key", "use_files"))


def write(db: apsw.Connection, file_id: int, references: Sequence[Reference], uses: Sequence[Use],
          replacing: bool = False, name_files: bool = True, heads: bool = True, packed: bool = True) -> None:
    """A file's rows of ``scopes``, ``use_heads``, ``refs`` and ``uses`` (and of ``ref_files``
    and ``use_files``): its first (``replacing`` False), or in place of those it has. Replacing
    writes only the rows that differ from the old ones at the same place in the file's order:
    an edit that moves no name (a change within a line, code added at the end) rewrites only
    the names it touched, where a large file has tens of thousands of rows. ``name_files``
    False: not the tables of names (a migration before NAME_FILES, which fills them);
    ``heads`` False: the heads as text in the rows (a migration before USE_HEADS); ``packed``
    False: a row per reference and per use (a migration before PACKED_REFS)."""
    if packed and not heads:
        raise ValueError("packed rows number their heads")
    numbers = numbered([*(r.scope for r in references), *(u.scope for u in uses)])
    use_rows = _use_rows(file_id, uses, numbers)
    if replacing:
        db.execute("DELETE FROM scopes WHERE file_id = ?", (file_id,))
    db.executemany("INSERT INTO scopes (file_id, id, qualname) VALUES (?, ?, ?)",
                   ((file_id, n, scope) for scope, n in numbers.items()))
    use_columns = USE_ROW_COLUMNS_BEFORE_HEADS
    if heads:
        use_columns, head_numbers = USE_ROW_COLUMNS, numbered(cast(str, row[HEAD]) for row in use_rows)
        use_rows = [(*row[:HEAD], head_numbers[cast(str, row[HEAD])], *row[HEAD + 1:]) for row in use_rows]
        if replacing:
            db.execute("DELETE FROM use_heads WHERE file_id = ?", (file_id,))
        db.executemany("INSERT INTO use_heads (file_id, id, head) VALUES (?, ?, ?)",
                       ((file_id, n, head) for head, n in head_numbers.items()))
    (refs, last, ref_files), (uses_table, key, use_files) = NAME_TABLES
    if packed:
        _put_packed(db, NAME_TABLES[0], file_id, _ref_blobs(references, numbers), replacing)
        _put_packed(db, NAME_TABLES[1], file_id, _use_blobs(use_rows), replacing)
        return
    _put(db, refs, last, ref_files if name_files else None, REF_COLUMNS, file_id,
         _ref_rows(file_id, references, numbers), replacing)
    _put(db, uses_table, key, use_files if name_files else None, use_columns, file_id, use_rows, replacing)


# The rows of ``split_dotted`` and ``cut``, built in loops of their own with the commonest
# cases inline, not a call per name: over _pydecimal.py's 6,172 names, 6.8 -> 5.6 ms in
# process, and its whole write after an edit 5 to 7 ms less.
def _ref_rows(file_id: int, references: Sequence[Reference], numbers: dict[str, int]) -> list[tuple[object, ...]]:
    """``REF_COLUMNS`` of each reference, in order."""
    rows: list[tuple[object, ...]] = []
    append, kinds = rows.append, KIND_NUMBER
    for seq, (name, kind, line, column, scope) in enumerate(references):
        qualifier, dot, last = name.rpartition(".")
        append((file_id, seq, last, qualifier if dot else None, kinds[kind], line, column, numbers[scope]))
    return rows


# A file's references of one name are one row of ``refs``, its occurrences packed as columns
# (``int_columns``): the position of each in the file's order (from the one before: the
# first is the position), line, column, kind, scope, and qualifier, 0 for none and n for the
# blob's n-th text, which are the name's distinct qualifiers in order of appearance.
def _ref_blobs(references: Sequence[Reference], numbers: dict[str, int]) -> dict[str, bytes]:
    """Each last name of ``references`` and its occurrences packed."""
    # One append per occurrence; the columns are made by zip, a name at a time, in C.
    groups: dict[str, list[tuple[int, int, int, int, int, str | None]]] = {}
    kinds = KIND_NUMBER
    for seq, (name, kind, line, column, scope) in enumerate(references):
        qualifier, dot, last = name.rpartition(".")
        row = (seq, line, column, kinds[kind], numbers[scope], qualifier if dot else None)
        group = groups.get(last)
        if group is None:
            groups[last] = [row]
        else:
            group.append(row)
    packed = {}
    for last, rows in groups.items():
        if len(rows) == 1:  # two names in five of a file: spared the zip and the numbering
            ((at, at_line, at_column, kind_number, scope_number, only),) = rows
            packed[last] = int_columns.pack(((at,), (at_line,), (at_column,), (kind_number,), (scope_number,),
                                             (0 if only is None else 1,)), () if only is None else (only,))
            continue
        seqs, lines, columns, kind_numbers, scopes, qualifiers = zip(*rows, strict=True)
        texts: dict[str, int] = {}
        numbered_qualifiers: Sequence[int] = (
            (0,) * len(rows) if qualifiers.count(None) == len(rows) else
            [0 if qualifier is None else texts.setdefault(qualifier, len(texts) + 1) for qualifier in qualifiers])
        steps = [seqs[0], *map(sub, seqs[1:], seqs)]
        packed[last] = int_columns.pack((steps, lines, columns, kind_numbers, scopes, numbered_qualifiers), list(texts))
    return packed


def occurrences(blob: bytes) -> list[tuple[int, str | None, int, int, int, int]]:
    """A ``refs`` row's occurrences, in the file's order: (position in the file's references,
    qualifier, kind number, line, column, scope number)."""
    (steps, lines, columns, kinds, scopes, qualifiers), texts = int_columns.unpack(blob)
    named: list[str | None] = [None, *texts]
    found = []
    seq = 0
    for at, step in enumerate(steps):
        seq = step if at == 0 else seq + step
        found.append((seq, named[qualifiers[at]], kinds[at], lines[at], columns[at], scopes[at]))
    return found


def _put_packed(db: apsw.Connection, tables: tuple[str, str, str], file_id: int, blobs: dict[str, bytes],
                replacing: bool) -> None:
    """``blobs`` (``_ref_blobs``, ``_use_blobs``) as the file's rows of ``refs`` or ``uses``
    (``tables``: one of NAME_TABLES), and its names in their table of files. Replacing, only
    the names whose occurrences differ are written: an edit that moves no line rewrites the
    names it touched."""
    table, name, files = tables
    old: dict[str, bytes] = {}
    if replacing:
        # The types are the columns'.
        old = dict(cast(list[tuple[str, bytes]], db.execute(
            f"SELECT {name}, occurrences FROM {table} WHERE file_id = ?", (file_id,)).fetchall()))
        gone = [(file_id, last) for last in old.keys() - blobs.keys()]
        db.executemany(f"DELETE FROM {table} WHERE file_id = ? AND {name} = ?", gone)
        db.executemany(f"DELETE FROM {files} WHERE file_id = ? AND {name} = ?", gone)
    changed = [(file_id, last, blob) for last, blob in blobs.items() if old.get(last) != blob]
    db.executemany(f"INSERT OR REPLACE INTO {table} (file_id, {name}, occurrences) VALUES (?, ?, ?)", changed)
    db.executemany(f"INSERT OR REPLACE INTO {files} ({name}, file_id, n) VALUES (?, ?, ?)",
                   ((last, file_id, int_columns.length(blob)) for file_id, last, blob in changed))


# A file's uses of one key are one row of ``uses``, packed as its references are: the position
# of each in the file's uses (from the one before), the head of its expression (``use_heads``),
# how many of the key's last characters its expression does not end with (mostly none),
# kind, line, column, scope, its text as written but its ending shared with the expression
# (0 for none, n for the blob's n-th text) and that ending's length.
_USE_SCOPE = 6  # the scope's column in a ``uses`` row's packing


def _use_blobs(rows: Sequence[tuple[object, ...]]) -> dict[str, bytes]:
    """Each key of ``rows`` (``USE_ROW_COLUMNS``, heads numbered, in the file's order) and its uses packed."""
    groups: dict[str, list[tuple[object, ...]]] = {}
    for row in rows:
        group = groups.get(cast(str, row[2]))
        if group is None:
            groups[cast(str, row[2])] = [row]
        else:
            group.append(row)
    packed = {}
    for key, uses in groups.items():
        _, seqs, _, heads, tails, kinds, lines, columns, scopes, saids, said_tails = zip(*uses, strict=True)
        texts: dict[str, int] = {}
        said_numbers = [0 if not said else texts.setdefault(cast(str, said), len(texts) + 1) for said in saids]
        steps = [seqs[0], *map(sub, seqs[1:], seqs)]
        cuts = [len(key) - cast(int, tail) for tail in tails]
        packed[key] = int_columns.pack(cast(Sequence[Sequence[int]], (
            steps, heads, cuts, kinds, lines, columns, scopes, said_numbers, said_tails)), list(texts))
    return packed


def use_occurrences(key: str, blob: bytes) -> list[tuple[int, int, int, int, int, int, int, str, int]]:
    """A ``uses`` row's occurrences, in the file's order: (position in the file's uses, head
    number, expression's tail, kind number, line, column, scope number, text, text's tail),
    ``USE_ROW_COLUMNS`` from the position on."""
    (steps, heads, cuts, kinds, lines, columns, scopes, saids, said_tails), texts = int_columns.unpack(blob)
    said: list[str] = ["", *texts]
    found = []
    seq = 0
    for at, step in enumerate(steps):
        seq = step if at == 0 else seq + step
        found.append((seq, heads[at], len(key) - cuts[at], kinds[at], lines[at], columns[at], scopes[at],
                      said[saids[at]], said_tails[at]))
    return found


class Numbered:
    """The texts a file's rows number (``scopes``, ``use_heads``), looked up as asked and kept."""

    def __init__(self, db: apsw.Connection) -> None:
        self.db = db
        self.scopes: dict[tuple[int, int], str] = {}
        self.heads: dict[tuple[int, int], str] = {}

    def scope(self, file_id: int, number: int) -> str:
        return self._text(self.scopes, "SELECT qualname FROM scopes WHERE file_id = ? AND id = ?", file_id, number)

    def head(self, file_id: int, number: int) -> str:
        return self._text(self.heads, "SELECT head FROM use_heads WHERE file_id = ? AND id = ?", file_id, number)

    def _text(self, kept: dict[tuple[int, int], str], sql: str, file_id: int, number: int) -> str:
        found = kept.get((file_id, number))
        if found is None:
            # The type is the column's.
            (found,) = cast(tuple[str], self.db.execute(sql, (file_id, number)).fetchone())
            kept[file_id, number] = found
        return found


def uses_of(db: apsw.Connection, rows: Iterable[tuple[int, str, bytes]], kinds: Collection[int] | None = None,
            scope: int | None = None, numbered_texts: Numbered | None = None) -> list[tuple[int, int, Use]]:
    """(file, position in its uses, the use) of each use packed in ``rows`` ((file, key, row
    of uses)), of one of ``kinds`` and in ``scope`` (a number) where given."""
    texts = numbered_texts or Numbered(db)
    found = []
    for file_id, key, blob in rows:
        if scope is not None and scope not in int_columns.column(blob, _USE_SCOPE):
            continue  # a call graph asks the uses in one function: most keys of its file have none there
        for seq, head, tail, kind, line, col, in_scope, said, said_tail in use_occurrences(key, blob):
            if (kinds is None or kind in kinds) and (scope is None or in_scope == scope):
                found.append((file_id, seq, use(key, texts.head(file_id, head), tail, kind, line, col,
                                                texts.scope(file_id, in_scope), said, said_tail)))
    return found


def _use_rows(file_id: int, uses: Sequence[Use], numbers: dict[str, int]) -> list[tuple[object, ...]]:
    """``USE_ROW_COLUMNS`` of each use, in order: its expression cut at its key, its text at
    its expression (``cut``), the head of the expression as text yet (``write`` numbers it)."""
    rows: list[tuple[object, ...]] = []
    append, kinds = rows.append, KIND_NUMBER
    for seq, (key, expr, kind, line, column, scope, text) in enumerate(uses):
        head, tail = (expr[:len(expr) - len(key)], len(key)) if expr.endswith(key) else cut(expr, key)
        said, said_tail = ((text[:len(text) - len(expr)], len(expr)) if text.endswith(expr) else
                           cut(text, expr, len(key) if tail == len(key) and text.endswith(key) else 0))
        append((file_id, seq, key, head, tail, kinds[kind], line, column, numbers[scope], said, said_tail))
    return rows


def _put(db: apsw.Connection, table: str, name: str, files: str | None, columns: str, file_id: int,
         rows: Sequence[tuple[object, ...]], replacing: bool) -> None:
    """``rows`` (each ``columns``: file, seq 0, 1, ..., name) as the file's rows of ``table``,
    and its names in ``files``. Replacing, the rows before the first that differs stay; after
    it, if most differ (lines added or removed above them move every name after them), the
    rest of the file's rows are deleted and written again, else only the rows that differ."""
    old: dict[object, tuple[object, ...]] = {}
    written = rows
    if replacing:
        # The types are the columns': a row read back equals the tuple it was written from.
        old = {row[1]: row for row in cast(list[tuple[object, ...]], db.execute(
            f"SELECT {columns} FROM {table} WHERE file_id = ?", (file_id,)))}
        first = next((seq for seq, row in enumerate(rows) if old.get(seq) != row), len(rows))
        rest = rows[first:]
        changed = [row for row in rest if old.get(row[1]) != row]
        if 2 * len(changed) > len(rest):
            db.execute(f"DELETE FROM {table} WHERE file_id = ? AND seq >= ?", (file_id, first))
            written = rest
        else:
            db.execute(f"DELETE FROM {table} WHERE file_id = ? AND seq >= ?", (file_id, len(rows)))
            # by the old row's key: a name at the same place may be another name now
            db.executemany(f"DELETE FROM {table} WHERE file_id = ? AND {name} = ? AND seq = ?",
                           ((file_id, before[2], row[1]) for row in changed if (before := old.get(row[1]))))
            written = changed
    marks = ", ".join("?" for _ in columns.split(","))
    db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", written)
    if files is None:
        return
    names, had = Counter(row[2] for row in rows), Counter(row[2] for row in old.values())
    db.executemany(f"DELETE FROM {files} WHERE {name} = ? AND file_id = ?",
                   ((n, file_id) for n in had.keys() - names.keys()))
    db.executemany(f"INSERT OR REPLACE INTO {files} ({name}, file_id, n) VALUES (?, ?, ?)",
                   ((n, file_id, count) for n, count in names.items() if had[n] != count))


def delete(db: apsw.Connection, file_id: int) -> None:
    """A file's rows of ``scopes``, ``use_heads``, ``refs`` and ``uses``, and of ``ref_files`` and ``use_files``."""
    for table, name, files in NAME_TABLES:
        db.execute(f"DELETE FROM {files} WHERE file_id = ? AND {name} IN "
                   f"(SELECT DISTINCT {name} FROM {table} WHERE file_id = ?)", (file_id, file_id))
        db.execute(f"DELETE FROM {table} WHERE file_id = ?", (file_id,))
    db.execute("DELETE FROM scopes WHERE file_id = ?", (file_id,))
    db.execute("DELETE FROM use_heads WHERE file_id = ?", (file_id,))


def use(key: str, expr: str, expr_tail: int, kind: int, line: int, column: int, scope: str, text: str,
        text_tail: int) -> Use:
    """A use (its key, head and tail as ``use_occurrences`` gives them, its scope and head as text) as the fact."""
    whole = joined(expr, expr_tail, key)
    return Use(key, whole, KINDS[kind], line, column, scope, joined(text, text_tail, whole))


def read(db: apsw.Connection, file_id: int) -> tuple[list[Reference], list[Use]]:
    """A file's references and uses, as written."""
    # The types are the columns'.
    scopes = dict(cast(list[tuple[int, str]], db.execute(
        "SELECT id, qualname FROM scopes WHERE file_id = ?", (file_id,)).fetchall()))
    rows = cast(list[tuple[str, bytes]], db.execute(
        "SELECT last, occurrences FROM refs WHERE file_id = ?", (file_id,)).fetchall())
    refs = sorted((seq, Reference(dotted(qualifier, last), KINDS[kind], line, col, scopes[scope]))
                  for last, blob in rows for seq, qualifier, kind, line, col, scope in occurrences(blob))
    packed = cast(list[tuple[int, str, bytes]], db.execute(
        "SELECT file_id, key, occurrences FROM uses WHERE file_id = ?", (file_id,)).fetchall())
    texts = Numbered(db)
    texts.scopes = {(file_id, n): scope for n, scope in scopes.items()}
    texts.heads = {(file_id, n): head for n, head in cast(list[tuple[int, str]], db.execute(
        "SELECT id, head FROM use_heads WHERE file_id = ?", (file_id,)).fetchall())}
    uses = sorted((seq, found) for _, seq, found in uses_of(db, packed, numbered_texts=texts))
    return [reference for _, reference in refs], [found for _, found in uses]


def rewrite_renamed(db: apsw.Connection) -> int:
    """Migration 12's step: every file's rows of the tables it renamed, written again by
    ``write`` in the order they were written, and those tables dropped; the number of files."""
    # The types are the old tables' columns.
    files = cast(list[tuple[int]], db.execute(
        "SELECT DISTINCT file_id FROM refs_before_compact UNION SELECT DISTINCT file_id FROM uses_before_compact"
    ).fetchall())
    for (file_id,) in files:
        references = cast(list[tuple[str, str, int, int, str]], db.execute(
            "SELECT name, kind, line, col, scope FROM refs_before_compact WHERE file_id = ? ORDER BY rowid",
            (file_id,)).fetchall())
        uses = cast(list[tuple[str, str, str, int, int, str, str]], db.execute(
            "SELECT key, expr, kind, line, col, scope, text FROM uses_before_compact WHERE file_id = ? ORDER BY rowid",
            (file_id,)).fetchall())
        write(db, file_id, [Reference(*r) for r in references], [Use(*u) for u in uses], name_files=False,
              heads=False, packed=False)
    db.execute("DROP TABLE refs_before_compact; DROP TABLE uses_before_compact")
    return len(files)


def pack_references(db: apsw.Connection) -> int:
    """Migration PACKED_REFS's step: every file's rows of ``refs``, a row per reference, packed
    a row per name into ``refs_packed`` by the rule ``write`` follows, which takes the old
    table's place; the number of files."""
    # The types are the old table's columns.
    files = cast(list[tuple[int]], db.execute("SELECT DISTINCT file_id FROM refs").fetchall())
    for (file_id,) in files:
        rows = cast(list[tuple[str | None, str, int, int, int, int]], db.execute(
            "SELECT qualifier, last, kind, line, col, scope FROM refs WHERE file_id = ? ORDER BY seq",
            (file_id,)).fetchall())
        # The scopes' numbers stay: each qualified name is its own number here.
        numbers = {str(scope): scope for *_, scope in rows}
        blobs = _ref_blobs([Reference(dotted(qualifier, last), KINDS[kind], line, col, str(scope))
                            for qualifier, last, kind, line, col, scope in rows], numbers)
        db.executemany("INSERT INTO refs_packed (file_id, last, occurrences) VALUES (?, ?, ?)",
                       ((file_id, last, blob) for last, blob in blobs.items()))
    replace_table(db, "refs", "refs_packed")
    return len(files)


def pack_uses(db: apsw.Connection) -> int:
    """Migration PACKED_USES's step: every file's rows of ``uses``, a row per use, packed a row
    per key into ``uses_packed`` by the rule ``write`` follows, which takes the old table's
    place; the number of files."""
    # The types are the old table's columns.
    files = cast(list[tuple[int]], db.execute("SELECT DISTINCT file_id FROM uses").fetchall())
    for (file_id,) in files:
        rows = cast(list[tuple[object, ...]], db.execute(
            f"SELECT {USE_ROW_COLUMNS} FROM uses WHERE file_id = ? ORDER BY seq", (file_id,)).fetchall())
        db.executemany("INSERT INTO uses_packed (file_id, key, occurrences) VALUES (?, ?, ?)",
                       ((file_id, key, blob) for key, blob in _use_blobs(rows).items()))
    replace_table(db, "uses", "uses_packed")
    return len(files)


def deflate_long_rows(db: apsw.Connection) -> int:
    """Migration DEFLATED_NAMES's step: every row of ``refs`` and ``uses`` as ``write`` keeps
    it now (int_columns.compact); the number of rows changed."""
    changed = 0
    for table, name, _ in NAME_TABLES:
        # All read before any is written; the types are the columns'.
        rows = cast(list[tuple[int, str, bytes]], db.execute(
            f"SELECT file_id, {name}, occurrences FROM {table} WHERE length(occurrences) > ?",
            (int_columns.DEFLATE_OVER,)).fetchall())
        kept = [(compacted, file_id, key) for file_id, key, blob in rows
                if (compacted := int_columns.compact(blob)) != blob]
        db.executemany(f"UPDATE {table} SET occurrences = ? WHERE file_id = ? AND {name} = ?", kept)
        changed += len(kept)
    return changed


def replace_table(db: apsw.Connection, table: str, by: str) -> None:
    """``table`` (``refs`` or ``uses``) dropped and ``by`` renamed to it; migration 15's
    trigger names both tables, so it goes while they are replaced and comes back as it was."""
    db.execute(f"""
        DROP TRIGGER files_names_delete;
        DROP TABLE {table};
        ALTER TABLE {by} RENAME TO {table};
        CREATE TRIGGER files_names_delete BEFORE DELETE ON files BEGIN
            DELETE FROM ref_files WHERE file_id = old.id AND last IN (SELECT last FROM refs WHERE file_id = old.id);
            DELETE FROM use_files WHERE file_id = old.id AND key IN (SELECT key FROM uses WHERE file_id = old.id);
        END;
    """)

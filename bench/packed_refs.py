"""A file's references of a name packed into one row (migration 18, ``refs`` by file and
name, ``db/int_columns.py``) against a row per reference, the code before it: the bytes of
the name occurrences' tables, the time to write them, and FindReferences, side by side in
one run.

The measurement is bench/name_files.py's (in process, the standard library of `python3` on
PATH indexed by each version's own writer, each database vacuumed; FindReferences, limit 20,
of every 7th distinct last name plus the 20 commonest, dotted where the corpus has it dotted
too; the uses of every 7th key), with ``--before`` by default the version before
PACKED_REFS. Every answer is compared between the two.

  .venv/bin/python bench/packed_refs.py [--before REV] [--stdlib DIR] [--rounds 3]
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import name_files

if __name__ == "__main__":
    name_files.main(__file__, __doc__ or "", "PACKED_REFS = 18")

"""A file's uses of a key packed into one row (migration 19, ``uses`` by file and key, as
``refs`` by file and name since migration 18) against a row per use, the code before it: the
bytes of the name occurrences' tables, the time to write them, the structure's reads of uses
(by key, and in a scope, as a call graph reads a function) and FindReferences, side by side
in one run.

The measurement is bench/name_files.py's (in process, the standard library of `python3` on
PATH indexed by each version's own writer, each database vacuumed; the uses of every 7th key,
every kind; the uses in every 40th scope of the corpus; FindReferences of every 7th name),
with ``--before`` by default the version before PACKED_USES. Every answer is compared.

  .venv/bin/python bench/packed_uses.py [--before REV] [--stdlib DIR] [--rounds 3]
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import name_files

if __name__ == "__main__":
    name_files.main(__file__, __doc__ or "", "PACKED_USES = 19")

"""The long rows of ``refs`` and ``uses`` kept deflated (migration 20, int_columns.DEFLATE_OVER)
against every row plain, the code before it: the bytes of the name occurrences' tables, the
time to write them, FindReferences and the structure's reads of uses (by key, and in a
scope, as a call graph reads a function), side by side in one run.

The measurement is bench/name_files.py's (in process, the standard library of `python3` on
PATH indexed by each version's own writer, each database vacuumed; FindReferences of every
7th name, the uses of every 7th key, the uses in every 40th scope), with ``--before`` by
default the version before DEFLATED_NAMES. Every answer is compared.

  .venv/bin/python bench/deflated_names.py [--before REV] [--stdlib DIR] [--rounds 3]
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import name_files

if __name__ == "__main__":
    name_files.main(__file__, __doc__ or "", "DEFLATED_NAMES = 20")

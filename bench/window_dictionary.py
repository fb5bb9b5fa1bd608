"""The full-text windows' text packed with a preset dictionary of Python (migration 22,
``stored_text.DICTIONARY``) against each window zlib-packed alone, the code before it: the
bytes of the full-text tables, the time to write them, and Search, side by side in one run.

The measurement is bench/window_text.py's (in process, the standard library of `python3` on
PATH indexed by each version's own writer, each database vacuumed; the query language's set,
and every 400th term of the index's vocabulary as written and with ``case:yes``, which reads
each candidate window's text), with ``--before`` by default the version before
WINDOW_DICTIONARY. Every answer is compared.

  .venv/bin/python bench/window_dictionary.py [--before REV] [--stdlib DIR] [--rounds 3]
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import window_text

if __name__ == "__main__":
    window_text.main(__file__, __doc__ or "", "WINDOW_DICTIONARY = 22",
                     ("with a dictionary of Python (this tree)", "zlib, each alone (before)"))

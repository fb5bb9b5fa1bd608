"""Each content kept once in the index, as its windows of lines each packed alone (migration
23, ``blob_windows``), against the version before it, which kept a content whole (``blobs``)
and each window's text again beside it (``window_texts``): the bytes of these tables, the
time to write them, and Search, which reads the windows' text, side by side in one run.

The measurement is bench/window_text.py's (in process, the standard library of `python3` on
PATH indexed by each version's own writer, each database vacuumed; the query language's set,
and every 400th term of the index's vocabulary as written and with ``case:yes``, which reads
each candidate window's text), with ``--before`` by default the version before
CONTENT_WINDOWS. Every answer is compared. Reading a whole content back is measured through
the suite by bench/db_size.py.

  .venv/bin/python bench/content_windows.py [--before REV] [--stdlib DIR] [--rounds 3]
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import window_text

if __name__ == "__main__":
    window_text.main(__file__, __doc__ or "", "CONTENT_WINDOWS = 23",
                     ("each content once, as its windows (this tree)", "whole, and each window's text (before)"))

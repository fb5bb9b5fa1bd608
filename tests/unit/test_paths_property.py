"""Property: whatever path string arrives from the bus, it is either refused by name or
becomes a relative path that stays inside the project root."""

from __future__ import annotations

import os
import posixpath

from hypothesis import given, settings
from hypothesis import strategies as st

from codeanalysisd.paths import PathRejected, project_relpath

ROOT = "/srv/proj"
# path-ish text: separators, dots and names weighted up, anything else possible
PIECES = st.one_of(st.sampled_from(["/", "..", ".", "a", "b.py", "//", "\\", "~", " ", "\0", ROOT, "/srv"]),
                   st.text(min_size=1, max_size=8))
PATHS = st.lists(PIECES, max_size=12).map("".join) | st.text(max_size=300)


@settings(max_examples=2000, deadline=None)
@given(PATHS)
def test_a_path_is_refused_or_stays_inside_the_root(raw):
    try:
        rel = project_relpath(ROOT, raw)
    except PathRejected as exc:
        assert str(exc)  # refused with words a person can act on
        return
    parts = rel.split("/")
    assert rel and not rel.startswith("/") and "\0" not in rel
    assert ".." not in parts and "." not in parts and "" not in parts
    joined = posixpath.normpath(posixpath.join(ROOT, rel))
    assert joined.startswith(ROOT + "/") and os.path.relpath(joined, ROOT) == rel

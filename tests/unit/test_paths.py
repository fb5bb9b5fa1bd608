import os

import pytest

from codeanalysisd import paths


def test_canonical_root_resolves_symlinks_and_slashes(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert paths.project_root(str(link) + "//") == str(real)
    assert paths.project_root(str(real) + "/./") == str(real)


@pytest.mark.parametrize("raw, reason", [
    ("", "is empty"),
    ("relative", "must be an absolute path"),
    ("/a/../b", "must not contain '..'"),
    ("/a\0b", "NUL byte"),
    ("/" + "x" * 5000, "longer than 4096 bytes"),
])
def test_syntax_rejections(raw, reason):
    with pytest.raises(paths.PathRejected, match=reason):
        paths.project_root(raw)


def test_missing_file_and_unreadable(tmp_path):
    with pytest.raises(paths.PathRejected, match="does not exist"):
        paths.project_root(str(tmp_path / "nope"))
    f = tmp_path / "f.py"
    f.write_text("x")
    with pytest.raises(paths.PathRejected, match="is not a directory"):
        paths.project_root(str(f))
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(paths.PathRejected, match="Too many levels of symbolic links"):
        paths.project_root(str(loop))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
def test_unreadable_directory(tmp_path):
    d = tmp_path / "closed"
    d.mkdir(mode=0)
    with pytest.raises(paths.PathRejected, match="not readable"):
        paths.project_root(str(d))


@pytest.mark.parametrize("a, b, overlap", [
    ("/srv/p", "/srv/p", True),
    ("/srv/p", "/srv/p/sub", True),
    ("/srv/p/sub", "/srv/p", True),
    ("/srv/p", "/srv/pq", False),
    ("/srv/p", "/srv/q", False),
    ("/", "/srv", True),
])
def test_roots_overlap(a, b, overlap):
    assert paths.roots_overlap(a, b) is overlap

"""Writing a version back into a project (run as root: permission cases are not testable here)."""

import os
import stat

import pytest

from codeanalysisd.repair.writeback import WriteFailed, WriteRefused, write_into


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    return tmp_path / "root"


def no_temporaries(top) -> bool:
    return not [n for _, _, names in os.walk(top) for n in names if n.endswith(".tmp")]


def test_creates_missing_directories_with_fixed_modes(root):
    old = os.umask(0o077)  # the unit's UMask
    try:
        written = write_into(str(root), "a/b/c.py", b"print(1)\n", overwrite=False)
    finally:
        os.umask(old)
    target = root / "a" / "b" / "c.py"
    assert target.read_bytes() == b"print(1)\n"
    assert (written.size, written.replaced) == (9, None) and written.mtime_ns == target.stat().st_mtime_ns
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "a").stat().st_mode) == stat.S_IMODE((root / "a" / "b").stat().st_mode) == 0o755
    assert no_temporaries(root)


def test_existing_file_is_refused_without_overwrite(root):
    (root / "m.py").write_bytes(b"mine\n")
    with pytest.raises(WriteRefused, match=r"m\.py exists"):
        write_into(str(root), "m.py", b"theirs\n", overwrite=False)
    assert (root / "m.py").read_bytes() == b"mine\n"
    assert sorted(os.listdir(root)) == ["m.py"]


def test_overwrite_replaces_and_returns_old_bytes(root):
    (root / "m.py").write_bytes(b"mine\n")
    os.chmod(root / "m.py", 0o600)
    written = write_into(str(root), "m.py", b"restored\n", overwrite=True)
    assert written.replaced == b"mine\n" and (root / "m.py").read_bytes() == b"restored\n"
    assert stat.S_IMODE((root / "m.py").stat().st_mode) == 0o644
    assert sorted(os.listdir(root)) == ["m.py"]


@pytest.mark.parametrize("rel", ["link/x.py", "a/link/x.py", "link/new/x.py"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_symlinked_directory_on_the_way_is_not_followed(root, rel, overwrite):
    outside = root.parent / "outside"
    (root / "a").mkdir()
    os.symlink(outside, root / "link")
    os.symlink(outside, root / "a" / "link")
    with pytest.raises(WriteFailed, match=r"cannot write .*/x\.py"):
        write_into(str(root), rel, b"x\n", overwrite)
    assert os.listdir(outside) == []
    assert no_temporaries(root)


def test_symlinked_directory_is_named_in_the_message(root):
    os.symlink(root.parent / "outside", root / "link")
    with pytest.raises(WriteFailed, match="a directory on the way is a symbolic link"):
        write_into(str(root), "link/x.py", b"x\n", overwrite=False)


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("dangling", [False, True])
def test_symlink_at_target_name_is_not_replaced(root, overwrite, dangling):
    target = root.parent / "outside" / "target.py"
    if not dangling:
        target.write_bytes(b"untouched\n")
    os.symlink(target, root / "m.py")
    with pytest.raises(WriteFailed, match="not a regular file"):
        write_into(str(root), "m.py", b"x\n", overwrite)
    assert os.readlink(root / "m.py") == str(target)
    assert (target.read_bytes() == b"untouched\n") if not dangling else not target.exists()
    assert sorted(os.listdir(root)) == ["m.py"]


def test_directory_at_target_name_is_not_replaced(root):
    (root / "m.py").mkdir()
    with pytest.raises(WriteFailed, match="not a regular file"):
        write_into(str(root), "m.py", b"x\n", overwrite=True)
    assert (root / "m.py").is_dir() and no_temporaries(root)

"""Writing a restored version as the calling user (cli/restore_write.py), on a real filesystem.

Run as root (as the suite's tests are); the cases about another user's permissions run a
child process under setpriv as that user.
"""

import hashlib
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

from codeanalysisd import tree
from codeanalysisd.cli import restore_write as rw
from codeanalysisd.cli.restore_write import (
    CannotWrite,
    LinkOnTheWay,
    Mismatch,
    NotARegularFile,
    Plan,
    RootMoved,
    TargetExists,
    write_into,
)


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    return tmp_path / "root"


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def rid(path) -> tree.RootId:
    return tree.RootId.of(os.stat(path))


def write(root, rel, data, mode=0, overwrite=False):
    return write_into(str(root), rid(root), rel, data, mode, overwrite)


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def no_temporaries(top) -> bool:
    return not [n for _, _, names in os.walk(top) for n in names if n.endswith(".tmp")]


# ----------------------------------------------------------------------------- new files
@pytest.mark.parametrize(("recorded", "mask", "expected"), [
    (0o600, 0o022, 0o600), (0o755, 0o022, 0o755), (0o755, 0o077, 0o700), (0o644, 0o077, 0o600),
    (0, 0o022, 0o644), (0o4755, 0o022, 0o755),  # unknown: 0666 less the umask; never a set-id bit
])
def test_a_new_file_gets_the_recorded_mode_less_the_umask(root, recorded, mask, expected):
    old = os.umask(mask)
    try:
        written = write(root, "a/b/c.py", b"print(1)\n", recorded)
        assert rw.umask() == mask and rw.new_file_mode(recorded) == expected
    finally:
        os.umask(old)
    target = root / "a" / "b" / "c.py"
    assert target.read_bytes() == b"print(1)\n" and mode_of(target) == expected == written.mode
    assert (written.size, written.replaced, written.unchanged) == (9, None, False)
    assert written.mtime_ns == target.stat().st_mtime_ns
    # missing directories are made as any mkdir of the caller's: under the umask
    assert mode_of(root / "a") == mode_of(root / "a" / "b") == 0o777 & ~mask
    assert no_temporaries(root)


def test_the_same_bytes_already_there_are_not_written_again(root, umask022):
    (root / "m.py").write_bytes(b"same\n")
    before = (root / "m.py").stat()
    for overwrite in (False, True):
        written = write(root, "m.py", b"same\n", 0o600, overwrite)
        assert written.unchanged and written.replaced is None
    after = (root / "m.py").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_an_existing_file_is_refused_without_overwrite(root):
    (root / "m.py").write_bytes(b"mine\n")
    with pytest.raises(TargetExists, match=r"m\.py exists; ask for overwrite"):
        write(root, "m.py", b"theirs\n")
    assert (root / "m.py").read_bytes() == b"mine\n"
    assert sorted(os.listdir(root)) == ["m.py"]


def test_a_file_that_appears_between_the_look_and_the_link_is_not_replaced(root, monkeypatch):
    fill = rw._fill

    def racing(fd, data):
        fill(fd, data)
        (root / "m.py").write_bytes(b"appeared\n")  # someone else, just before the link

    monkeypatch.setattr(rw, "_fill", racing)
    with pytest.raises(TargetExists, match="appeared while it was being restored"):
        write(root, "m.py", b"restored\n")
    assert (root / "m.py").read_bytes() == b"appeared\n"
    assert no_temporaries(root)


# ----------------------------------------------------------------------------- overwriting
@pytest.mark.parametrize("kept", [0o600, 0o755, 0o640, 0o700, 0o444])
def test_overwrite_keeps_the_replaced_files_mode_and_returns_exactly_its_bytes(root, kept, umask022):
    (root / "m.py").write_bytes(b"mine\n")
    os.chmod(root / "m.py", kept)
    # the recorded mode is wider: the file's own mode wins, never widened
    written = write(root, "m.py", b"restored\n", 0o777, overwrite=True)
    assert written.replaced == b"mine\n" and (root / "m.py").read_bytes() == b"restored\n"
    assert mode_of(root / "m.py") == kept == written.mode
    assert sorted(os.listdir(root)) == ["m.py"]


def test_overwrite_keeps_another_users_owner_and_group(root, umask022):
    """Root restoring a user's file: the file stays the user's."""
    (root / "m.py").write_bytes(b"mine\n")
    os.chown(root / "m.py", 4242, 4343)
    os.chmod(root / "m.py", 0o600)
    write(root, "m.py", b"restored\n", 0o644, overwrite=True)
    st = (root / "m.py").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4242, 4343, 0o600)


def test_overwrite_keeps_the_access_acl(root, umask022):
    target = root / "m.py"
    target.write_bytes(b"mine\n")
    os.chmod(target, 0o640)
    r = subprocess.run(["setfacl", "-m", "u:nobody:r,m::r", str(target)], capture_output=True, text=True)
    if r.returncode != 0 and "not supported" in r.stderr:
        pytest.skip(f"no ACLs on this filesystem: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    acl = os.getxattr(target, rw.ACL_XATTR)
    before = subprocess.run(["getfacl", "-cp", str(target)], capture_output=True, text=True, check=True).stdout
    write(root, "m.py", b"restored\n", 0o644, overwrite=True)
    after = subprocess.run(["getfacl", "-cp", str(target)], capture_output=True, text=True, check=True).stdout
    assert "user:nobody:r--" in after and after == before
    assert os.getxattr(target, rw.ACL_XATTR) == acl and target.read_bytes() == b"restored\n"


def test_what_was_replaced_is_read_from_the_exchanged_inode(root, monkeypatch):
    """An edit that lands after the look, before the swap, is what gets reported (L7)."""
    (root / "m.py").write_bytes(b"looked at\n")
    fill = rw._fill

    def late_edit(fd, data):
        fill(fd, data)
        with open(root / "m.py", "ab") as f:
            f.write(b"late edit\n")

    monkeypatch.setattr(rw, "_fill", late_edit)
    written = write(root, "m.py", b"restored\n", overwrite=True)
    assert written.replaced == b"looked at\nlate edit\n" and (root / "m.py").read_bytes() == b"restored\n"
    assert no_temporaries(root)


def test_without_an_exchange_a_rename_replaces_and_the_bytes_looked_at_are_reported(root, monkeypatch):
    monkeypatch.setattr(rw, "_renameat2", None)
    (root / "m.py").write_bytes(b"mine\n")
    os.chmod(root / "m.py", 0o600)
    written = write(root, "m.py", b"restored\n", overwrite=True)
    assert written.replaced == b"mine\n" and (root / "m.py").read_bytes() == b"restored\n"
    assert mode_of(root / "m.py") == 0o600 and no_temporaries(root)


def test_exchange_swaps_two_names(root):
    (root / "a").write_bytes(b"A")
    (root / "b").write_bytes(b"B")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert rw.exchange(fd, "a", "b") is True
        with pytest.raises(FileNotFoundError):
            rw.exchange(fd, "a", "gone")
    finally:
        os.close(fd)
    assert ((root / "a").read_bytes(), (root / "b").read_bytes()) == (b"B", b"A")


# ----------------------------------------------------------------------------- links and odd files
@pytest.mark.parametrize("rel", ["link/x.py", "a/link/x.py", "link/new/x.py"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_symlinked_directory_on_the_way_is_not_followed(root, rel, overwrite):
    outside = root.parent / "outside"
    (root / "a").mkdir()
    os.symlink(outside, root / "link")
    os.symlink(outside, root / "a" / "link")
    with pytest.raises(LinkOnTheWay, match=r"link is a symbolic link: not followed"):
        write(root, rel, b"x\n", overwrite=overwrite)
    assert os.listdir(outside) == []
    assert no_temporaries(root)


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_at_the_target_is_not_replaced(root, overwrite, dangling):
    target = root.parent / "outside" / "target.py"
    if not dangling:
        target.write_bytes(b"untouched\n")
    os.symlink(target, root / "m.py")
    with pytest.raises(NotARegularFile, match="not a regular file"):
        write(root, "m.py", b"x\n", overwrite=overwrite)
    assert os.readlink(root / "m.py") == str(target)
    assert (target.read_bytes() == b"untouched\n") if not dangling else not target.exists()
    assert sorted(os.listdir(root)) == ["m.py"]


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_directory_or_fifo_at_the_target_is_refused_without_waiting(root, kind):
    if kind == "directory":
        (root / "m.py").mkdir()
    else:
        os.mkfifo(root / "m.py")  # nobody writes to it: opening it blocking would hang
    with pytest.raises(NotARegularFile, match="not a regular file"):
        write(root, "m.py", b"x\n", overwrite=True)
    assert sorted(os.listdir(root)) == ["m.py"] and no_temporaries(root)


def test_a_root_reached_through_a_symlink_is_refused(root, tmp_path):
    os.symlink(root, tmp_path / "via")
    with pytest.raises(tree.RootGone):
        write_into(str(tmp_path / "via"), rid(root), "x.py", b"x\n", 0, False)
    with pytest.raises(RootMoved):
        write_into(str(tmp_path / "via"), rid(root), "x.py", b"x\n", 0, False)
    assert os.listdir(root) == []


def test_a_root_swapped_for_another_directory_or_a_link_is_refused(root, tmp_path):
    registered = rid(root)
    os.rename(root, tmp_path / "moved")
    root.mkdir()  # another directory at the same path
    with pytest.raises(tree.RootGone, match="another directory"):
        write_into(str(root), registered, "x.py", b"x\n", 0, False)
    root.rmdir()
    os.symlink(tmp_path / "moved", root)  # the real one, behind a link
    with pytest.raises(tree.RootGone):
        write_into(str(root), registered, "x.py", b"x\n", 0, False)
    assert os.listdir(tmp_path / "moved") == []


# ----------------------------------------------------------------------------- the caller's permissions
CHILD = """
import sys
from codeanalysisd import tree
from codeanalysisd.cli.restore_write import RestoreRefused, write_into
root, dev, ino, rel, overwrite = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
try:
    write_into(root, tree.RootId(dev, ino), rel, b"x = 1\\n", 0o644, overwrite)
except RestoreRefused as exc:
    print(type(exc).__name__, exc)
    sys.exit(3)
"""


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_a_caller_who_may_not_write_the_directory_is_told_so():
    base = pathlib.Path(tempfile.mkdtemp(dir="/var/tmp"))  # pytest's own is root's alone
    try:
        refused_as_nobody(base)
    finally:
        shutil.rmtree(base)


def refused_as_nobody(base):
    top = base / "proj"
    (top / "pkg").mkdir(parents=True)
    os.chmod(base, 0o755)
    os.chmod(top, 0o755)
    os.chmod(top / "pkg", 0o755)  # root's: others may read and search, not write
    (top / "pkg" / "m.py").write_bytes(b"old\n")
    st = os.stat(top)
    for rel, overwrite in (("pkg/new.py", False), ("pkg/m.py", True), ("pkg/sub/x.py", False)):
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", CHILD,
                            str(top), str(st.st_dev), str(st.st_ino), rel, "1" if overwrite else "0"],
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
        assert r.returncode == 3, (r.stdout, r.stderr)
        assert r.stdout.startswith("CannotWrite you cannot") and f"{top}/pkg" in r.stdout, r.stdout
    os.chmod(base, 0o700)  # now not even the root can be reached
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", CHILD,
                        str(top), str(st.st_dev), str(st.st_ino), "pkg/new.py", "0"],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert r.returncode == 3 and r.stdout.startswith(f"CannotWrite you cannot reach {top} yourself"), r.stdout
    assert sorted(os.listdir(top / "pkg")) == ["m.py"] and (top / "pkg" / "m.py").read_bytes() == b"old\n"


# ----------------------------------------------------------------------------- the reply
def test_a_plan_is_read_from_the_reply_and_checked(root):
    data = b"print(1)\n"
    reply = {"path": "m.py", "target": f"{root}/m.py", "root": str(root), "root_dev": 1, "root_ino": 2,
             "version": 3, "sha256": hashlib.sha256(data).hexdigest(), "content": data, "mode": 0o600,
             "overwrite": False}
    plan = Plan.from_reply("p", reply)
    assert (plan.version, plan.mode, plan.root_id, plan.content) == (3, 0o600, tree.RootId(1, 2), data)
    with pytest.raises(Mismatch, match="does not match its sha256"):
        Plan.from_reply("p", {**reply, "content": b"other\n"})
    assert issubclass(CannotWrite, rw.RestoreRefused) and issubclass(RootMoved, tree.RootGone)

"""A project tree is reached from its root's identity and never through a symbolic link."""

import errno
import os

import pytest

from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.index.reading import read_file
from codeanalysisd.repair import disk
from codeanalysisd.tree import Kind, RootGone, RootId, Tree, identity, open_root


def make(base, *files):
    for rel in files:
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {rel}\n")


@pytest.fixture
def victim(tmp_path):
    """Another tree, with a file an attacker would like to read or overwrite."""
    tree = tmp_path / "victim"
    make(tree, "config/local_settings.py", "conftest.py")
    return tree


def test_identity_is_the_directory_not_the_path(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    found = identity(str(root))
    st = os.stat(root)
    assert found == RootId(st.st_dev, st.st_ino) and found.known
    os.close(open_root(str(root), found))
    root.rename(tmp_path / "p.real")
    root.mkdir()  # the same path, another directory
    with pytest.raises(RootGone, match="another directory"):
        open_root(str(root), found)


def test_a_root_swapped_for_a_link_is_gone_even_to_the_right_directory(tmp_path):
    real = tmp_path / "p.real"
    real.mkdir()
    found = identity(str(real))
    link = tmp_path / "p"
    link.symlink_to(real)
    # the link leads to the very directory registered: still not followed
    with pytest.raises(RootGone, match="symbolic link"):
        open_root(str(link), found)


def test_a_link_above_the_root_is_not_followed(tmp_path):
    (tmp_path / "real" / "p").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with pytest.raises(RootGone, match="symbolic link"):
        identity(str(tmp_path / "alias" / "p"))
    with pytest.raises(RootGone, match="does not exist"):
        identity(str(tmp_path / "nothing"))
    (tmp_path / "file").write_text("")
    with pytest.raises(RootGone, match="not a directory"):
        identity(str(tmp_path / "file"))


def test_a_symlinked_directory_inside_is_never_entered(tmp_path, victim):
    root = tmp_path / "p"
    make(root, "config/local_settings.py", "ok.py")
    tree = Tree(str(root), identity(str(root)))
    assert read_file(tree, "config/local_settings.py").data == b"# config/local_settings.py\n"
    # H2a: the attacker's own directory swapped for a link to the victim's
    (root / "config").rename(root / "c.real")
    (root / "config").symlink_to(victim / "config")
    item = read_file(tree, "config/local_settings.py")
    assert item is None or item.data is None  # never the victim's bytes
    with pytest.raises(OSError) as caught:
        tree.open("config/local_settings.py")
    assert caught.value.errno == errno.ELOOP
    with pytest.raises(OSError):
        tree.lstat("config/local_settings.py")
    files = ProjectFiles(str(root), identity=tree.expected)
    assert list(files.walk()) == ["c.real/local_settings.py", "ok.py"]
    assert not files.is_member("config/local_settings.py")
    assert files.is_excluded_dir("config")
    on_disk, unsettled = disk.state(["config/local_settings.py", "ok.py"], files)
    assert set(on_disk) == {"ok.py"} and not unsettled


def test_a_held_tree_keeps_reading_the_registered_directory(tmp_path, victim):
    root = tmp_path / "p2"
    make(root, "conftest.py")
    tree = Tree(str(root), identity(str(root)))
    tree.verify()
    # H2b's swap: the root moved away and a link to the victim's tree put in its place
    root.rename(tmp_path / "p2.real")
    root.symlink_to(victim)
    assert read_file(tree, "conftest.py").data == b"# conftest.py\n"  # still p2's own file
    with pytest.raises(RootGone, match="symbolic link"):
        tree.verify()
    files = ProjectFiles(str(root), identity=tree.expected)
    with pytest.raises(RootGone):
        list(files.walk())


def test_entries_say_what_each_name_is_without_following(tmp_path, victim):
    make(tmp_path, "d/x.py")
    (tmp_path / "f.py").write_text("")
    (tmp_path / "l.py").symlink_to(victim / "conftest.py")
    (tmp_path / "ld").symlink_to(victim)
    os.mkfifo(tmp_path / "fifo.py")
    tree = Tree(str(tmp_path))
    assert dict(tree.entries("")) == {"d": Kind.DIRECTORY, "f.py": Kind.FILE, "l.py": Kind.LINK,
                                      "ld": Kind.LINK, "fifo.py": Kind.OTHER, "victim": Kind.DIRECTORY}
    with pytest.raises(OSError):
        tree.entries("ld")
    assert tree.read_small("fifo.py", 100) is None  # O_NONBLOCK: a FIFO does not hang the reader
    assert tree.read_small("l.py", 100) is None


@pytest.mark.parametrize(("rel", "target", "expected"), [
    ("a/l.py", "m.py", "a/m.py"),
    ("a/l.py", "../m.py", "m.py"),
    ("a/l.py", "./b/../c.py", "a/c.py"),
    ("l.py", "../outside.py", None),
    ("a/l.py", "../../etc/passwd", None),
    ("l.py", "/srv/p/pkg/m.py", "pkg/m.py"),
    ("l.py", "/srv/p", ""),
    ("l.py", "/srv/pother/m.py", None),
    ("l.py", "/etc/passwd", None),
])
def test_where_a_link_points_is_read_from_its_text(rel, target, expected):
    assert Tree("/srv/p").inside(rel, target) == expected


def test_what_lies_past_a_link_does_not_decide_what_the_owner_sees(tmp_path, victim):
    """The versions of a path that is not in the project any more are its owner's to see;
    a link put where it was, into another tree that has a file there, changes nothing."""
    from codeanalysisd.access import Caller
    from codeanalysisd.owner.permissions import View
    from codeanalysisd.records import ProjectInfo

    root = tmp_path / "p"
    make(root, "config/local_settings.py", "kept.py")
    found = identity(str(root))
    project = ProjectInfo("p", "p", str(root), 1, "active", 4242, found.dev, found.ino)
    owner, other = View(Caller(4242, frozenset({4242}))), View(Caller(4343, frozenset({4343})))
    (root / "config").rename(root / "c.real")
    assert owner.sees_history(project, "config/local_settings.py")  # gone from the project: the owner's
    (root / "config").symlink_to(victim / "config")
    assert owner.sees_history(project, "config/local_settings.py")  # the same answer: nothing is probed
    assert not other.sees_history(project, "config/local_settings.py")
    os.chmod(tmp_path, 0o700)  # a caller who cannot reach the file itself still cannot see it
    assert not owner.sees_history(project, "kept.py")

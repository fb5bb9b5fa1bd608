"""The watcher's diff logic without the owner: which paths to compare, what differs, what moved."""

from __future__ import annotations

import hashlib
import os
import random
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from codeanalysisd.bus.owner_client import OwnerClient
from codeanalysisd.index import reading
from codeanalysisd.index.membership import ProjectFiles
from codeanalysisd.index.reading import FileRead
from codeanalysisd.watch.sync import IndexedFile, Plan, ProjectSync, compare, find_moves


def make(root: Path, *relpaths: str, text: str = "x = 1\n") -> None:
    for rel in relpaths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def offline_sync(root: Path, known: dict[str, IndexedFile] | None = None) -> ProjectSync:
    """A ProjectSync whose owner is never called: expand and compare only read the disk."""
    sync = ProjectSync("p", str(root), cast(OwnerClient, None))
    sync.known = dict(known or {})
    return sync


# ---------------------------------------------------------------------- expand: the walk as it was
class OsWalkExpand:
    """The expansion as the watcher did it with os.walk and one is_member per file: the reference."""

    def __init__(self, root: str, known: dict[str, IndexedFile]) -> None:
        self.root = root
        self.files = ProjectFiles(root)
        self.known = known

    def _known_under(self, rel: str) -> Iterator[str]:
        prefix = rel.rstrip("/") + "/" if rel else ""
        return (p for p, k in self.known.items() if k.live and p.startswith(prefix))

    def _symlink_reason(self, rel: str) -> str | None:
        full = os.path.join(self.root, rel)
        if not os.path.islink(full) or not self.files.could_be_member(rel):
            return None
        # The target from the link's text alone: nothing outside the root is looked up.
        text = os.readlink(full)
        target = os.path.normpath(os.path.join(os.path.dirname(full), text))
        if target != self.root and not target.startswith(self.root + "/"):
            return f"symbolic link to {text}, outside the project: not followed"
        inside = os.path.relpath(target, self.root)
        # walked one component at a time with lstat: a link on the way is not followed
        path, kind = self.root, None
        for part in inside.split("/"):
            path = os.path.join(path, part)
            try:
                kind = stat.S_IFMT(os.lstat(path).st_mode)
            except OSError:
                kind = None
                break
            if kind != stat.S_IFDIR and path != target:
                kind = None
                break
        if kind is None:
            return f"symbolic link to {inside}, which is not there: not followed"
        if kind == stat.S_IFLNK:
            return f"symbolic link to {inside}, itself a link: not followed"
        return f"symbolic link to {inside}: not followed (the target is indexed)"

    def _members_under(self, rel: str, skipped: dict[str, str]) -> Iterator[str]:
        top = os.path.join(self.root, rel) if rel else self.root
        for dirpath, dirnames, filenames in os.walk(top):
            reldir = os.path.relpath(dirpath, self.root)
            reldir = "" if reldir == "." else reldir
            for name in dirnames:
                # os.walk lists a link to a directory with the directories; one that leaves the
                # project is reported all the same (where it leads is not looked at)
                candidate = f"{reldir}/{name}" if reldir else name
                reason = self._symlink_reason(candidate)
                if reason is not None and "(the target is indexed)" not in reason:
                    skipped[candidate] = reason
            dirnames[:] = sorted(d for d in dirnames
                                 if not self.files.is_excluded_dir(f"{reldir}/{d}" if reldir else d))
            for name in sorted(filenames):
                candidate = f"{reldir}/{name}" if reldir else name
                if self.files.is_member(candidate):
                    yield candidate
                elif (reason := self._symlink_reason(candidate)) is not None:
                    skipped[candidate] = reason

    def expand(self, rels: list[str]) -> tuple[set[str], dict[str, dict[str, str]]]:
        out: set[str] = set()
        skipped: dict[str, dict[str, str]] = {}
        for rel in rels:
            found = skipped.setdefault(rel, {})
            full = os.path.join(self.root, rel) if rel else self.root
            if os.path.isdir(full) and not os.path.islink(full):
                if rel and self.files.is_excluded_dir(rel):
                    out.update(self._known_under(rel))
                else:
                    out.update(self._members_under(rel, found))
                    out.update(self._known_under(rel))
            else:
                out.add(rel)
                out.update(self._known_under(rel))
                if rel and (reason := self._symlink_reason(rel)) is not None:
                    found[rel] = reason
        return out, skipped


def linked_tree(root: Path, outside: Path, seed: int) -> list[str]:
    """A random tree with excluded directories, venvs, .gitignore files and symbolic links of
    every kind at several depths; returns every path in it (and a few that are not there)."""
    rng = random.Random(seed)
    names = ["a", "b", "lib", "build", "sub", "pkg.py", "__pycache__", ".venv", "env", "node_modules", ".git"]
    dirs = [""]
    for _ in range(30):
        parent = rng.choice(dirs)
        d = f"{parent}/{rng.choice(names)}" if parent else rng.choice(names)
        if d not in dirs and d.count("/") < 4:
            dirs.append(d)
    for _ in range(120):
        d = rng.choice(dirs)
        name = rng.choice(["mod.py", "gen_1.py", "keep.py", "x.txt", "b.py"])
        make(root, f"{d}/{name}" if d else name)
    make(outside, "stolen.py", "pkg/inner.py")
    for d in rng.sample(dirs, 6):
        (root / d / ".gitignore").write_text(rng.choice(["gen_*.py\n", "build/\n", "l1.py\n", "!keep.py\n*.py\n",
                                                         "sub/\n", "lnk*\n"]))
    for d in rng.sample(dirs[1:], 2):
        (root / d / "pyvenv.cfg").write_text("")
    targets = [root / "mod.py", root / "nowhere.py", outside / "stolen.py", outside / "pkg", root]
    for i in range(40):
        where = root / rng.choice(dirs)
        where.mkdir(parents=True, exist_ok=True)
        link = where / rng.choice([f"l{i}.py", f"lnk{i}.py", f"l{i}", f"ld{i}"])
        if not os.path.lexists(link):
            if rng.random() < 0.1:
                link.symlink_to(link)  # a loop
            else:
                link.symlink_to(rng.choice([*targets, root / rng.choice(dirs)]))
    every = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        every += [n if rel == "." else f"{rel}/{n}" for n in dirnames + filenames]
    return ["", *sorted(every), "missing.py", "missing/dir"]


@pytest.mark.parametrize("seed", range(8))
def test_expand_finds_what_the_os_walk_expansion_found(tmp_path: Path, seed: int) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    paths = linked_tree(root, outside, seed)
    known = {p: IndexedFile(1, 1, b"", i % 3 != 0) for i, p in enumerate(paths[1::4])}
    known["gone/long/ago.py"] = IndexedFile(1, 1, b"", True)
    reported = 0
    for rel in paths:
        expected = OsWalkExpand(str(root), known).expand([rel])
        assert offline_sync(root, known).expand([rel]) == expected, rel
        reported += sum(len(found) for found in expected[1].values())
    assert reported  # links were met
    # several at once, with one instance (its cache warm) each
    reference, sync = OsWalkExpand(str(root), known), offline_sync(root, known)
    for batch in (paths[::7], paths[3::5], [""]):
        assert sync.expand(batch) == reference.expand(batch)


# ---------------------------------------------------------------------- compare
def test_compare_sorts_paths_into_index_touch_gone_and_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    make(tmp_path, "same.py", "touched.py", "changed.py", "new.py", "racing.py", text="same\n")
    (tmp_path / "changed.py").write_text("changed\n")
    make(tmp_path, "build/excluded.py", "notes.txt")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "same.py")
    st = {name: os.lstat(tmp_path / name) for name in ("same.py", "touched.py", "changed.py")}
    known = {
        "same.py": IndexedFile(st["same.py"].st_size, st["same.py"].st_mtime_ns, b"whatever", True),
        "touched.py": IndexedFile(st["touched.py"].st_size, 1, sha("same\n"), True),
        "changed.py": IndexedFile(st["changed.py"].st_size, 1, sha("same\n"), True),
        "deleted.py": IndexedFile(1, 1, sha("same\n"), True),
        "long_deleted.py": IndexedFile(1, 1, sha("same\n"), False),
        "build/excluded.py": IndexedFile(1, 1, sha("same\n"), True),  # excluded since
        "link.py": IndexedFile(1, 1, sha("same\n"), True),  # a file once, a symlink now
    }
    real_read = reading.read_file

    def read_file(root: str, rel: str) -> FileRead | None:
        return None if rel == "racing.py" else real_read(root, rel)

    monkeypatch.setattr("codeanalysisd.watch.sync.read_file", read_file)
    files = ProjectFiles(str(tmp_path))
    candidates = {*known, "new.py", "racing.py", "notes.txt", "missing.py", "build"}
    plan = compare(files, known, candidates)
    assert [item.rel for item in plan.index] == ["changed.py", "new.py"]
    assert plan.index[0].data == b"changed\n" and plan.index[0].sha256 == sha("changed\n")
    new = os.lstat(tmp_path / "new.py")
    assert (plan.index[1].size, plan.index[1].mtime_ns) == (new.st_size, new.st_mtime_ns)
    assert plan.touch == [("touched.py", st["touched.py"].st_size, st["touched.py"].st_mtime_ns)]
    assert plan.gone == ["build/excluded.py", "deleted.py", "link.py"]
    assert plan.retry == {"racing.py"}
    assert compare(files, known, []) == Plan()


def test_compare_never_takes_an_unreadable_file_for_unchanged_content(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, "locked.py")
    st = os.lstat(tmp_path / "locked.py")
    known = {"locked.py": IndexedFile(st.st_size, 1, b"", True)}
    unreadable = FileRead("locked.py", st.st_size, 2, None, b"", "cannot read: Permission denied")
    monkeypatch.setattr("codeanalysisd.watch.sync.read_file", lambda root, rel: unreadable)
    plan = compare(ProjectFiles(str(tmp_path)), known, ["locked.py"])
    assert plan.index == [unreadable] and not plan.touch


# ---------------------------------------------------------------------- moves
def read(rel: str, text: str | None) -> FileRead:
    data = None if text is None else text.encode()
    return FileRead(rel, len(data or b""), 7, data, b"" if data is None else hashlib.sha256(data).digest())


def indexed(text: str, live: bool = True) -> IndexedFile:
    return IndexedFile(len(text), 1, sha(text), live)


def test_a_new_path_with_a_gone_path_s_content_is_a_move() -> None:
    known = {"old.py": indexed("a"), "other.py": indexed("b")}
    new = [read("new.py", "a"), read("unrelated.py", "c")]
    assert find_moves(["old.py", "other.py"], new, known) == [("old.py", new[0])]


def test_several_files_with_the_same_content_pair_in_order() -> None:
    known = {"g1.py": indexed("same"), "g2.py": indexed("same"), "g3.py": indexed("other")}
    new = [read("n1.py", "same"), read("n2.py", "other"), read("n3.py", "same"), read("n4.py", "same")]
    assert find_moves(["g2.py", "g3.py", "g1.py"], new, known) == [
        ("g2.py", new[0]), ("g3.py", new[1]), ("g1.py", new[2])]  # n4: no gone path of that content left


def test_unreadable_new_files_are_never_moves() -> None:
    # an unreadable file's sha256 says nothing about its content, even if it equals a gone one's
    known = {"old.py": IndexedFile(0, 1, b"", True)}
    new = [read("new.py", None), read("empty.py", "")]
    assert find_moves(["old.py"], new[:1], known) == []
    known = {"old.py": indexed("")}
    assert find_moves(["old.py"], new, known) == [("old.py", new[1])]


def test_a_path_indexed_live_already_is_not_a_move_target() -> None:
    known = {"old.py": indexed("a"), "live.py": indexed("b"), "dead.py": indexed("x", live=False)}
    new = [read("live.py", "a"), read("dead.py", "a")]
    # live.py is changed content (re-indexed), not old.py moved; a deleted row may be taken over
    assert find_moves(["old.py"], new, known) == [("old.py", new[1])]


def test_nothing_gone_or_nothing_new_means_no_moves() -> None:
    known = {"old.py": indexed("a")}
    assert find_moves([], [read("new.py", "a")], known) == []
    assert find_moves(["old.py"], [], known) == []

"""Who may see a file (codeanalysisd/access.py): the verdicts, and the kernel's own answer.

The cases on disk need root (they chown to test ids and switch to them with setpriv); each
one also asks the kernel, by reading the file as the caller, so the expected value written
here and the kernel's cannot drift apart. The property test builds random trees with random
owners, modes and ACLs and compares every verdict with the kernel's.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codeanalysisd import access
from codeanalysisd.access import (
    GROUP,
    GROUP_OBJ,
    MASK,
    OTHER,
    USER,
    USER_OBJ,
    AclEntry,
    AclInvalid,
    Caller,
    Visibility,
    acl_permits,
    mode_permits,
    parse_acl,
    visible,
)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: chown to test ids, setpriv to become them")
needs_tools = pytest.mark.skipif(
    not (shutil.which("setfacl") and shutil.which("setpriv")),
    reason="needs setfacl (Debian package acl) and setpriv (util-linux): run tests/install-debian-deps.sh",
)


def on_disk(test):
    """A test that builds files owned by test ids and reads them as those ids."""
    return needs_root(needs_tools(test))

# Numeric ids that need not exist in /etc/passwd or /etc/group.
A, B, C, D, NOBODY = 40001, 40002, 40003, 40004, 40005


def caller(uid: int, *gids: int) -> Caller:
    return Caller(uid, frozenset(gids or (uid,)))


# ---------------------------------------------------------------- the rule, without a disk


def acl_bytes(*entries: tuple[int, int, int], version: int = 2) -> bytes:
    return struct.pack("<I", version) + b"".join(struct.pack("<HHI", *e) for e in entries)


UNDEF = 0xFFFFFFFF


def test_parse_acl_reads_the_kernel_format():
    raw = acl_bytes((USER_OBJ, 6, UNDEF), (USER, 4, A), (GROUP_OBJ, 4, UNDEF), (GROUP, 5, B),
                    (MASK, 5, UNDEF), (OTHER, 0, UNDEF))
    assert parse_acl(raw) == (AclEntry(USER_OBJ, 6, UNDEF), AclEntry(USER, 4, A), AclEntry(GROUP_OBJ, 4, UNDEF),
                              AclEntry(GROUP, 5, B), AclEntry(MASK, 5, UNDEF), AclEntry(OTHER, 0, UNDEF))


@pytest.mark.parametrize("raw", [
    b"", b"\x02\x00\x00", acl_bytes((USER_OBJ, 6, UNDEF), version=1),
    acl_bytes((USER_OBJ, 6, UNDEF)) + b"\x00", acl_bytes((0x40, 6, UNDEF)),
])
def test_parse_acl_refuses_what_the_kernel_would_not_hold(raw):
    with pytest.raises(AclInvalid):
        parse_acl(raw)


def entries(*e: tuple[int, int, int]) -> tuple[AclEntry, ...]:
    return tuple(AclEntry(*x) for x in e)


def test_acl_group_class_never_falls_through_to_other():
    acl = entries((USER_OBJ, 6, UNDEF), (GROUP_OBJ, 0, UNDEF), (GROUP, 0, B), (MASK, 7, UNDEF), (OTHER, 4, UNDEF))
    assert not acl_permits(acl, A, A, caller(C, B), 4)  # a named group, granting nothing
    assert not acl_permits(acl, A, A, caller(C, A), 4)  # the owning group
    assert acl_permits(acl, A, A, caller(C, C), 4)  # no group matches: other


def test_acl_any_matching_group_entry_may_grant_and_the_mask_applies():
    acl = entries((USER_OBJ, 6, UNDEF), (GROUP_OBJ, 0, UNDEF), (GROUP, 1, B), (GROUP, 4, C), (MASK, 5, UNDEF),
                  (OTHER, 0, UNDEF))
    assert acl_permits(acl, A, A, caller(D, A, B, C), 4)  # C's entry grants r, though A's and B's do not
    assert not acl_permits(acl, A, A, caller(D, A, B), 4)
    masked = acl[:4] + entries((MASK, 1, UNDEF), (OTHER, 4, UNDEF))
    assert not acl_permits(masked, A, A, caller(D, C), 4)  # r granted by the entry, taken by the mask


def test_acl_without_other_entry_refuses():
    assert not acl_permits(entries((USER_OBJ, 7, UNDEF), (GROUP_OBJ, 7, UNDEF)), A, A, caller(B), 4)


def fake_stat(mode: int, uid: int, gid: int) -> os.stat_result:
    return os.stat_result((stat.S_IFREG | mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))


def test_mode_bits_owner_group_other_without_fall_through():
    st_ = fake_stat(0o044, A, B)
    assert not mode_permits(st_, None, caller(A, B), 4)  # the owner gets the owner bits only
    assert mode_permits(st_, None, caller(C, B), 4)
    assert not mode_permits(fake_stat(0o704, A, B), None, caller(C, C, B), 4)  # group bits, not other


def test_mode_bits_decide_when_the_mask_is_empty():
    acl = entries((USER_OBJ, 6, UNDEF), (USER, 4, C), (GROUP_OBJ, 0, UNDEF), (MASK, 0, UNDEF), (OTHER, 4, UNDEF))
    # The kernel reads the ACL only when the group bits (the mask) are not all clear.
    assert mode_permits(fake_stat(0o604, A, B), acl, caller(C), 4)
    assert not mode_permits(fake_stat(0o614, A, B), acl[:3] + entries((MASK, 1, UNDEF), (OTHER, 4, UNDEF)),
                            caller(C), 4)


# ---------------------------------------------------------------- on disk, against the kernel


SCRIPT = r"""
for p; do
  case $p in
    r:*) cat -- "${p#r:}" >/dev/null ;;
    s:*) (cd "${p#s:}") ;;
    l:*) (cd "${p#l:}" && ls -f . >/dev/null) ;;
  esac 2>/dev/null
  echo $?
done
"""


def kernel(who: Caller, checks: list[tuple[str, str]]) -> list[bool]:
    """What the kernel answers, as ``who``, to each (kind, path): ``r`` reads a file, ``s``
    enters a directory, ``l`` enters and lists it. One setpriv per caller, one cat/cd/ls each."""
    if not checks:
        return []
    primary = min(who.gids)
    extra = sorted(who.gids - {primary})
    groups = [f"--groups={','.join(map(str, extra))}"] if extra else ["--clear-groups"]
    out = subprocess.run(
        ["setpriv", f"--reuid={who.uid}", f"--regid={primary}", *groups, "--inh-caps=-all", "--",
         "sh", "-c", SCRIPT, "sh", *(f"{kind}:{path}" for kind, path in checks)],
        cwd="/", capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()
    assert len(out) == len(checks), out
    return [code == "0" for code in out]


def kernel_reads(who: Caller, path: str) -> bool:
    return kernel(who, [("r", path)])[0]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """A fresh 0755 directory whose ancestors every test id can search."""
    top = tempfile.mkdtemp(prefix="access-", dir="/var/tmp")
    os.chmod(top, 0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top)


@pytest.fixture
def tree(base: str) -> Iterator[str]:
    top = tempfile.mkdtemp(dir=base)
    os.chmod(top, 0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top)


def make(path: str, uid: int, gid: int, mode: int, *acl: str, is_dir: bool = False) -> str:
    if is_dir:
        os.mkdir(path)
    else:
        with open(path, "w") as f:
            f.write("x\n")
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    if acl:
        subprocess.run(["setfacl", "-m", ",".join(acl), path], check=True)
    return path


def agree(path: str, who: Caller) -> bool:
    """The verdict, checked against the kernel."""
    verdict = Visibility(who).can_read_file(path)
    assert verdict == kernel_reads(who, path), f"{path} as {who}: access says {verdict}, the kernel disagrees"
    return verdict



@on_disk
def test_owner_without_read_is_refused_even_when_group_and_other_may(tree):
    f = make(f"{tree}/f", A, A, 0o077)
    assert not agree(f, caller(A, A))
    assert agree(f, caller(B, A)) and agree(f, caller(C))


@on_disk
def test_group_member_reads_with_the_group_bits(tree):
    f = make(f"{tree}/f", A, B, 0o640)
    assert agree(f, caller(C, C, B))  # B as a supplementary group
    assert agree(f, caller(C, B))  # B as the primary group
    assert not agree(f, caller(C, C, D))


@on_disk
def test_other_reads_but_a_group_member_without_group_bits_does_not(tree):
    f = make(f"{tree}/f", A, B, 0o604)
    assert agree(f, caller(C))
    assert not agree(f, caller(C, C, B))  # in the group: group bits, no fall-through to other


@on_disk
def test_a_0700_ancestor_hides_everything_below_it(tree):
    d = make(f"{tree}/d", A, A, 0o700, is_dir=True)
    sub = make(f"{d}/sub", A, A, 0o755, is_dir=True)
    f = make(f"{sub}/f", A, A, 0o644)
    assert agree(f, caller(A)) and not agree(f, caller(B, B, A))
    view = Visibility(caller(B))
    assert view.can_search_dir(tree) and view.can_list_dir(tree)
    assert not view.can_search_dir(d) and not view.can_search_dir(sub) and not view.can_list_dir(sub)


@on_disk
def test_search_without_read_and_read_without_search(tree):
    x_only = make(f"{tree}/x", A, A, 0o711, is_dir=True)
    r_only = make(f"{tree}/r", A, A, 0o744, is_dir=True)
    view = Visibility(caller(B))
    assert view.can_search_dir(x_only) and not view.can_list_dir(x_only)
    assert not view.can_search_dir(r_only) and not view.can_list_dir(r_only)
    assert kernel(caller(B), [("s", x_only), ("l", x_only), ("s", r_only), ("l", r_only)]) == [
        True, False, False, False]
    assert agree(make(f"{x_only}/f", A, A, 0o644), caller(B))


@on_disk
def test_named_user_entry_and_its_mask(tree):
    f = make(f"{tree}/f", A, A, 0o600, f"u:{B}:r")
    assert agree(f, caller(B)) and not agree(f, caller(C))
    subprocess.run(["setfacl", "-m", "m::x", f], check=True)  # the mask takes r away
    assert not agree(f, caller(B))


@on_disk
def test_an_empty_mask_hands_the_decision_back_to_the_mode_bits(tree):
    # u:B:r with mask --- : the group bits are 000, so the kernel does not read the ACL, and
    # B, in no group of the file, gets the *other* bits: here r.
    f = make(f"{tree}/f", A, A, 0o604, f"u:{B}:r", "m::-")
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o604
    assert agree(f, caller(B))
    subprocess.run(["setfacl", "-m", "m::x", f], check=True)  # now the ACL counts: u:B r, masked to nothing
    assert not agree(f, caller(B)) and agree(f, caller(C))


@on_disk
def test_named_group_entry(tree):
    f = make(f"{tree}/f", A, A, 0o600, f"g:{C}:r")
    assert agree(f, caller(B, B, C)) and not agree(f, caller(B, B, D))


@on_disk
def test_group_class_deny_beats_other(tree):
    # g:C:x, so the mask is x, not --- (with an empty mask the kernel would ignore the ACL)
    f = make(f"{tree}/f", A, A, 0o604, f"g:{C}:x")
    assert agree(f, caller(B))  # in no group: other grants r
    assert not agree(f, caller(B, B, C))  # in the named group: refused though other would grant
    assert not agree(f, caller(B, B, A))  # in the owning group, group:: is ---: the same
    g = make(f"{tree}/g", A, A, 0o604, f"g:{C}:r", "g::-")
    assert agree(g, caller(B, A, C))  # in two group entries: one granting is enough


@on_disk
def test_an_acl_on_a_directory_governs_search(tree):
    d = make(f"{tree}/d", A, A, 0o700, f"u:{B}:x", is_dir=True)
    f = make(f"{d}/f", A, A, 0o644)
    assert agree(f, caller(B)) and not agree(f, caller(C))


@on_disk
def test_root_sees_everything(tree):
    d = make(f"{tree}/d", A, A, 0o000, is_dir=True)
    f = make(f"{d}/f", A, A, 0o000)
    root = Visibility(Caller(0, frozenset({0})))
    assert Caller(0, frozenset()).is_root and not caller(A).is_root
    assert root.can_read_file(f) and root.can_search_dir(d) and root.can_list_dir(d)
    assert root.can_read_file(f"{d}/gone.py")  # root's verdict does not look at the disk


@on_disk
def test_a_symlink_anywhere_on_the_path_is_not_visible(tree):
    real = make(f"{tree}/real", A, A, 0o755, is_dir=True)
    f = make(f"{real}/f", A, A, 0o644)
    os.symlink(real, f"{tree}/link")
    os.symlink(f, f"{tree}/flink")
    assert kernel_reads(caller(B), f"{tree}/link/f") and kernel_reads(caller(B), f"{tree}/flink")
    view = Visibility(caller(B))
    assert view.can_read_file(f)
    assert not view.can_read_file(f"{tree}/link/f")  # the kernel would follow it; the index does not
    assert not view.can_read_file(f"{tree}/flink")
    assert not view.can_search_dir(f"{tree}/link") and not view.can_list_dir(f"{tree}/link")


@on_disk
def test_missing_file_missing_directory_and_odd_spellings_are_not_visible(tree):
    f = make(f"{tree}/f", A, A, 0o644)
    view = Visibility(caller(B))
    assert view.can_read_file(f)
    for path in (f"{tree}/gone.py", f"{tree}/gone/f", f"{tree}//f", f"{tree}/./f", f"{tree}/x/../f", "f", "", "/",
                 tree):  # the last: a directory, not a file
        assert not view.can_read_file(path), path
    assert not view.can_search_dir(f"{tree}/gone") and not view.can_search_dir(f)
    assert view.can_search_dir("/") and view.can_list_dir("/")


@on_disk
def test_directory_verdicts_last_for_the_request(tree):
    d = make(f"{tree}/d", A, A, 0o755, is_dir=True)
    f = make(f"{d}/f", A, A, 0o644)
    view = Visibility(caller(B))
    assert view.can_read_file(f)
    os.chmod(d, 0o700)
    assert view.can_read_file(f)  # this request already decided about d
    assert not Visibility(caller(B)).can_read_file(f)  # the next one sees the change


@on_disk
def test_visible_keeps_the_readable_paths_in_order(tree):
    paths = [make(f"{tree}/{n}", A, A, mode) for n, mode in (("a", 0o644), ("b", 0o600), ("c", 0o604))]
    assert visible(caller(B), [*paths, f"{tree}/gone"]) == [paths[0], paths[2]]


@on_disk
def test_what_the_service_cannot_read_is_not_visible(tree, monkeypatch):
    f = make(f"{tree}/f", A, A, 0o644)
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        if path == f:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(access.os, "lstat", lstat)
    assert not Visibility(caller(A)).can_read_file(f)


@on_disk
def test_no_acl_support_means_mode_bits_and_a_broken_acl_means_no_access(tree, monkeypatch):
    f = make(f"{tree}/f", A, A, 0o600, f"u:{B}:r")

    def unsupported(*args, **kwargs):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(access.os, "getxattr", unsupported)
    assert not Visibility(caller(B)).can_read_file(f)
    monkeypatch.setattr(access.os, "getxattr", lambda *a, **k: b"\x02\x00\x00\x00\x01")
    assert not Visibility(caller(A)).can_read_file(f)


# ---------------------------------------------------------------- property: the kernel agrees

IDS = st.sampled_from([A, B, C, D])
MODES = st.sampled_from([0o755, 0o750, 0o711, 0o700, 0o705, 0o644, 0o640, 0o604, 0o600, 0o000]) | st.integers(0, 0o777)
ACL_ENTRIES = st.lists(st.tuples(st.sampled_from("ug"), IDS, st.integers(0, 7)), max_size=3,
                       unique_by=lambda e: e[:2])


@dataclass
class Meta:
    uid: int
    gid: int
    mode: int
    acl: list[tuple[str, int, int]]
    mask: int | None
    chmod_last: bool  # chmod after setfacl: the group bits then become the mask


@dataclass
class Dir:
    meta: Meta
    files: list[Meta]
    dirs: list[Dir] = field(default_factory=list)


METAS = st.builds(Meta, IDS, IDS, MODES, ACL_ENTRIES, st.none() | st.integers(0, 7), st.booleans())


def dirs(depth: int) -> st.SearchStrategy[Dir]:
    below = st.lists(dirs(depth - 1), max_size=2) if depth > 1 else st.just([])
    return st.builds(Dir, METAS, st.lists(METAS, max_size=2), below)


TREES = st.lists(dirs(3), min_size=1, max_size=2)
CALLERS = st.lists(
    st.builds(lambda uid, gid, more: Caller(uid, frozenset({gid, *more})),
              st.sampled_from([A, B, C, D, NOBODY]), st.sampled_from([A, B, C, D, NOBODY]),
              st.frozensets(IDS, max_size=3)),
    min_size=1, max_size=3)


def rwx(perm: int) -> str:
    return "".join(c if perm & bit else "-" for c, bit in (("r", 4), ("w", 2), ("x", 1)))


def apply(path: str, meta: Meta) -> None:
    os.chown(path, meta.uid, meta.gid)
    if not meta.chmod_last:
        os.chmod(path, meta.mode)
    spec = [f"{kind}:{id_}:{rwx(perm)}" for kind, id_, perm in meta.acl]
    if meta.mask is not None:
        spec.append(f"m::{rwx(meta.mask)}")
    if spec:
        subprocess.run(["setfacl", "-m", ",".join(spec), path], check=True)
    if meta.chmod_last:
        os.chmod(path, meta.mode)


def build(top: str, trees: list[Dir]) -> tuple[list[str], list[str]]:
    """Create the trees under top; the directories and files made, metadata applied deepest
    first (so that root can still create everything)."""
    made_dirs: list[str] = [top]
    made_files: list[str] = []
    pending: list[tuple[str, Meta]] = []

    def make_dir(path: str, spec: Dir) -> None:
        os.mkdir(path)
        made_dirs.append(path)
        for i, meta in enumerate(spec.files):
            with open(f"{path}/f{i}.py", "w") as f:
                f.write("x = 1\n")
            made_files.append(f"{path}/f{i}.py")
            pending.append((f"{path}/f{i}.py", meta))
        for i, sub in enumerate(spec.dirs):
            make_dir(f"{path}/d{i}", sub)
        pending.append((path, spec.meta))

    for i, spec in enumerate(trees):
        make_dir(f"{top}/t{i}", spec)
    for path, meta in pending:
        apply(path, meta)
    return made_dirs, made_files


@on_disk
@settings(max_examples=60, deadline=None)
@given(trees=TREES, callers=CALLERS)
def test_every_verdict_is_the_kernels(base, trees, callers):
    top = tempfile.mkdtemp(dir=base)
    os.chmod(top, 0o755)
    try:
        made_dirs, made_files = build(top, trees)
        for who in callers:
            view = Visibility(who)
            checks = [("r", f) for f in made_files] + [(k, d) for d in made_dirs for k in ("s", "l")]
            ours = [view.can_read_file(p) if k == "r" else view.can_search_dir(p) if k == "s" else view.can_list_dir(p)
                    for k, p in checks]
            theirs = kernel(who, checks)
            wrong = [(k, p, o) for (k, p), o, t in zip(checks, ours, theirs, strict=True) if o != t]
            assert not wrong, f"{who}: access.py says (kind, path, verdict) {wrong}, the kernel the opposite"
    finally:
        shutil.rmtree(top)

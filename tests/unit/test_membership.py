import os
import random
import shutil
import subprocess
import sysconfig
import time

import pytest

from codeanalysisd.index.membership import ProjectFiles, is_ignore_file
from codeanalysisd.tree import RootGone

TOOL_DIRS = [".git", "__pycache__", ".hg", ".svn", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
             "node_modules"]


def make(root, *relpaths, text="x = 1\n"):
    for rel in relpaths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def members(root, *extra):
    return list(ProjectFiles(str(root), extra).walk())


def all_files(root):
    """Every non-directory entry below root (symlinks included), relative, POSIX."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            out.append(name if rel == "." else f"{rel}/{name}")
    return sorted(out)


def assert_consistent(root, *extra):
    """walk(), is_member() on every file (fresh instance and the walked one) and could_be_member agree."""
    files = ProjectFiles(str(root), extra)
    walked = list(files.walk())
    assert walked == sorted(walked)
    fresh = ProjectFiles(str(root), extra)
    expected = [p for p in all_files(root) if fresh.is_member(p)]
    assert walked == expected
    assert [p for p in all_files(root) if files.is_member(p)] == expected
    for p in all_files(root):
        if fresh.is_member(p):
            assert fresh.could_be_member(p)
    return walked


# ---------------------------------------------------------------------- structure
def test_plain_members_and_other_files(tmp_path):
    make(tmp_path, "top.py", "pkg/__init__.py", "pkg/mod.py", "pkg/deep/er/x.py", "README.md", "pkg/data.txt",
         "pkg/mod.pyc", "pkg/mod.py.bak", "pkg/x.pyi", "dir.py/inner.py", "pkg/MOD.PY")
    files = ProjectFiles(str(tmp_path))
    assert files.root == str(tmp_path)
    assert files.is_member("pkg/mod.py")
    assert files.is_member("dir.py/inner.py")
    for rel in ("README.md", "pkg/data.txt", "pkg/mod.pyc", "pkg/mod.py.bak", "pkg/x.pyi", "dir.py", "pkg",
                "pkg/MOD.PY", "pkg/missing.py", "missing/x.py"):
        assert not files.is_member(rel), rel
    assert assert_consistent(tmp_path) == ["dir.py/inner.py", "pkg/__init__.py", "pkg/deep/er/x.py", "pkg/mod.py",
                                           "top.py"]


def test_walk_order_is_string_order_not_per_directory_order(tmp_path):
    # "a" < "a-b" < "a.py" as names, but "a-b/c.py" < "a.py" < "a/b.py" as paths
    make(tmp_path, "a/b.py", "a-b/c.py", "a.py", "a0.py", "A.py")
    assert members(tmp_path) == ["A.py", "a-b/c.py", "a.py", "a/b.py", "a0.py"]


@pytest.mark.parametrize("rel", ["", "/abs.py", "../x.py", "a/../x.py", "./x.py", "a//x.py", "x.py/", "a\0.py"])
def test_malformed_paths_are_never_members(tmp_path, rel):
    make(tmp_path, "x.py", "a/x.py")
    files = ProjectFiles(str(tmp_path))
    assert not files.is_member(rel)
    assert not files.could_be_member(rel)


def test_malformed_and_root_directories(tmp_path):
    files = ProjectFiles(str(tmp_path))
    assert not files.is_excluded_dir("")
    assert files.is_excluded_dir("../elsewhere")
    assert files.is_excluded_dir("a/./b")
    assert not files.is_excluded_dir("sub/")  # a trailing slash is tolerated


@pytest.mark.parametrize("name", TOOL_DIRS)
def test_tool_directories_are_excluded_at_any_depth(tmp_path, name):
    make(tmp_path, f"{name}/x.py", f"pkg/{name}/y.py", f"pkg/{name}/sub/z.py", "pkg/ok.py", f"{name}.py")
    files = ProjectFiles(str(tmp_path))
    assert files.is_excluded_dir(name)
    assert files.is_excluded_dir(f"pkg/{name}/sub")
    assert not files.is_member(f"pkg/{name}/y.py")
    assert not files.could_be_member(f"pkg/{name}/sub/z.py")
    assert assert_consistent(tmp_path) == [f"{name}.py", "pkg/ok.py"]


def test_venv_with_any_name_is_detected_by_pyvenv_cfg(tmp_path):
    make(tmp_path, "env2/lib/python3.11/site-packages/dep.py", "env2/bin/activate_this.py", "env3/lib/plain.py",
         "app.py")
    (tmp_path / "env2" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    files = ProjectFiles(str(tmp_path))
    assert files.is_excluded_dir("env2")
    assert files.is_excluded_dir("env2/lib/python3.11")
    assert not files.is_member("env2/bin/activate_this.py")
    assert not files.is_excluded_dir("env3")
    assert assert_consistent(tmp_path) == ["app.py", "env3/lib/plain.py"]


@pytest.mark.parametrize("name", [".venv"])
def test_venv_names_are_excluded_before_pyvenv_cfg_exists(tmp_path, name):
    make(tmp_path, f"{name}/lib/python3.11/site-packages/dep.py", f"src/{name}/x.py", "app.py")
    files = ProjectFiles(str(tmp_path))
    assert files.is_excluded_dir(name)
    assert files.is_excluded_dir(f"src/{name}")
    assert not files.is_member(f"{name}/lib/python3.11/site-packages/dep.py")
    assert assert_consistent(tmp_path) == ["app.py"]


def test_pyvenv_cfg_created_later_counts_after_forget(tmp_path):
    make(tmp_path, "env/lib/dep.py", "app.py")
    files = ProjectFiles(str(tmp_path))
    assert files.is_member("env/lib/dep.py")
    (tmp_path / "env" / "pyvenv.cfg").write_text("")
    files.forget("env")
    assert files.is_excluded_dir("env")
    assert not files.is_member("env/lib/dep.py")
    assert not files.could_be_member("env/lib/dep.py")
    (tmp_path / "env" / "pyvenv.cfg").unlink()
    files.forget("env")
    assert files.is_member("env/lib/dep.py")


# ---------------------------------------------------------------------- .gitignore
def test_gitignore_file_pattern(tmp_path):
    make(tmp_path, "generated_a.py", "pkg/generated_b.py", "pkg/written.py")
    (tmp_path / ".gitignore").write_text("# comment\n\ngenerated_*.py\n")
    assert assert_consistent(tmp_path) == ["pkg/written.py"]


def test_gitignore_directory_pattern_matches_directories_only(tmp_path):
    make(tmp_path, "build/x.py", "pkg/build/y.py", "pkg/ok.py", "gen.py", "out.py/inner.py")
    (tmp_path / ".gitignore").write_text("build/\nout.py/\ngen.py/\n")
    files = ProjectFiles(str(tmp_path))
    assert files.is_excluded_dir("build")
    assert files.is_excluded_dir("pkg/build")
    assert files.is_member("gen.py")  # "gen.py/" only matches a directory of that name
    assert assert_consistent(tmp_path) == ["gen.py", "pkg/ok.py"]


def test_gitignore_anchored_patterns(tmp_path):
    make(tmp_path, "top.py", "sub/top.py", "sub/mid.py", "other/sub/mid.py")
    (tmp_path / ".gitignore").write_text("/top.py\nsub/mid.py\n")
    files = ProjectFiles(str(tmp_path))
    assert not files.is_member("top.py")
    assert files.is_member("sub/top.py")
    assert not files.is_member("sub/mid.py")  # a slash in the middle anchors it too
    assert assert_consistent(tmp_path) == ["other/sub/mid.py", "sub/top.py"]


def test_gitignore_negation(tmp_path):
    make(tmp_path, "a.py", "keep.py", "sub/b.py", "sub/keep.py")
    (tmp_path / ".gitignore").write_text("*.py\n!keep.py\n")
    assert assert_consistent(tmp_path) == ["keep.py", "sub/keep.py"]


def test_nested_gitignore_is_relative_to_its_directory_and_wins(tmp_path):
    make(tmp_path, "x.py", "sub/x.py", "sub/deep/x.py", "local.py", "sub/local.py", "sub/a.py", "sub/deep/a.py",
         "other/x.py")
    (tmp_path / ".gitignore").write_text("*.py\n!local.py\n")
    (tmp_path / "sub" / ".gitignore").write_text("!*.py\nlocal.py\n/a.py\n")
    files = ProjectFiles(str(tmp_path))
    assert not files.is_member("x.py")
    assert files.is_member("sub/x.py")  # the nearer .gitignore re-includes
    assert files.is_member("local.py")
    assert not files.is_member("sub/local.py")  # ... and excludes what the outer one kept
    assert not files.is_member("sub/a.py")
    assert files.is_member("sub/deep/a.py")  # "/a.py" is anchored to sub/, not to sub/deep/
    assert assert_consistent(tmp_path) == ["local.py", "sub/deep/a.py", "sub/deep/x.py", "sub/x.py"]


def test_nested_gitignore_without_a_matching_line_defers_to_the_outer_one(tmp_path):
    make(tmp_path, "sub/x.py", "sub/y.py")
    (tmp_path / ".gitignore").write_text("x.py\n")
    (tmp_path / "sub" / ".gitignore").write_text("unrelated.py\n")
    assert assert_consistent(tmp_path) == ["sub/y.py"]


def test_nothing_below_an_ignored_directory_can_be_re_included(tmp_path):
    make(tmp_path, "build/keep.py", "build/other.py", "dist/keep.py", "dist/other.py", "dist/sub/keep.py")
    (tmp_path / ".gitignore").write_text("build/\n!build/keep.py\ndist/*\n!dist/keep.py\n")
    (tmp_path / "build" / ".gitignore").write_text("!keep.py\n!*\n")
    files = ProjectFiles(str(tmp_path))
    assert not files.is_member("build/keep.py")
    assert files.is_excluded_dir("build")
    # "dist/*" ignores what is in dist, not dist itself, so a file there can come back; the
    # directory dist/sub is ignored, though, and what is below it cannot
    assert files.is_member("dist/keep.py")
    assert files.is_excluded_dir("dist/sub")
    assert assert_consistent(tmp_path) == ["dist/keep.py"]


def test_a_directory_pattern_decides_about_the_directory_only(tmp_path):
    # pathspec alone would let "!a/" in sub/.gitignore re-include sub/a/x.py; in git it only
    # re-includes the directory, and the outer "*.py" still excludes the file
    make(tmp_path, "sub/a/x.py", "sub/b/x.py")
    (tmp_path / ".gitignore").write_text("*.py\n")
    (tmp_path / "sub" / ".gitignore").write_text("!a/\n")
    assert assert_consistent(tmp_path) == []


def test_double_star_slash_means_the_directories_inside(tmp_path):
    make(tmp_path, "gen/x.py", "gen/sub/y.py", "gen/sub/deep/z.py", "keep/a/x.py")
    (tmp_path / ".gitignore").write_text("gen/**/\nkeep/\n")
    (tmp_path / "keep" / ".gitignore").write_text("!/a/**/\n")  # does not re-include keep itself
    files = ProjectFiles(str(tmp_path))
    assert not files.is_excluded_dir("gen")
    assert files.is_excluded_dir("gen/sub")
    assert files.is_excluded_dir("keep")
    assert assert_consistent(tmp_path) == ["gen/x.py"]


def test_git_info_exclude_is_honoured_below_gitignore(tmp_path):
    make(tmp_path, "secret.py", "sub/secret.py", "private.py", "ok.py")
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("secret.py\nprivate.py\n")
    (tmp_path / ".gitignore").write_text("!private.py\n")  # .gitignore takes precedence over info/exclude
    assert assert_consistent(tmp_path) == ["ok.py", "private.py"]


def test_extra_patterns_from_the_configuration(tmp_path):
    make(tmp_path, "gen/x.py", "pkg/gen/y.py", "pkg/api_pb2.py", "pkg/api.py", "migrations/0001.py",
         "app/migrations.py")
    (tmp_path / ".gitignore").write_text("!api_pb2.py\n")  # cannot undo the configuration
    extra = ("gen/", "*_pb2.py", "/migrations/")
    files = ProjectFiles(str(tmp_path), extra)
    assert files.is_excluded_dir("pkg/gen")
    assert not files.is_member("pkg/api_pb2.py")
    assert assert_consistent(tmp_path, *extra) == ["app/migrations.py", "pkg/api.py"]


def test_broken_gitignore_files_are_ignored(tmp_path):
    make(tmp_path, "a/x.py", "b/x.py", "c/x.py", "d/x.py", "e/x.py")
    (tmp_path / "a" / ".gitignore").write_bytes(b"x.py\n\xff\xfe\n")  # not UTF-8
    (tmp_path / "b" / ".gitignore").mkdir()  # a directory
    (tmp_path / "c" / ".gitignore").write_text("[\nx.py\n")  # a bad line costs only that line
    (tmp_path / "d" / ".gitignore").write_bytes(b"\xef\xbb\xbfx.py\r\n")  # BOM and CRLF, as git reads them
    (tmp_path / "elsewhere").write_text("x.py\n")
    (tmp_path / "e" / ".gitignore").symlink_to(tmp_path / "elsewhere")  # git does not follow it either
    assert assert_consistent(tmp_path) == ["a/x.py", "b/x.py", "e/x.py"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_gitignore_is_ignored(tmp_path):
    make(tmp_path, "x.py")
    ignore = tmp_path / ".gitignore"
    ignore.write_text("*.py\n")
    ignore.chmod(0)
    try:
        assert assert_consistent(tmp_path) == ["x.py"]
    finally:
        ignore.chmod(0o644)


def test_forget_after_editing_a_gitignore(tmp_path):
    make(tmp_path, "a.py", "sub/b.py", "sub/c.py", "other/c.py")
    files = ProjectFiles(str(tmp_path))
    assert files.is_member("sub/b.py")
    (tmp_path / "sub" / ".gitignore").write_text("b.py\n")
    assert files.is_member("sub/b.py")  # cached until told
    files.forget("other")
    assert files.is_member("sub/b.py")  # forgetting elsewhere leaves sub's knowledge alone
    files.forget("sub")
    assert not files.is_member("sub/b.py")
    (tmp_path / ".gitignore").write_text("c.py\n")
    files.forget("")
    assert not files.is_member("other/c.py")
    assert not files.is_member("sub/c.py")
    (tmp_path / ".gitignore").unlink()
    (tmp_path / "sub" / ".gitignore").unlink()
    files.forget()
    assert files.is_member("sub/b.py") and files.is_member("other/c.py")


def test_forget_after_editing_git_info_exclude(tmp_path):
    make(tmp_path, "a.py", "sub/a.py")
    (tmp_path / ".git" / "info").mkdir(parents=True)
    files = ProjectFiles(str(tmp_path))
    assert files.is_member("sub/a.py")
    (tmp_path / ".git" / "info" / "exclude").write_text("a.py\n")
    files.forget(".git/info")
    assert not files.is_member("sub/a.py") and not files.is_member("a.py")


def test_directory_ignored_after_forget(tmp_path):
    make(tmp_path, "gen/x.py")
    files = ProjectFiles(str(tmp_path))
    assert not files.is_excluded_dir("gen")
    (tmp_path / ".gitignore").write_text("gen/\n")
    files.forget()
    assert files.is_excluded_dir("gen")
    assert not files.is_member("gen/x.py")


def test_nothing_is_remembered_about_a_directory_that_is_not_there(tmp_path):
    # asked about before it exists, then moved in whole: no event names its .gitignore or
    # pyvenv.cfg, so what was true of the missing directory must not stick
    make(tmp_path, "app.py")
    files = ProjectFiles(str(tmp_path))
    assert files.could_be_member("later/x.py") and files.could_be_member("env/lib/x.py")
    assert not files.is_excluded_dir("env") and not files.is_member("later/x.py")
    make(tmp_path, "later/x.py", "later/y.py", "env/lib/x.py", "env/pyvenv.cfg")
    (tmp_path / "later" / ".gitignore").write_text("x.py\n")
    assert not files.is_member("later/x.py")
    assert files.is_member("later/y.py")
    assert files.is_excluded_dir("env")
    assert not files.is_member("env/lib/x.py")


def test_a_root_that_comes_back(tmp_path):
    root = tmp_path / "root"
    files = ProjectFiles(str(root))
    assert not files.is_member("x.py") and files.could_be_member("x.py")
    make(root, "x.py", "y.py")
    (root / ".gitignore").write_text("x.py\n")
    (root / ".git" / "info").mkdir(parents=True)
    (root / ".git" / "info" / "exclude").write_text("y.py\n")
    assert not files.is_member("x.py")
    assert not files.is_member("y.py")


def test_could_be_member_of_a_deleted_file(tmp_path):
    make(tmp_path, "pkg/mod.py", "pkg/skip.py", "pkg/gone/deep.py")
    (tmp_path / ".gitignore").write_text("skip.py\n")
    files = ProjectFiles(str(tmp_path))
    assert files.is_member("pkg/mod.py")
    (tmp_path / "pkg" / "mod.py").unlink()
    (tmp_path / "pkg" / "skip.py").unlink()
    shutil.rmtree(tmp_path / "pkg" / "gone")
    assert not files.is_member("pkg/mod.py")
    assert files.could_be_member("pkg/mod.py")
    assert files.could_be_member("pkg/gone/deep.py")
    assert not files.could_be_member("pkg/skip.py")
    assert not files.could_be_member("pkg/notes.txt")
    assert not files.could_be_member("__pycache__/mod.py")
    assert not files.could_be_member(".venv/lib/mod.py")


def test_very_deep_paths_do_not_recurse(tmp_path):
    files = ProjectFiles(str(tmp_path))
    deep = "/".join(["d"] * 3000)
    assert files.could_be_member(deep + "/x.py")
    assert not files.is_member(deep + "/x.py")
    assert not files.is_excluded_dir(deep)


def test_is_ignore_file():
    assert is_ignore_file(".gitignore")
    assert is_ignore_file("a/b/.gitignore")
    assert is_ignore_file("pyvenv.cfg")
    assert is_ignore_file("env/pyvenv.cfg")
    assert is_ignore_file(".git/info/exclude")
    assert not is_ignore_file("gitignore")
    assert not is_ignore_file("a/.gitignore.py")
    assert not is_ignore_file("mod.py")
    assert not is_ignore_file(".git/config")


# ---------------------------------------------------------------------- symlinks
def test_symlinks_are_never_members_nor_followed(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    make(outside, "stolen.py")
    make(root, "pkg/real.py")
    (root / "link.py").symlink_to(root / "pkg" / "real.py")
    (root / "linkdir").symlink_to(root / "pkg")
    (root / "escape").symlink_to(outside)
    (root / "loop.py").symlink_to(root / "loop.py")
    (root / "loopdir").symlink_to(root / "loopdir")
    (root / "dangling.py").symlink_to(root / "nowhere.py")
    files = ProjectFiles(str(root))
    for rel in ("link.py", "linkdir/real.py", "escape/stolen.py", "loop.py", "loopdir/x.py", "dangling.py"):
        assert not files.is_member(rel), rel
    assert files.is_excluded_dir("linkdir")
    assert files.is_excluded_dir("escape")
    assert files.is_excluded_dir("loopdir")
    assert not files.is_excluded_dir("pkg")
    assert assert_consistent(root) == ["pkg/real.py"]


def test_directory_replaced_by_a_symlink_is_seen_without_forget(tmp_path):
    make(tmp_path, "pkg/a.py", "elsewhere/a.py")
    files = ProjectFiles(str(tmp_path))
    assert files.is_member("pkg/a.py") and not files.is_excluded_dir("pkg")
    shutil.rmtree(tmp_path / "pkg")
    (tmp_path / "pkg").symlink_to(tmp_path / "elsewhere")
    assert not files.is_member("pkg/a.py")
    assert files.is_excluded_dir("pkg")


# ---------------------------------------------------------------------- walking
ATOMS = ["a", "b", "ab", "*", "**", "a*", "*b", "?", "[ab]", "[!a]", "a.py", "*.py", "keep.py", "x y", "\\!n",
         "\\#h.py", "[a].py", "\\[a\\].py", "sub", "build"]


def random_pattern(rng):
    pattern = "/".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.3:
        pattern = "/" + pattern
    elif rng.random() < 0.1:
        pattern = "**/" + pattern
    if rng.random() < 0.25:
        pattern += "/"
    elif rng.random() < 0.15:
        pattern += rng.choice(["/**", "/**/", "/**/*", "/*/"])
    if rng.random() < 0.3:
        pattern = "!" + pattern
    return pattern + ("   " if rng.random() < 0.05 else "")


def generate_tree(root, seed, n_files=400, with_structure=True):
    """A random tree with .gitignore files at several levels; with_structure adds tool dirs, venvs and
    symlinks, which git knows nothing about."""
    rng = random.Random(seed)
    names = ["a", "b", "ab", "build", "lib", "sub", "gen", "keep", "x-y", "x y", "dist", "[a]", "!n", "#h"]
    if with_structure:
        names += ["__pycache__", ".venv", "env", "node_modules", ".tox"]
    files = ["mod.py", "keep.py", "gen_1.py", "test_a.py", "data.txt", "x.pyc", "README", "b.py", "build.py",
             "a.py", "x y.py", "[a].py", "!n.py", "#h.py"]
    dirs = [""]
    for _ in range(60):
        parent = rng.choice(dirs)
        d = f"{parent}/{rng.choice(names)}" if parent else rng.choice(names)
        if d not in dirs and d.count("/") < 5:
            dirs.append(d)
    for _ in range(n_files):
        d = rng.choice(dirs)
        make(root, f"{d}/{rng.choice(files)}" if d else rng.choice(files))
    lines = ["build/", "*.pyc", "gen_*.py", "!keep.py", "/b.py", "dist/*", "!dist/keep.py", "sub/gen/",
             "*.py", "!*.py", "test_*", "lib/**/mod.py", "x-y", "a/", "!a/", "keep/", "**/sub/keep.py"]
    for d in rng.sample(dirs, min(len(dirs), 12)):
        (root / d).mkdir(parents=True, exist_ok=True)
        chosen = rng.sample(lines, rng.randint(0, 3)) + [random_pattern(rng) for _ in range(rng.randint(1, 4))]
        rng.shuffle(chosen)
        (root / d / ".gitignore").write_text("\n".join(chosen) + "\n")
    if with_structure:
        for d in rng.sample(dirs[1:], 3):
            (root / d / "pyvenv.cfg").write_text("")
        (root / "ln.py").symlink_to(root / "b.py")
        (root / "lndir").symlink_to(root)
        (root / "looped").symlink_to(root / "looped")
    return dirs


@pytest.mark.parametrize("seed", range(6))
def test_walk_equals_is_member_on_a_generated_tree(tmp_path, seed):
    generate_tree(tmp_path, seed)
    assert len(all_files(tmp_path)) > 100
    walked = assert_consistent(tmp_path, "*/lib/gen_1.py")
    assert walked  # not everything is excluded
    assert not ProjectFiles(str(tmp_path)).unreadable


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git as the reference")
@pytest.mark.parametrize("seed", range(20))
def test_gitignore_semantics_agree_with_git(tmp_path, seed):
    root = tmp_path / "root"
    generate_tree(root, seed, with_structure=False)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("mod.py\n!sub/mod.py\n" + random_pattern(random.Random(seed)))
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--others", "--exclude-standard"],
                         check=True, env=env, capture_output=True).stdout.decode()
    by_git = sorted(p for p in out.split("\0") if p.endswith(".py"))
    assert members(root) == by_git


def test_directory_removed_during_the_walk(tmp_path):
    make(tmp_path, "a/x.py", "b/y.py", "b/sub/z.py", "c/w.py")
    files = ProjectFiles(str(tmp_path))
    seen = []
    for rel in files.walk():
        seen.append(rel)
        if rel == "a/x.py":
            shutil.rmtree(tmp_path / "b")
    assert seen == ["a/x.py", "c/w.py"]
    assert files.unreadable == ["b"]
    assert members(tmp_path) == ["a/x.py", "c/w.py"]  # and the next walk starts over


def test_missing_root(tmp_path):
    files = ProjectFiles(str(tmp_path / "gone"))
    with pytest.raises(RootGone, match="does not exist"):
        list(files.walk())
    assert not files.is_member("x.py")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any directory")
def test_unreadable_directory(tmp_path):
    make(tmp_path, "a/x.py", "locked/y.py", "locked/sub/z.py", "z.py")
    locked = tmp_path / "locked"
    locked.chmod(0)
    try:
        files = ProjectFiles(str(tmp_path))
        assert list(files.walk()) == ["a/x.py", "z.py"]
        assert files.unreadable == ["locked"]
        assert not files.is_member("locked/y.py")
        assert not files.is_excluded_dir("locked")
    finally:
        locked.chmod(0o755)
    assert members(tmp_path) == ["a/x.py", "locked/sub/z.py", "locked/y.py", "z.py"]


def test_walk_of_the_standard_library_matches_a_structural_filter():
    stdlib = sysconfig.get_paths()["stdlib"]
    expected = []
    for dirpath, dirnames, filenames in os.walk(stdlib):  # os.walk does not follow symlinked directories
        dirnames[:] = [d for d in dirnames
                       if d not in TOOL_DIRS and d != ".venv"
                       and not os.path.islink(os.path.join(dirpath, d))
                       and not os.path.lexists(os.path.join(dirpath, d, "pyvenv.cfg"))]
        rel = os.path.relpath(dirpath, stdlib)
        for name in filenames:
            full = os.path.join(dirpath, name)
            if name.endswith(".py") and not os.path.islink(full) and os.path.isfile(full):
                expected.append(name if rel == "." else f"{rel}/{name}")
    files = ProjectFiles(stdlib)
    started = time.perf_counter()
    walked = list(files.walk())
    elapsed = time.perf_counter() - started
    assert len(walked) > 100
    assert sorted(walked) == sorted(expected)
    assert walked == sorted(walked)
    assert elapsed < 0.5, f"walk() over {len(walked)} files took {elapsed:.3f} s"


def test_a_package_named_venv_is_a_member(tmp_path):
    # the standard library has one; only a pyvenv.cfg makes a directory a virtual environment
    make(tmp_path, "venv/__init__.py", "venv/__main__.py")
    files = ProjectFiles(str(tmp_path))
    assert list(files.walk()) == ["venv/__init__.py", "venv/__main__.py"]
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    files.forget("venv")
    assert list(files.walk()) == []


# ---------------------------------------------------------------------- walking part of the tree
def every_dir(root):
    """Every directory below root as os.walk lists them (links to directories too), relative, POSIX."""
    out = []
    for dirpath, dirnames, _filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out += [d if rel == "." else f"{rel}/{d}" for d in dirnames]
    return sorted(out)


def assert_walk_under_agrees(root, *extra):
    """walk(under=d) and the links it reports equal the full walk's, cut at d; for a fresh
    instance and for one that walked (and cached) before."""
    whole = ProjectFiles(str(root), extra)
    links = {}
    walked = list(whole.walk(links=links))
    assert walked == list(ProjectFiles(str(root), extra).walk())  # asking for links changes nothing
    reused = ProjectFiles(str(root), extra)
    list(reused.walk())
    for under in [*every_dir(root), "missing", "missing/deeper"]:
        prefix = under + "/"
        for files in (ProjectFiles(str(root), extra), reused):
            found = {}
            assert list(files.walk(under, found)) == [p for p in walked if p.startswith(prefix)], under
            assert found == {p: r for p, r in links.items() if p.startswith(prefix)}, under
            assert list(files.walk(under + "/")) == [p for p in walked if p.startswith(prefix)], under
    return walked, links


@pytest.mark.parametrize("seed", range(6))
def test_walk_under_a_directory_equals_the_whole_walk_cut_there(tmp_path, seed):
    dirs = generate_tree(tmp_path, seed)
    outside = tmp_path.parent / f"outside-{seed}"
    make(outside, "stolen.py")
    for i, d in enumerate(dirs[1:8]):
        base = tmp_path / d
        (base / f"in{i}.py").symlink_to(tmp_path / "b.py")
        (base / f"out{i}.py").symlink_to(outside / "stolen.py")
        (base / f"dir{i}.py").symlink_to(tmp_path)
        (base / f"dangling{i}.py").symlink_to(base / "nowhere.py")
    walked, links = assert_walk_under_agrees(tmp_path, "*/lib/gen_1.py")
    assert walked and links


def test_walk_under_excluded_venv_ignored_and_symlinked_directories(tmp_path):
    make(tmp_path, "pkg/a.py", "pkg/sub/b.py", "pkg/build/c.py", "env/lib/d.py", ".venv/e.py", "node_modules/f.py",
         "pkg/__pycache__/g.py", "real/h.py")
    (tmp_path / "pkg" / ".gitignore").write_text("build/\n")
    (tmp_path / "env" / "pyvenv.cfg").write_text("")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    (tmp_path / "pkg" / "file.txt").write_text("")
    files = ProjectFiles(str(tmp_path))
    assert list(files.walk("pkg")) == ["pkg/a.py", "pkg/sub/b.py"]
    assert list(files.walk("pkg/sub")) == ["pkg/sub/b.py"]
    for under in ("pkg/build", "env", "env/lib", ".venv", "node_modules", "pkg/__pycache__", "linked",
                  "pkg/file.txt", "pkg/a.py", "../x", "a/./b"):
        assert list(files.walk(under)) == [], under
    assert list(files.walk("")) == ["pkg/a.py", "pkg/sub/b.py", "real/h.py"]
    assert_walk_under_agrees(tmp_path)


def test_walk_under_rereads_what_it_walks(tmp_path):
    make(tmp_path, "a/x.py", "a/sub/y.py", "b/z.py")
    files = ProjectFiles(str(tmp_path))
    assert list(files.walk()) == ["a/sub/y.py", "a/x.py", "b/z.py"]
    (tmp_path / "a" / ".gitignore").write_text("x.py\n")
    (tmp_path / "b" / ".gitignore").write_text("z.py\n")
    (tmp_path / "a" / "sub" / "pyvenv.cfg").write_text("")
    assert list(files.walk("a")) == []  # no forget needed for what is walked
    assert files.is_member("b/z.py")  # what is not walked stays as cached until forgotten
    assert list(files.walk()) == []


def test_links_are_reported_with_why_they_are_not_followed(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    make(outside, "stolen.py")
    make(root, "pkg/real.py", "build/x.py")
    (root / ".gitignore").write_text("ignored.py\nbuild/\n")
    (root / "pkg" / "link.py").symlink_to(root / "pkg" / "real.py")
    (root / "pkg" / "rel.py").symlink_to("real.py")
    (root / "escape.py").symlink_to(outside / "stolen.py")
    (root / "dangling.py").symlink_to(root / "nowhere.py")
    (root / "loop.py").symlink_to(root / "loop.py")
    (root / "dir.py").symlink_to(root / "pkg")  # a directory, not followed, not reported
    (root / "linkdir").symlink_to(root / "pkg")  # its links are not met
    (root / "ignored.py").symlink_to(root / "pkg" / "real.py")  # not a member by name either
    (root / "build" / "l.py").symlink_to(root / "pkg" / "real.py")  # in an excluded directory
    (root / "notpy").symlink_to(root / "pkg" / "real.py")
    files = ProjectFiles(str(root))
    links = {}
    assert list(files.walk(links=links)) == ["pkg/real.py"]
    assert links == {
        "dangling.py": "symbolic link to nowhere.py, which is not there: not followed",
        "escape.py": f"symbolic link to {outside}/stolen.py, outside the project: not followed",
        "loop.py": "symbolic link to loop.py, itself a link: not followed",
        "pkg/link.py": "symbolic link to pkg/real.py: not followed (the target is indexed)",
        "pkg/rel.py": "symbolic link to pkg/real.py: not followed (the target is indexed)",
    }
    for rel in [*links, "pkg/real.py", "ignored.py", "build/l.py", "notpy", "gone.py"]:
        assert files.symlink_reason(rel) == links.get(rel), rel
    # asked about by name, a link to a directory is a link like any other (the walk met it as a directory)
    assert files.symlink_reason("dir.py") == "symbolic link to pkg: not followed (the target is indexed)"
    found = {}
    assert list(files.walk("pkg", found)) == ["pkg/real.py"]
    assert found == {p: r for p, r in links.items() if p.startswith("pkg/")}

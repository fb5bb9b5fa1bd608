"""Which files belong to a registered project: the one rule every worker applies.

A project file is a regular ``.py`` file below the root, reached without following any
symlink, none of whose path components is excluded. Excluded are tool and VCS
directories, virtual environments and whatever ``.gitignore`` files (with git's own
semantics), ``.git/info/exclude`` and the configuration exclude. The watcher, the
indexer and the repair worker all ask this module, so they can never disagree about
a path.

Parsed ``.gitignore`` files and per-directory decisions are cached: the watcher asks about
one path at a time, often many in the same directory, and must not re-read and re-compile
patterns for each. The cache is only as fresh as the calls to :meth:`ProjectFiles.forget`,
with two safeguards: nothing is learned about a directory that is not there (yet), so a
tree moved in later is read afresh, and :meth:`ProjectFiles.walk` starts from a clean
slate because it is what recovers from missed events.
"""

from __future__ import annotations

import errno
import re
import stat
from collections.abc import Iterator, Sequence

from pathspec import GitIgnoreSpec

from codeanalysisd import paths
from codeanalysisd.tree import UNKNOWN, Kind, RootId, Tree

__all__ = ["ProjectFiles", "is_ignore_file"]

# Tool and VCS directories: never source of the project, often huge.
EXCLUDED_NAMES = frozenset({
    ".git", "__pycache__", ".hg", ".svn", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    "node_modules",
})
# Any directory holding a pyvenv.cfg is a virtual environment (`python -m venv` writes it
# first). ".venv" is excluded by name as well: it can never be an importable package. A
# plain "venv" can (the standard library has one), so that name alone decides nothing.
VENV_NAMES = frozenset({".venv"})
VENV_MARKER = "pyvenv.cfg"
GITIGNORE = ".gitignore"
INFO_EXCLUDE = ".git/info/exclude"
# git refuses pattern files above this size ("ignoring excessively large pattern file").
MAX_PATTERN_BYTES = 100 * 1024 * 1024


def is_ignore_file(relpath: str) -> bool:
    """True for names that change membership: ".gitignore" (any dir), "pyvenv.cfg", ".git/info/exclude"."""
    name = relpath.rpartition("/")[2]
    return name in (GITIGNORE, VENV_MARKER) or relpath == INFO_EXCLUDE


def _parts(relpath: str) -> list[str] | None:
    """The components of a relative POSIX path, or None if it is not one (it could name
    something outside the root or the root itself under another spelling)."""
    try:
        return paths.relative(relpath).split("/")
    except paths.PathRejected:
        return None


def _read_patterns(tree: Tree, rel: str) -> _Patterns | None:
    """The patterns of one pattern file, or None if it is missing, unusable or has no pattern.

    Never raises: a broken .gitignore must not stop indexing, and git itself only warns.
    """
    # No link is followed (git does not follow a symlinked in-tree .gitignore either, and a
    # link could point anywhere), and a FIFO named .gitignore must not hang us (tree.read_small).
    data = tree.read_small(rel, MAX_PATTERN_BYTES)
    if data is None:
        return None
    try:
        text = data.decode("utf-8-sig")  # git skips a UTF-8 BOM too
    except UnicodeDecodeError:
        return None
    # git splits on LF only (and drops a CR before it); str.splitlines would also split on
    # form feeds and Unicode separators that can be part of a file name.
    return _compile([line.removesuffix("\r") for line in text.split("\n")])


def _compile(lines: Sequence[str]) -> _Patterns | None:
    """The compiled patterns, or None if there are none (blank and comment lines only)."""
    lines = [_inside_only(line) for line in lines]
    try:
        spec = GitIgnoreSpec.from_lines(lines)
    except ValueError:
        # One malformed line should cost that line, not the whole file (as in git).
        spec = GitIgnoreSpec.from_lines([line for line in lines if _valid_pattern(line)])
    patterns = _Patterns(spec)
    return patterns if patterns.rules else None


def _inside_only(line: str) -> str:
    """Makes "a/**/" mean what it means to git: the directories inside a, not a itself.

    pathspec collapses it to "a/", which is the same thing when one flat .gitignore is
    matched (a and everything in it), but not when each path is matched on its own as here:
    "!a/**/" must not re-include a. "a/**/*/" names exactly the directories inside a.
    """
    core = line if line.endswith("\\ ") else line.rstrip(" ")
    return core + "*/" if core.endswith("/**/") and not core.startswith("#") else line


def _valid_pattern(line: str) -> bool:
    try:
        GitIgnoreSpec.from_lines([line])
    except ValueError:
        return False
    return True


_FULL, _SEARCH, _ANY_DIR = range(3)


class _Patterns:
    """One pattern file, matched the way git matches it: against one path at a time.

    pathspec answers "is this path, or a directory above it, matched?", which is right for one
    flat .gitignore but wrong once several files take turns: a "!build/" two levels up must
    not decide about "build/x.py" before a nearer .gitignore had its say, and git only ever
    matches a pattern against the path itself (each directory above having been checked on
    its own first). So pathspec translates the patterns, and each translated regex is used in
    the way that matches the path itself only. Its regexes come in these shapes:

    - anchored, ending in the directory mark (``a``, ``a/``, ``*.py``, ``a/**/b``): the path
      itself matches iff the whole probe (``path/`` for a directory) matches;
    - without a directory mark (``a/**``, ``*``, ``*/**``): "everything inside", so any
      match of the bare path is a match of that path itself;
    - the bare directory mark (``*/``, ``**/``): every directory.
    """

    __slots__ = ("rules",)

    def __init__(self, spec: GitIgnoreSpec) -> None:
        rules: list[tuple[bool, int, re.Pattern[str]]] = []
        for pattern in spec.patterns:
            regex = pattern.regex
            if pattern.include is None or regex is None:
                continue  # blank line, comment, or a range git discards too
            if "ps_d" not in regex.groupindex:
                kind = _SEARCH
            elif regex.pattern.startswith("^"):
                kind = _FULL
            else:
                kind = _ANY_DIR
            rules.append((pattern.include, kind, regex))
        rules.reverse()  # the last matching line decides, so look from the end
        self.rules = rules

    def verdict(self, path: str, is_dir: bool) -> bool | None:
        """True if excluded, False if re-included ("!"), None if no line matches the path."""
        probe = path + "/" if is_dir else path
        for include, kind, regex in self.rules:
            if kind == _FULL:
                hit = regex.fullmatch(probe) is not None
            elif kind == _SEARCH:
                hit = regex.search(path) is not None
            else:
                hit = is_dir
            if hit:
                return include
        return None


# What a directory listing holds for the walk: (sort key, name, kind).
_REGULAR, _DIRECTORY, _SYMLINK = range(3)
_Entry = tuple[str, str, int]


class ProjectFiles:
    """The membership rule for one project root, with cached knowledge of its pattern files."""

    def __init__(self, root: str, extra_patterns: Sequence[str] = (), identity: RootId = UNKNOWN) -> None:
        self.root = root
        # Everything below is looked at through the root registered (its identity), never
        # through a link: a walk checks the root again first (tree.RootGone if it is not it).
        self.tree = Tree(root, identity)
        self.unreadable: list[str] = []
        # The configuration is the operator's word: it is checked on its own, so a project's
        # "!" line cannot re-include what the operator excluded.
        self._extra = _compile(list(extra_patterns))
        self._info_exclude: _Patterns | None = None
        self._info_exclude_read = False
        self._ignores: dict[str, _Patterns | None] = {}  # reldir -> its parsed .gitignore
        self._venv: dict[str, bool] = {}  # reldir -> it holds a pyvenv.cfg
        self._excluded: dict[str, bool] = {}  # reldir -> it or an ancestor is excluded

    # ------------------------------------------------------------------ public API
    def is_member(self, relpath: str) -> bool:
        """relpath is POSIX, relative to root, e.g. "pkg/mod.py". True iff it is a project file
        by the rule above. Checks the filesystem (lstat) for the file itself and for pyvenv.cfg
        in ancestors; a path that does not exist on disk returns False."""
        parts = _parts(relpath)
        if parts is None or not self._could_be_member(relpath, parts):
            return False
        # Ancestors are checked live, not from the cache: a directory replaced by a symlink
        # sends no event that would invalidate it. The tree reaches the file with O_NOFOLLOW on
        # every component, so such a directory is an error here (ELOOP), never followed.
        try:
            return stat.S_ISREG(self.tree.lstat(relpath).st_mode)
        except OSError:
            return False

    def is_excluded_dir(self, reldir: str) -> bool:
        """True if the directory reldir ("" is the root itself, never excluded) or any of its
        ancestors is excluded; the watcher uses this to avoid watching it at all."""
        reldir = reldir.rstrip("/")
        if not reldir:
            return False
        parts = _parts(reldir)
        if parts is None:
            return True  # not a directory of this project at all
        if self._dir_excluded(reldir):
            return True
        # A symlinked directory is not part of the project; checked live for the same reason
        # as in is_member. A missing component ends the check: nothing to follow there.
        try:
            return stat.S_ISLNK(self.tree.lstat(reldir).st_mode)
        except OSError as exc:
            return exc.errno == errno.ELOOP  # a link further up

    def could_be_member(self, relpath: str) -> bool:
        """The same rule WITHOUT touching the filesystem for the file itself (for a file that was just
        deleted or moved away: was it a project file?): name ends in .py, no excluded component,
        not gitignored (using the .gitignore files as currently cached/on disk)."""
        parts = _parts(relpath)
        return parts is not None and self._could_be_member(relpath, parts)

    def walk(self, under: str = "", links: dict[str, str] | None = None) -> Iterator[str]:
        """Every member file's relpath, in sorted (deterministic) order, pruning excluded
        directories without descending into them; read through the project tree (tree.Tree),
        never through a symbolic link, after checking the root is the one registered (RootGone);
        directories that vanish or cannot be read during the walk are skipped (recorded in
        ``unreadable``).

        ``under`` (a directory relative to the root, "" for the root) limits the walk to the
        files below it, with the same decisions as the whole walk: nothing if it is excluded,
        a symlink, or below one. If ``links`` is given, each symbolic link met that would be
        a member were it a file is added to it with :meth:`symlink_reason`'s reason. A link
        to a directory is not: it is a directory that is not followed, like any other.
        """
        under = under.rstrip("/")
        # The root is opened again from "/" and must be the directory registered (RootGone).
        self.tree.verify()
        # A walk is how missed events are recovered from: trust nothing cached about what it
        # walks. The listings refill the cache as a by-product, which costs nothing extra.
        self.forget(under)
        self.unreadable = []
        if under and self.is_excluded_dir(under):
            return
        top = self._list(under)
        if top is None:
            return
        # Siblings are sorted with "/" appended to directory names, which makes this
        # depth-first order the same as sorting all the relpaths as strings.
        stack: list[tuple[str, Iterator[_Entry]]] = [(under, iter(top))]
        while stack:
            reldir, entries = stack[-1]
            for _key, name, kind in entries:
                rel = f"{reldir}/{name}" if reldir else name
                if kind == _DIRECTORY:
                    below = self._enter(rel)
                    if below is not None:
                        stack.append((rel, iter(below)))
                        break
                elif kind == _REGULAR:
                    if not self._pattern_excluded(rel, False, reldir):
                        yield rel
                elif links is not None and not self._pattern_excluded(rel, False, reldir):
                    reason = self._link_reason(rel, skip_directories=True)
                    if reason is not None:
                        links[rel] = reason
            else:
                stack.pop()

    def symlink_reason(self, relpath: str) -> str | None:
        """Why relpath is not indexed, if it is a symbolic link that would be a project file were
        it a regular one: the reason names the link's target, or says why it has none. None for
        anything else."""
        try:
            if not stat.S_ISLNK(self.tree.lstat(relpath).st_mode) or not self.could_be_member(relpath):
                return None
        except OSError:
            return None
        return self._link_reason(relpath)

    def forget(self, reldir: str = "") -> None:
        """Drop cached .gitignore/venv knowledge for reldir and below (a .gitignore or
        pyvenv.cfg was created, changed or removed there)."""
        reldir = reldir.strip("/")
        if reldir in ("", ".") or reldir == ".git" or reldir.startswith(".git/"):
            # .git/info/exclude applies to the whole tree, so a change there is a change everywhere.
            self._info_exclude_read = False
            self._ignores.clear()
            self._venv.clear()
            self._excluded.clear()
            return
        prefix = reldir + "/"
        for cache in (self._ignores, self._venv, self._excluded):
            for key in [k for k in cache if k == reldir or k.startswith(prefix)]:
                del cache[key]

    # ------------------------------------------------------------------ the rule
    # Knowledge of a directory (its .gitignore, its pyvenv.cfg, the decision about it) is
    # only kept while it exists: "reldir in self._venv" is the proof that it did when looked
    # at. Below a directory that is not there nothing exists either, so the .gitignore chain
    # starts at the deepest existing ancestor ("base"), which also keeps absurdly deep paths
    # linear.
    def _could_be_member(self, relpath: str, parts: list[str]) -> bool:
        if not parts[-1].endswith(".py"):
            return False
        parent = relpath.rpartition("/")[0]
        if parent and self._dir_excluded(parent):
            return False
        base = parent
        while base and base not in self._venv:
            base = base.rpartition("/")[0]
        return not self._pattern_excluded(relpath, False, base)

    def _dir_excluded(self, reldir: str) -> bool:
        """Whether reldir or an ancestor is excluded, from the cache where possible."""
        # Iterative, top-down from the nearest decided ancestor: an excluded directory
        # settles everything below it (git cannot re-include there either), and deep trees
        # must not hit the recursion limit.
        todo = []
        d = reldir
        while d and d not in self._excluded:
            todo.append(d)
            d = d.rpartition("/")[0]
        excluded = self._excluded.get(d, False) if d else False
        base = d
        exists = True
        for d in reversed(todo):
            if not excluded:
                if exists:
                    excluded = self._has_venv(d)
                    exists = d in self._venv
                excluded = excluded or self._named_or_ignored(d, base)
            if exists:
                self._excluded[d] = excluded
                base = d
        return excluded

    def _named_or_ignored(self, reldir: str, base: str) -> bool:
        """The rules for a directory whose ancestors are not excluded, except pyvenv.cfg."""
        name = reldir.rpartition("/")[2]
        return name in EXCLUDED_NAMES or name in VENV_NAMES or self._pattern_excluded(reldir, True, base)

    def _has_venv(self, reldir: str) -> bool:
        """Whether reldir holds a pyvenv.cfg; remembered only if reldir is a directory."""
        known = self._venv.get(reldir)
        if known is None:
            try:
                self.tree.lstat(f"{reldir}/{VENV_MARKER}" if reldir else VENV_MARKER)
                known = True
            except OSError:
                if not self._is_dir(reldir):
                    return False
                known = False
            self._venv[reldir] = known
        return known

    def _is_dir(self, reldir: str) -> bool:
        try:
            return stat.S_ISDIR(self.tree.lstat(reldir).st_mode)
        except OSError:
            return False

    def _pattern_excluded(self, relpath: str, is_dir: bool, base: str) -> bool:
        """The pattern rules for a path whose ancestors are not excluded; base is its deepest
        ancestor that exists on disk (or the root)."""
        if self._extra is not None and self._extra.verdict(relpath, is_dir):
            return True
        # git's precedence: the .gitignore nearest to the path that has a line matching it
        # decides (its last matching line wins), then .git/info/exclude.
        d = base
        while True:
            patterns = self._gitignore(d)
            if patterns is not None:
                verdict = patterns.verdict(relpath[len(d) + 1:] if d else relpath, is_dir)
                if verdict is not None:
                    return verdict
            if not d:
                break
            d = d.rpartition("/")[0]
        exclude = self._exclude_spec()
        return exclude is not None and bool(exclude.verdict(relpath, is_dir))

    def _gitignore(self, reldir: str) -> _Patterns | None:
        try:
            return self._ignores[reldir]
        except KeyError:
            pass
        spec = _read_patterns(self.tree, f"{reldir}/{GITIGNORE}" if reldir else GITIGNORE)
        if spec is not None or reldir in self._venv or self._is_dir(reldir):
            self._ignores[reldir] = spec
        return spec

    def _exclude_spec(self) -> _Patterns | None:
        if not self._info_exclude_read:
            self._info_exclude = _read_patterns(self.tree, INFO_EXCLUDE)
            # a root that is not there (an unmounted disk) may come back with one
            self._info_exclude_read = self._info_exclude is not None or self._is_dir("")
        return self._info_exclude

    # ------------------------------------------------------------------ walking
    def _link_reason(self, relpath: str, skip_directories: bool = False) -> str | None:
        """The reason a symbolic link (that would be a project file) is not followed. Its
        target is worked out from the link's text: nothing outside the project is looked up
        (the answer would tell a caller what exists there). With ``skip_directories``, None
        for a link to a directory of the project (a directory not followed, like any other)."""
        try:
            text = self.tree.readlink(relpath)
        except OSError as exc:
            return f"symbolic link, not followed: {exc.strerror}"
        inside = self.tree.inside(relpath, text)
        if inside is None:
            return f"symbolic link to {text}, outside the project: not followed"
        try:
            kind = stat.S_IFMT(self.tree.lstat(inside).st_mode)
        except OSError:
            return f"symbolic link to {inside or '.'}, which is not there: not followed"
        if kind == stat.S_IFDIR and skip_directories:
            return None
        if kind == stat.S_IFLNK:
            return f"symbolic link to {inside}, itself a link: not followed"
        return f"symbolic link to {inside or '.'}: not followed (the target is indexed)"

    def _list(self, reldir: str) -> list[_Entry] | None:
        """The candidate entries of a directory as (sort key, name, kind), sorted; None (and
        the directory recorded) if it cannot be read. Candidates are directories, and regular
        files and symbolic links named *.py. Records what the listing tells about pyvenv.cfg
        and .gitignore, saving a system call per directory later."""
        out: list[_Entry] = []
        has_venv = has_gitignore = False
        try:
            listing = self.tree.entries(reldir)
        except OSError:
            self.unreadable.append(reldir)
            return None
        for name, kind in listing:
            if name == VENV_MARKER:
                has_venv = True
            elif name == GITIGNORE:
                has_gitignore = True
            # the kinds come from the listing (d_type): no extra system call, never through a link
            if kind is Kind.DIRECTORY:
                out.append((name + "/", name, _DIRECTORY))
            elif name.endswith(".py"):
                if kind is Kind.FILE:
                    out.append((name, name, _REGULAR))
                elif kind is Kind.LINK:
                    out.append((name, name, _SYMLINK))
        self._venv[reldir] = has_venv
        if not has_gitignore:
            self._ignores[reldir] = None
        out.sort()
        return out

    def _enter(self, reldir: str) -> list[_Entry] | None:
        """The listing of a subdirectory met during the walk, or None if it is excluded or
        unreadable. Equivalent to _dir_excluded, ordered so that an excluded directory is
        only listed when pyvenv.cfg is the one thing left to decide it."""
        if self._named_or_ignored(reldir, reldir.rpartition("/")[0]):
            self._excluded[reldir] = True
            return None
        below = self._list(reldir)
        if below is None:
            return None
        excluded = self._venv[reldir]
        self._excluded[reldir] = excluded
        return None if excluded else below

"""The Manager's read-only questions: full text, definitions, references, sources, history, problems.

Each checks its arguments and answers from the store's reader connection.
"""

from __future__ import annotations

from codeanalysisd import paths
from codeanalysisd.db import history, queries
from codeanalysisd.owner import failures
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.records import ProjectInfo

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
KINDS = ("class", "function", "async_function", "method", "async_method")
MAX_VERSION_SPEC = 80


def limit_of(limit: int) -> int:
    """0 means the default; no caller gets more than MAX_LIMIT rows."""
    return DEFAULT_LIMIT if limit == 0 else min(int(limit), MAX_LIMIT)


def search(core: OwnerCore, query: str, project: str, limit: int) -> list[queries.Hit]:
    return core.store.reads.files.search(query, core.scope(project), limit_of(limit))


def find_symbol(core: OwnerCore, name: str, project: str, kind: str, limit: int) -> list[queries.Symbol]:
    if not name.strip():
        raise failures.Refused("name is empty: give a name, a qualified name (Cls.meth) or a glob (test_*)")
    if kind and kind not in KINDS:
        raise failures.Refused(f"unknown kind {kind!r}; kinds are {', '.join(KINDS)}")
    return core.store.reads.files.find_symbol(name.strip(), core.scope(project), kind, limit_of(limit))


def find_references(core: OwnerCore, name: str, project: str, limit: int) -> list[queries.Usage]:
    if not name.strip():
        raise failures.Refused("name is empty: give a name or a dotted name (os.path.join)")
    return core.store.reads.files.find_references(name.strip(), core.scope(project), limit_of(limit))


def problems(core: OwnerCore, project: str) -> list[tuple[str, str, str]]:
    return core.store.reads.files.problems(core.scope(project))


def relpath(project: ProjectInfo, raw: str) -> str:
    return paths.project_relpath(project.root, raw)


def version(core: OwnerCore, project: ProjectInfo, rel: str, spec: str) -> tuple[history.Version, bytes]:
    """A version of a file by number or sha256 prefix, with its bytes."""
    if len(spec) > MAX_VERSION_SPEC or "\0" in spec:
        raise failures.Refused("version must be a number or a sha256 prefix")
    try:
        return core.store.reads.history.version(project.id, rel, spec)
    except LookupError as exc:
        raise failures.Unknown(f"{exc.args[0] if exc.args else rel} (codeanalysisctl history "
                               f"{project.id} {rel} lists the versions)") from None


def file_history(core: OwnerCore, project: str, path: str) -> tuple[ProjectInfo, str, list[history.Version]]:
    """The project, the checked relative path, and its versions (Unknown if it has none)."""
    found = core.project(project)
    rel = relpath(found, path)
    versions = core.store.reads.history.versions(found.id, rel)
    if not versions:
        raise failures.Unknown(f"no history for {rel} in project {found.id!r}")
    return found, rel, versions


def file_source(core: OwnerCore, project: str, path: str, spec: str) -> bytes:
    """The exact bytes of a file: its current (or, if deleted, last) content for version ""
    or "current", else the version named by number or sha256 prefix."""
    found = core.project(project)
    rel = relpath(found, path)
    if spec.strip() not in ("", "current"):
        return version(core, found, rel, spec)[1]
    try:
        data, state, problems = core.store.reads.files.source(found.id, rel)
    except LookupError:
        if versions := core.store.reads.history.versions(found.id, rel):
            return version(core, found, rel, str(versions[-1].n))[1]
        raise failures.Unknown(f"{rel} is not a file of project {found.id!r}") from None
    if data is None:
        raise failures.Unknown(f"no stored source for {rel}: {problems or state}")
    return data

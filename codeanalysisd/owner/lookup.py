"""The Manager's read-only questions: full text, definitions, references, sources, history, problems.

Each checks its arguments, then runs on a read thread with a deadline (``Store.read``): the
query, and the look at the disk that decides what this caller may see of its answer
(``permissions.View``). A query whose rows the caller may not all see asks again for more,
so a page is as full as the caller's view allows.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Protocol, TypeVar

from codeanalysisd import paths, query_language
from codeanalysisd.bus.api import LIST_PAGE
from codeanalysisd.db import history, queries
from codeanalysisd.db.store import Reads, UnknownProject
from codeanalysisd.db.vectors import Match
from codeanalysisd.owner import failures
from codeanalysisd.owner.core import OwnerCore
from codeanalysisd.owner.permissions import View
from codeanalysisd.query_language import KINDS, Query
from codeanalysisd.records import ProjectInfo

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
MAX_VERSION_SPEC = 80
MAX_SCANNED = 20_000  # rows a filtered query looks at, at most, to fill one page
MAX_REACH = 10_000  # the last full-text result a page: may reach
MAX_PROBLEM_TEXT = 2000  # characters of one file's reasons in ListProblems; a longer text is cut, ending " …"


class _Located(Protocol):
    @property
    def project(self) -> str: ...
    @property
    def path(self) -> str: ...


R = TypeVar("R", bound=_Located)
T = TypeVar("T")


def limit_of(limit: int) -> int:
    """0 means the default; no caller gets more than MAX_LIMIT rows."""
    return DEFAULT_LIMIT if limit == 0 else min(int(limit), MAX_LIMIT)


def paged(rows: Iterable[T], offset: int, limit: int) -> list[T]:
    """ListProjects and ListProblems: rows ``offset`` .. ``offset + limit`` of ``rows`` (limit 0:
    a full page of api.LIST_PAGE, never more). ``rows`` is read only as far as the page, so a
    lazy filter by the caller's view looks at no more than it must."""
    wanted = LIST_PAGE if limit == 0 else min(int(limit), LIST_PAGE)
    return list(itertools.islice(rows, offset, offset + wanted))


def projects_of(reads: Reads) -> Callable[[str], ProjectInfo | None]:
    """A row's project by id, for one request: looked up once each, and only for the projects
    the rows name (a listing of every project would count every project's files)."""
    @functools.cache
    def find(project_id: str) -> ProjectInfo | None:
        try:
            return reads.projects.find(project_id)
        except UnknownProject:
            return None  # removed since the row was read: the row is dropped

    return find


def seen(reads: Reads, view: View, rows: list[R]) -> list[R]:
    """The rows whose file the caller may see."""
    project = projects_of(reads)
    return view.filter(rows, lambda r: (project(r.project), r.path))


def _visible(view: View, rows: Sequence[T], where: Callable[[T], tuple[ProjectInfo | None, str]]) -> Iterator[T]:
    """The rows the caller may see, checked a page at a time, as far as they are read."""
    for start in range(0, len(rows), LIST_PAGE):
        yield from view.filter(rows[start:start + LIST_PAGE], where)


def _capped(text: str) -> str:
    return text if len(text) <= MAX_PROBLEM_TEXT else text[:MAX_PROBLEM_TEXT - 2] + " …"


def visible_page(reads: Reads, view: View, fetch: Callable[[int], list[R]], limit: int) -> list[R]:
    """Up to ``limit`` rows of ``fetch(n)`` (the first n rows of a query) that the caller may see."""
    if view.all_seeing:
        return fetch(limit)
    asked = limit
    while True:
        rows = fetch(asked)
        kept = seen(reads, view, rows)
        if len(kept) >= limit or len(rows) < asked or asked >= MAX_SCANNED:
            return kept[:limit]
        asked = min(asked * 4, MAX_SCANNED)


async def scope(core: OwnerCore, view: View, key: str) -> str | None:
    """A query's project: '' means every project (the caller's view of them)."""
    return (await core.visible_project(key, view)).id if key else None


def _skipped(query: Query, wanted: int) -> int:
    """The results before the query's page:, refused past MAX_REACH (each page is re-ranked
    from the first result, so a deep page costs what all the pages before it do)."""
    skip = (query.page - 1) * wanted
    if skip + wanted > MAX_REACH:
        raise failures.Refused(f"page:{query.page} of {wanted} results would reach result {skip + wanted}; "
                               f"at most {MAX_REACH} can be reached: narrow the query (path:, sym:, more words)")
    return skip


async def search(core: OwnerCore, view: View, query: str, project: str, limit: int) -> list[queries.Hit]:
    """Search: the query language's (query_language.parse) hits, the query's page: of them."""
    parsed = query_language.parse(query)
    where, wanted = await scope(core, view, project), limit_of(limit)
    skip = _skipped(parsed, wanted)
    found = await core.store.read(
        lambda r: visible_page(r, view, lambda n: r.files.search(parsed, where, n), skip + wanted))
    return found[skip:]


async def find_symbol(core: OwnerCore, view: View, name: str, project: str, kind: str, limit: int
                      ) -> list[queries.Symbol]:
    if not name.strip():
        raise failures.Refused("name is empty: give a name, a qualified name (Cls.meth) or a glob (test_*)")
    if kind and kind not in KINDS:
        raise failures.Refused(f"unknown kind {kind!r}; kinds are {', '.join(KINDS)}")
    where, wanted, name = await scope(core, view, project), limit_of(limit), name.strip()
    return await core.store.read(
        lambda r: visible_page(r, view, lambda n: r.files.find_symbol(name, where, kind, n), wanted))


async def find_references(core: OwnerCore, view: View, name: str, project: str, limit: int
                          ) -> list[queries.Usage]:
    if not name.strip():
        raise failures.Refused("name is empty: give a name or a dotted name (os.path.join)")
    where, wanted, name = await scope(core, view, project), limit_of(limit), name.strip()
    return await core.store.read(
        lambda r: visible_page(r, view, lambda n: r.files.find_references(name, where, n), wanted))


async def problems(core: OwnerCore, view: View, project: str, offset: int, limit: int
                   ) -> list[tuple[str, str, str]]:
    """One page of the files with problems the caller may see, by project and path, each
    file's reasons capped at MAX_PROBLEM_TEXT characters."""
    where = await scope(core, view, project)

    def run(reads: Reads) -> list[tuple[str, str, str]]:
        found = reads.files.problems(where)
        rows: Iterable[tuple[str, str, str]] = found
        if not view.all_seeing:
            project = projects_of(reads)
            rows = _visible(view, found, lambda row: (project(row[0]), row[1]))
        return [(pid, path, _capped(text)) for pid, path, text in paged(rows, offset, limit)]

    return await core.store.read(run)


def relpath(project: ProjectInfo, raw: str) -> str:
    return paths.project_relpath(project.root, raw)


def _version(reads: Reads, project: ProjectInfo, rel: str, spec: str) -> tuple[history.Version, bytes]:
    if len(spec) > MAX_VERSION_SPEC or "\0" in spec:
        raise failures.Refused("version must be a number or a sha256 prefix")
    try:
        return reads.history.version(project.id, rel, spec)
    except LookupError as exc:
        raise failures.Unknown(f"{exc.args[0] if exc.args else rel} (codeanalysisctl history "
                               f"{project.id} {rel} lists the versions)") from None


def _hidden(project: ProjectInfo, rel: str) -> failures.Unknown:
    # The same answer as for a path the index never had: what the caller may not see, they
    # cannot tell apart from what is not there.
    return failures.Unknown(f"no history for {rel} in project {project.id!r}")


async def file_history(core: OwnerCore, view: View, project: str, path: str
                       ) -> tuple[ProjectInfo, str, list[history.Version]]:
    """The project, the checked relative path, and its versions (Unknown if it has none the
    caller may see)."""
    found = await core.visible_project(project, view)
    rel = relpath(found, path)

    def run(reads: Reads) -> list[history.Version]:
        if not view.sees_history(found, rel):
            raise _hidden(found, rel)
        return reads.history.versions(found.id, rel)

    versions = await core.store.read(run)
    if not versions:
        raise _hidden(found, rel)
    return found, rel, versions


async def version(core: OwnerCore, view: View, project: str, path: str, spec: str
                  ) -> tuple[ProjectInfo, str, history.Version, bytes]:
    """A version of a file by number or sha256 prefix ("" = the latest), with its bytes."""
    found, rel, versions = await file_history(core, view, project, path)
    chosen, data = await core.store.read(lambda r: _version(r, found, rel, spec.strip() or str(versions[-1].n)))
    return found, rel, chosen, data


async def file_source(core: OwnerCore, view: View, project: str, path: str, spec: str) -> bytes:
    """The exact bytes of a file: its current (or, if deleted, last) content for version ""
    or "current", else the version named by number or sha256 prefix."""
    if spec.strip() not in ("", "current"):
        return (await version(core, view, project, path, spec))[3]
    found = await core.visible_project(project, view)
    rel = relpath(found, path)

    def run(reads: Reads) -> bytes:
        if not view.sees_history(found, rel):
            raise failures.Unknown(f"{rel} is not a file of project {found.id!r}")
        try:
            data, state, problems = reads.files.source(found.id, rel)
        except LookupError:
            if versions := reads.history.versions(found.id, rel):
                return _version(reads, found, rel, str(versions[-1].n))[1]
            raise failures.Unknown(f"{rel} is not a file of project {found.id!r}") from None
        if data is None:
            raise failures.Unknown(f"no stored source for {rel}: {problems or state}")
        return data

    return await core.store.read(run)


async def nearest(core: OwnerCore, view: View, query: str, project: str, limit: int, hybrid: bool
                  ) -> list[Match]:
    """SemanticSearch (or HybridSearch): the chunks nearest to the words, of files the caller
    may see. HybridSearch reads the query language (query_language.parse): its filters
    restrict both rankings, and page: picks the page."""
    where, wanted, skip = await scope(core, view, project), limit_of(limit), 0
    ask: Callable[[str, str | None, int], Awaitable[list[Match]]] = core.semantic.search
    if hybrid:
        parsed = query_language.parse(query)
        skip = _skipped(parsed, wanted)
        ask = lambda _, where, n: core.semantic.hybrid(parsed, where, n)  # noqa: E731
    if view.all_seeing:
        return (await ask(query, where, skip + wanted))[skip:]
    asked = skip + wanted
    while True:
        found = await ask(query, where, asked)
        # the look at the disk on a read thread too, with the deadline of any read
        kept = await core.store.read(functools.partial(seen, view=view, rows=found))
        if len(kept) >= skip + wanted or len(found) < asked or asked >= MAX_SCANNED:
            return kept[skip:skip + wanted]
        asked = min(asked * 4, MAX_SCANNED)

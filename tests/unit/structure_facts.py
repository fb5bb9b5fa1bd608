"""A project held in memory for the resolver: each file's facts as the extractor gives them,
served the way the DB owner serves its rows (``index.resolve.Source``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from codeanalysisd.index import expressions
from codeanalysisd.index.extract import extract
from codeanalysisd.index.facts import Binding, Import, Use
from codeanalysisd.index.resolve import DefinitionRow, Model, Skeleton


class MemoryProject:
    def __init__(self, files: dict[str, str], root: str = "/srv/proj") -> None:
        self.files = {n: (path, extract(text.encode())) for n, (path, text) in enumerate(sorted(files.items()), 1)}
        self.model = Model(root)
        self.model.refresh({n: (path, 0.0) for n, (path, _) in self.files.items()})
        self.model.using(self)

    def skeleton(self, file_id: int) -> Skeleton:
        facts = self.files[file_id][1]
        return Skeleton.of([DefinitionRow(d.qualname, d.kind, d.line, d.end_line, d.decorators, d.parent)
                            for d in facts.definitions], facts.bindings)

    def imports(self) -> Iterable[tuple[int, Import]]:
        for n, (_path, facts) in self.files.items():
            for row in facts.imports:
                yield n, row

    def bindings_keyed(self, keys: Collection[str], kinds: Collection[str]) -> Iterable[tuple[int, Binding]]:
        for n, (_path, facts) in self.files.items():
            for b in facts.bindings:
                if b.kind in kinds and expressions.key(b.value) in keys:
                    yield n, b

    def uses_keyed(self, keys: Collection[str], kinds: Collection[str]) -> Iterable[tuple[int, Use]]:
        for n, (_path, facts) in sorted(self.files.items(), key=lambda item: item[1][0]):
            for use in facts.uses:
                if use.key in keys and use.kind in kinds:
                    yield n, use

    def uses_in(self, file_id: int, scope: str) -> Iterable[Use]:
        return [u for u in self.files[file_id][1].uses if u.scope == scope]

    def definers(self, name: str) -> Iterable[tuple[int, str]]:
        found = set()
        for n, (_path, facts) in self.files.items():
            found.update((n, d.parent or "") for d in facts.definitions if d.name == name)
            found.update((n, b.scope) for b in facts.bindings
                         if b.name == name and b.kind in ("assign", "attr", "import"))
        return sorted(found)

    def classes_named(self, name: str) -> Iterable[tuple[int, str]]:
        for n, (_path, facts) in self.files.items():
            for d in facts.definitions:
                if d.kind == "class" and d.name == name:
                    yield n, d.qualname

    def file_id(self, path: str) -> int:
        return next(n for n, (p, _) in self.files.items() if p == path)

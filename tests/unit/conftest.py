"""Fixtures the unit tests share: a store on temporary files, one project registered."""

import pytest

from codeanalysisd.db.store import Store
from codeanalysisd.paths import roots_overlap


@pytest.fixture
def store(tmp_path):
    """A fresh index and history in tmp_path, with the project "p" (root /srv/p); a test
    module that needs rows in it from the start has a fixture of its own by this name."""
    s, _ = Store.open(str(tmp_path / "i.db"), str(tmp_path / "h.db"))
    s.writes.projects.add("/srv/p", roots_overlap)
    yield s
    s.close()

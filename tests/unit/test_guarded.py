import asyncio

import apsw
import pytest

from codeanalysisd.bus import errors
from codeanalysisd.db.store import UnknownProject
from codeanalysisd.owner import failures
from codeanalysisd.owner.guard import ERRORS, Guard, bus_error, guarded
from codeanalysisd.owner.repair import ProjectUnavailable, RepairBusy
from codeanalysisd.paths import PathRejected


class Face:
    """A bus face as the owner has them: handlers answered through its guard."""

    def __init__(self) -> None:
        self.corrupt: list[BaseException] = []
        self.guard = Guard(self.corrupt.append)
        self.calls = 0

    def count_call(self) -> None:
        self.calls += 1

    @guarded
    def AddThing(self, path):
        raise OSError(40, "Too many levels of symbolic links")

    @guarded
    def refuse(self):
        raise errors.NotFound("no project 'x'")

    @guarded
    async def boom(self):
        raise KeyError("k")

    @guarded
    def raises(self, exc):
        raise exc


def test_unexpected_exception_becomes_named_failed_error(caplog):
    with pytest.raises(errors.Failed) as info:
        Face().AddThing("/x")
    assert info.value.type == "org.codeanalysis1.Error.Failed"
    assert "AddThing failed: OSError" in info.value.text and "journalctl -u codeanalysisd-db" in info.value.text
    assert any(r.levelname == "ERROR" and r.exc_info for r in caplog.records)


def test_named_errors_pass_through_and_async_is_guarded():
    face = Face()
    with pytest.raises(errors.NotFound):
        face.refuse()
    with pytest.raises(errors.Failed, match="boom failed: KeyError"):
        asyncio.run(face.boom())
    assert face.calls == 2


@pytest.mark.parametrize(("exc", "error"), [
    (UnknownProject("x"), errors.NotFound),
    (failures.Unknown("no version 9"), errors.NotFound),
    (PathRejected("path is empty"), errors.InvalidArgument),
    (failures.Refused("name is empty"), errors.InvalidArgument),
    (RepairBusy("a repair of 'p' is running"), errors.Busy),
    (ProjectUnavailable("the root is not there"), errors.Failed),
    (failures.NotRunning("the vectorizer is not answering"), errors.Unavailable),
    (failures.Forbidden("polkit said no"), errors.AccessDenied),
    (failures.AlreadyThere("x.py exists"), errors.Exists),
    (failures.CouldNot("cannot do it"), errors.Failed),
])
def test_domain_exceptions_become_their_one_bus_error_with_their_message(exc, error):
    with pytest.raises(error) as info:
        Face().raises(exc)
    assert type(info.value) is error and info.value.text == str(exc)


def test_the_table_lists_a_subclass_before_its_base():
    for i, (kind, _error) in enumerate(ERRORS):
        for later, _ in ERRORS[i + 1:]:
            assert not issubclass(later, kind) or later is kind, f"{later.__name__} is shadowed by {kind.__name__}"
    assert bus_error(KeyError("k")) is None  # a bug is never mistaken for a domain answer


def test_corruption_in_the_chain_is_reported_to_the_owner():
    face = Face()
    try:
        try:
            raise apsw.CorruptError("database disk image is malformed")
        except apsw.CorruptError as inner:
            raise RuntimeError("no transaction is active") from inner
    except RuntimeError as outer:
        with pytest.raises(errors.Failed):
            face.raises(outer)
    assert len(face.corrupt) == 1 and isinstance(face.corrupt[0], apsw.CorruptError)

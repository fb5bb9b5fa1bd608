import asyncio

import pytest

from codeanalysisd.bus import errors
from codeanalysisd.owner.manager import guarded


def test_unexpected_exception_becomes_named_failed_error(caplog):
    @guarded
    def AddThing(path):
        raise OSError(40, "Too many levels of symbolic links")

    with pytest.raises(errors.Failed) as info:
        AddThing("/x")
    assert info.value.type == "org.codeanalysis1.Error.Failed"
    assert "AddThing failed: OSError" in info.value.text and "journalctl -u codeanalysisd-db" in info.value.text
    assert any(r.levelname == "ERROR" and r.exc_info for r in caplog.records)


def test_named_errors_pass_through_and_async_is_guarded():
    @guarded
    def refuse():
        raise errors.NotFound("no project 'x'")

    with pytest.raises(errors.NotFound):
        refuse()

    @guarded
    async def boom():
        raise KeyError("k")

    with pytest.raises(errors.Failed, match="boom failed: KeyError"):
        asyncio.run(boom())

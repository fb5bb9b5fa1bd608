"""The signatures in bus/api.py are the ones the owner's faces serve: clients cannot drift."""

from codeanalysisd.bus import api
from codeanalysisd.owner.introspection import interfaces


def _served() -> dict[str, dict[str, tuple[str, str]]]:
    out = {}
    for interface in interfaces():
        out[interface.name] = {
            m.name: ("".join(a.signature for a in m.in_args), "".join(a.signature for a in m.out_args))
            for m in interface.methods}
    return out


def test_every_worker_method_has_the_signature_the_client_sends():
    served = _served()["org.codeanalysis1.Worker"]
    assert set(served) == set(api.WORKER)
    for member, call in api.WORKER.items():
        assert served[member] == (call.args, call.returns), member


def test_every_manager_method_has_the_signature_the_cli_sends():
    served = _served()["org.codeanalysis1.Manager"]
    assert set(served) == set(api.MANAGER)
    for member, call in api.MANAGER.items():
        assert served[member] == (call.args, call.returns), member

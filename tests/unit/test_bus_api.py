"""The signatures in bus/api.py are the ones the owner's faces serve: clients cannot drift."""

from dbus_fast.service import ServiceInterface

from codeanalysisd.bus import api
from codeanalysisd.owner.introspection import interfaces
from codeanalysisd.workers.vectorizer import NearestService


def _served() -> dict[str, dict[str, tuple[str, str]]]:
    out = {}
    vectorizer = NearestService.__new__(NearestService)
    ServiceInterface.__init__(vectorizer, "org.codeanalysis1.Vectorizer")
    for interface in [*interfaces(), vectorizer.introspect()]:
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


def test_the_repair_worker_commands_have_the_signatures_agents_were_promised():
    assert api.MANAGER["StartRepairWorker"].args == "sud"
    assert api.MANAGER["StopRepairWorker"].args == "db"
    assert api.MANAGER["RepairWorkerStatus"] == api.Call("RepairWorkerStatus", "s", "a{sv}")


def test_the_owner_asks_the_vectorizer_with_the_signature_it_serves():
    served = _served()["org.codeanalysis1.Vectorizer"]
    assert served == {m: (c.args, c.returns) for m, c in api.VECTORIZER.items()}


def test_signatures_are_derived_from_the_annotated_types():
    assert api.signature(api.Str, api.FileBatch) == "sa(sxxaysu)"
    assert api.WORKER["IndexFiles"].args == "sa(sxxaysu)" and api.MANAGER["ListProjects"].returns == "a(sssus)"

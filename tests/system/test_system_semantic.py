"""Semantic search under a real system manager, with no network: the vectorizer embeds a real
project, vectors land in the database, and a description in words finds the function.

The sandbox has no network interface but loopback, and the vectorizer unit itself runs
with PrivateNetwork=yes: the model can only come from the disk.
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import SRC, figure
from helpers import ctl, start_suite
from sandbox.box import wait_until

PY = "/usr/lib/codeanalysisd/bin/python"
STDLIB = "/usr/lib/python3.11"
ROOT, PID = "/srv/sem", "sem"
MODULES = ("shutil", "textwrap", "base64", "glob", "fnmatch", "tempfile", "gzip", "csv")
VECTORIZER = "codeanalysisd-vectorizer.service"
# A description of what a function does, and the definitions that do it.
QUERIES = {
    "copy a directory tree recursively": {"copytree"},
    "create a temporary directory that is removed afterwards": {"TemporaryDirectory"},
    "remove common leading whitespace from every line": {"dedent"},
    "move a file or directory to another location": {"move"},
    "compress data with gzip": {"compress"},
    "wrap a paragraph of text so no line is longer than a given width": {"wrap", "fill", "TextWrapper.wrap"},
}


def vectors(box) -> dict:
    return json.loads(box.run(PY, f"{SRC}/tests/support/dbcheck.py", "vectors").stdout)


def prop(box, name: str):
    out = box.run("busctl", "--json=short", "get-property", "org.codeanalysis1", "/org/codeanalysis1",
                  "org.codeanalysis1.Manager", name).stdout
    return json.loads(out)["data"]


def vectorizer(box) -> dict:
    return json.loads(ctl(box, "--json", "worker", "status", "vectorizer").stdout)[0]


def semantic(box, query: str, *args: str) -> list[dict]:
    r = ctl(box, "--json", "semantic", *args, query, check=False)
    return json.loads(r.stdout) if r.stdout.strip() else []


def settled(box) -> bool:
    """Every chunk has a vector, and the vectorizer has said so."""
    return prop(box, "ChunksPending") == 0 and vectorizer(box)["StatusText"].startswith("idle: every chunk")


def copy_modules(box, root: str, modules) -> None:
    box.sh(f"rm -rf {root} && mkdir -p {root} && " + " && ".join(f"cp {STDLIB}/{m}.py {root}/" for m in modules))


@pytest.fixture(scope="module", autouse=True)
def project(system):
    start_suite(system)
    copy_modules(system, ROOT, MODULES)
    started = time.monotonic()
    ctl(system, "add", ROOT)
    # indexed first (a file's chunks are committed with it), then embedded
    wait_until(lambda: prop(system, "FilesIndexed") >= len(MODULES), timeout=30, what="the project indexed")
    wait_until(lambda: settled(system), timeout=120, what="the project embedded")
    found = vectors(system)
    figure(f"semantic: {len(MODULES)} stdlib modules, {found['chunks']} chunks indexed and embedded "
           f"{time.monotonic() - started:.1f} s after AddProject")
    yield
    ctl(system, "remove", PID, check=False)


def test_the_sandbox_and_the_vectorizer_have_no_network(system):
    assert system.run("ls", "/sys/class/net").stdout.split() == ["lo"]
    assert system.show(VECTORIZER, "PrivateNetwork")["PrivateNetwork"] == "yes"


@pytest.mark.parametrize("query", QUERIES)
def test_a_function_is_found_by_what_it_does(system, query):
    found = semantic(system, query, "-p", PID, "-n", "5")
    symbols = [m["symbol"] for m in found]
    assert QUERIES[query] & set(symbols), f"{query!r}: top 5 were {symbols}"
    best = found[0]
    assert best["path"].endswith(".py") and best["line"] <= best["end_line"] and 0 < best["score"] <= 1.0001


def test_results_are_one_row_per_definition_and_the_public_one_comes_before_its_private_helper(system):
    # shutil.copytree and its helper _copytree describe the same work; so do many windows of both
    for args in ((), ("--hybrid",)):
        found = semantic(system, "copy a directory tree recursively", "-p", PID, "-n", "10", *args)
        where = [(m["path"], m["symbol"]) for m in found]
        assert len(found) == 10 and len(set(where)) == len(where), where
        symbols = [m["symbol"] for m in found]
        assert "copytree" in symbols and ("_copytree" not in symbols
                                          or symbols.index("copytree") < symbols.index("_copytree")), symbols
    figure(f"semantic: 'copy a directory tree recursively' top 5, one row per definition: {symbols[:5]}")


def test_every_chunk_has_exactly_one_vector(system):
    found = vectors(system)
    (model,) = found["models"].values()
    assert model["dim"] == 384 and model["complete"] and found["integrity"] == "ok"
    assert model["missing"] == 0 and model["embeddings"] == model["distinct_keys"] == model["vec_rows"]
    # every chunk text has its vector; any other vector is of code no file holds any more (pruned hourly)
    assert model["embeddings"] == found["chunk_keys"] + model["unused"]


def test_hybrid_search_fuses_full_text_with_vectors(system):
    # an identifier the model cannot read as words, with a description it can
    query = "gettempdir default temporary directory"
    found = semantic(system, query, "-p", PID, "-n", "5", "--hybrid")
    assert "gettempdir" in {m["symbol"] for m in found}, found
    assert found == sorted(found, key=lambda m: -m["score"]) and all(0 < m["score"] <= 2 / 61 for m in found)
    figure("semantic: 'gettempdir default temporary directory' top 5, vectors alone: "
           f"{[m['symbol'] for m in semantic(system, query, '-p', PID, '-n', '5')]}; hybrid: "
           f"{[m['symbol'] for m in found]}")


def test_renaming_a_file_embeds_nothing_and_an_edit_only_what_changed(system):
    before = vectors(system)
    done = vectorizer(system)["done"]
    system.sh(f"mv {ROOT}/csv.py {ROOT}/csvmodule.py")
    wait_until(lambda: any(m["path"] == "csvmodule.py" for m in semantic(
        system, "read rows from a comma separated file as dictionaries", "-p", PID, "-n", "5")),
        timeout=20, what="the renamed file in the results")
    # the vectorizer is woken by the change; give it rounds to (not) act, then wait for it to
    # say it is idle (on a loaded machine its round may outlast a fixed pause): it must not
    # have embedded anything
    time.sleep(2)
    wait_until(lambda: settled(system), timeout=20, what="the vectorizer to settle after the rename")
    assert vectorizer(system)["done"] == done
    assert vectors(system)["models"] == before["models"]
    # the counter does move: a new function is one new chunk, embedded once
    system.sh(f"printf '\\n\\ndef reverse_words(text):\\n    return \" \".join(reversed(text.split()))\\n'"
              f" >> {ROOT}/textwrap.py")
    wait_until(lambda: any(m["symbol"] == "reverse_words" for m in semantic(
        system, "reverse the order of the words in a sentence", "-p", PID, "-n", "3")),
        timeout=20, what="the new function to be embedded and found")
    wait_until(lambda: settled(system), timeout=20, what="the vectorizer to settle")
    assert vectorizer(system)["done"] == done + 1


def test_chunks_pending_is_announced_when_it_may_have_changed(system):
    # invalidated, not sent with a value: counting it is a query over every chunk
    out = "/tmp/chunks-pending-signals.txt"
    system.sh(f"(timeout 20 dbus-monitor --system \"type='signal',path='/org/codeanalysis1',"
              f"member='PropertiesChanged'\" > {out} 2>&1 &)")
    wait_until(lambda: system.run("pgrep", "-x", "dbus-monitor", check=False).returncode == 0, timeout=5,
               what="dbus-monitor running")
    time.sleep(0.5)  # its match rule registered
    system.sh(f"printf '\\n\\ndef shout(text):\\n    return text.upper()\\n' >> {ROOT}/base64.py")
    wait_until(lambda: system.run("cat", out).stdout.count('string "ChunksPending"') >= 2, timeout=15,
               what="ChunksPending invalidated by the index change and by the stored vector")
    system.run("pkill", "-x", "dbus-monitor", check=False)


def test_a_deleted_file_leaves_the_results_at_once(system):
    query = "copy a directory tree recursively"
    assert any(m["path"] == "shutil.py" for m in semantic(system, query, "-p", PID))
    system.sh(f"rm {ROOT}/shutil.py")
    wait_until(lambda: json.loads(system.run(PY, f"{SRC}/tests/support/dbcheck.py", "files", PID).stdout)
               ["files"]["shutil.py"]["state"] == "deleted", timeout=20, what="shutil.py marked deleted")
    assert not any(m["path"] == "shutil.py" for m in semantic(system, query, "-p", PID, "-n", "50"))


def test_bad_queries_and_a_stopped_vectorizer_are_named_errors(system):
    empty = ctl(system, "semantic", "-p", PID, " ", check=False)
    assert empty.returncode == 1 and "InvalidArgument" in empty.stderr
    unknown = ctl(system, "semantic", "-p", "nosuch", "x", check=False)
    assert "NotFound" in unknown.stderr
    system.systemctl("stop", VECTORIZER)
    try:
        down = ctl(system, "semantic", "-p", PID, "copy files", check=False)
        assert down.returncode == 1 and "Unavailable" in down.stderr and f"systemctl status {VECTORIZER}" in down.stderr
        assert ctl(system, "search", "-p", PID, "TemporaryDirectory").returncode == 0  # the rest goes on
    finally:
        system.systemctl("start", VECTORIZER)
    wait_until(lambda: semantic(system, "copy files", "-p", PID), timeout=30, what="semantic search back")


def test_restarts_mid_run_lose_and_duplicate_nothing(system):
    """A bigger project; the vectorizer is restarted, then killed with SIGKILL, while it embeds.

    The backlog is made first, with the vectorizer stopped, so that each interruption surely
    falls inside a run that still has hundreds of chunks to go, however fast this machine is.
    """
    root = "/srv/sem-big"
    system.sh(f"rm -rf {root} && mkdir -p {root} && cp -r {STDLIB}/email {STDLIB}/json {root}/")
    # A vector is kept once per chunk text, and earlier tests index these modules too: every
    # function and class is renamed for this run, so their chunks are new to the vectorizer.
    token = f"r{time.time_ns() % 10**9}"
    system.sh(f"find {root} -name '*.py' -exec sed -E -i "
              f"'s/^([[:space:]]*)(async def|def|class) ([A-Za-z_][A-Za-z0-9_]*)/\\1\\2 \\3_{token}/' {{}} +")
    system.systemctl("stop", VECTORIZER)
    try:
        ctl(system, "add", root)
        files = int(system.sh(f"find {root} -name '*.py' | wc -l").stdout)
        wait_until(lambda: _indexed(system, "sem-big") == files, timeout=60, what="sem-big indexed")
        backlog = prop(system, "ChunksPending")
        assert backlog >= 300, backlog  # enough that 50 embedded leaves a run in progress
        system.systemctl("start", VECTORIZER)

        def running(least: int) -> bool:
            row = vectorizer(system)
            return row["ActiveState"] == "active" and row["done"] >= least and prop(system, "ChunksPending") > 0

        for how in ("restart", "kill"):
            try:
                wait_until(lambda: running(50), timeout=90, interval=0.05,
                           what=f"the vectorizer mid-run before the {how}")
            except TimeoutError as exc:
                raise AssertionError(f"{exc}; vectorizer: {vectorizer(system)}, ChunksPending: "
                                     f"{prop(system, 'ChunksPending')}, journal:\n"
                                     + system.sh(f"journalctl -u {VECTORIZER} -n 30 --no-pager").stdout) from None
            if how == "restart":
                system.systemctl("restart", VECTORIZER)
            else:
                system.systemctl("kill", "-s", "KILL", VECTORIZER)
            # a new process counts from 0: the next wait is on its own progress
        wait_until(lambda: settled(system), timeout=180, what="every chunk embedded after the restarts")
        assert int(system.show(VECTORIZER, "NRestarts")["NRestarts"]) >= 1  # the SIGKILL was a crash, restarted
        found = vectors(system)
        (model,) = found["models"].values()
        assert found["integrity"] == "ok" and model["missing"] == 0
        assert model["embeddings"] == model["distinct_keys"] == model["vec_rows"]
        # a project that is a small part of the index is searched among its own keys only
        small = semantic(system, "remove common leading whitespace from every line", "-p", PID, "-n", "5")
        assert "dedent" in {m["symbol"] for m in small} and {m["project"] for m in small} == {PID}
        big = semantic(system, "parse an email message from bytes", "-p", "sem-big", "-n", "5")
        assert len(big) == 5 and {m["project"] for m in big} == {"sem-big"}
    finally:
        system.systemctl("start", VECTORIZER)
        ctl(system, "remove", root, check=False)


def _indexed(box, project: str) -> int:
    rows = json.loads(ctl(box, "--json", "projects").stdout)
    return next((p["files"] for p in rows if p["name"] == project), -1)


def test_a_new_model_re_embeds_everything_and_keeps_the_old_vectors_until_done(system):
    # The project is cut to textwrap alone first (the last test of the module): the exact
    # model is numpy's float32 pass, and every chunk of the eight modules took it 115 s here.
    system.sh(f"find {ROOT} -name '*.py' ! -path {ROOT}/textwrap.py -delete")
    wait_until(lambda: _indexed(system, PID) == 1 and settled(system), timeout=60,
               what="the project cut to textwrap.py")
    old_name = next(iter(vectors(system)["models"]))
    system.sh("mkdir -p /etc/codeanalysisd/codeanalysisd.conf.d && printf '[Vectorizer]\\nPrecision=exact\\n'"
              " > /etc/codeanalysisd/codeanalysisd.conf.d/50-exact.conf")
    try:
        before = vectors(system)["models"][old_name]
        system.systemctl("restart", VECTORIZER)
        wait_until(lambda: len(vectors(system)["models"]) == 2, timeout=30, what="the new model announced")
        during = vectors(system)["models"]
        assert during[old_name]["embeddings"] == before["embeddings"]  # kept while the new one is incomplete
        new_name = next(n for n in during if n != old_name)
        assert new_name.endswith("@numpy") and not during[new_name]["complete"]
        wait_until(lambda: settled(system), timeout=240, what="every chunk embedded with the exact model")
        after = vectors(system)
        assert list(after["models"]) == [new_name]  # the old vectors went once the new ones were complete
        assert after["models"][new_name]["missing"] == 0
        found = semantic(system, "remove common leading whitespace from every line", "-p", PID, "-n", "5")
        assert "dedent" in {m["symbol"] for m in found}
    finally:
        system.sh("rm -f /etc/codeanalysisd/codeanalysisd.conf.d/50-exact.conf")
        system.systemctl("restart", VECTORIZER)

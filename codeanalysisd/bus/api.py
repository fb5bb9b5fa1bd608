"""The bus API's signatures, each written once.

The owner's two faces annotate their arguments with these names (dbus-fast reads D-Bus
signatures from annotations), and every client (the workers' ``OwnerClient``, the
vectorizer's, ``codeanalysisctl``) sends with the in-signature of the same ``Call``.
``tests/unit/test_bus_api.py`` checks that what the faces introspect equals this table,
so neither side can drift.
"""

from __future__ import annotations

from dataclasses import dataclass

# Compound argument and reply types, named for what they carry.
FILE_BATCH = "a(sxxays)"  # whole files: (path, size, mtime_ns, source, facts JSON)
FILE_STATES = "a(sxxays)"  # what the index holds: (path, size, mtime_ns, sha256, state)
STATS = "a(sxx)"  # (path, size, mtime_ns): same content, new stat
SYNTAX_PENDING = "a(say)"  # (path, sha256) awaiting a libcst verdict
SYNTAX_VERDICTS = "a(says)"  # (path, sha256 the verdict was made on, verdict)
SKIPPED = "a(ss)"  # (path, why it is not followed)
RECONCILE_ENTRIES = "a(sbxxay)"  # (path, on disk, size, mtime_ns, sha256)
NEEDED = "a(ss)"  # (path, repair action) the worker must read, parse and send
COUNTERS = "a{st}"  # a worker's counters by name (records.Counters)
MODEL = "(ut)"  # (model id, vectors stored of it)
CHUNKS_PAGE = "(a(ays)t)"  # ((key, text)..., continue after)
VECTORS_IN = "a(ayay)"  # (key, float32 vector)
VECTORS_STORED = "a(tay)"  # (id, key)
VECTORS_PAGE = "a(tayay)"  # (id, key, float32 vector)
MODEL_DONE = "(bt)"  # (complete, vectors of the model)

PROJECTS = "a(sssus)"  # records.ProjectInfo: id, name, root, file count, state
WORKER_ROWS = "aa{sv}"
HITS = "a(ssussd)"  # project, path, line, symbol, line text, score
MATCHES = "a(sssuuds)"  # project, path, symbol, first line, last line, score, chunk's first line
SYMBOLS = "a(ssssuuuss)"  # project, path, qualname, kind, line, column, end line, signature, docstring
USAGES = "a(sssssuu)"  # project, path, name, kind, enclosing symbol, line, column
VERSIONS = "a(usdtsbs)"  # number, sha256, time, size, reason, present, other path
PROBLEMS = "a(sss)"  # project, path, reasons
REPORT = "a{sv}"
REPAIR_ACTIONS = "a(ssss)"  # path, case, action, detail


@dataclass(frozen=True)
class Call:
    member: str
    args: str = ""  # the in-signature
    returns: str = ""  # the out-signature


def _table(*calls: Call) -> dict[str, Call]:
    return {c.member: c for c in calls}


# org.codeanalysis1.Worker: what the workers call on the owner.
WORKER = _table(
    Call("ReportProgress", "ss" + COUNTERS),
    Call("FileStates", "s", FILE_STATES),
    Call("IndexFiles", "s" + FILE_BATCH, "u"),
    Call("RemoveFiles", "sas", "u"),
    Call("MoveFile", "sssxx", "b"),
    Call("TouchFiles", "s" + STATS),
    Call("SyntaxPending", "su", SYNTAX_PENDING),
    Call("RecordSyntax", "s" + SYNTAX_VERDICTS, "u"),
    Call("SetSkipped", "ss" + SKIPPED),
    Call("SetProjectState", "sss"),
    Call("RepairPaths", "s", "as"),
    Call("ReconcileFiles", "s" + RECONCILE_ENTRIES, NEEDED),
    Call("RepairFiles", "s" + FILE_BATCH, "u"),
    Call("RegisterModel", "su", MODEL),
    Call("PendingChunks", "utu", CHUNKS_PAGE),
    Call("StoreVectors", "u" + VECTORS_IN, VECTORS_STORED),
    Call("ModelVectors", "utu", VECTORS_PAGE),
    Call("FinishModel", "u", MODEL_DONE),
)

# org.codeanalysis1.Manager: the public API (dbus/org.codeanalysis1.xml).
MANAGER = _table(
    Call("AddProject", "s", "s"),
    Call("RemoveProject", "s"),
    Call("ListProjects", "", PROJECTS),
    Call("WorkerStatus", "", WORKER_ROWS),
    Call("StartWorker", "s"),
    Call("StopWorker", "s"),
    Call("RestartWorker", "s"),
    Call("Search", "ssu", HITS),
    Call("SemanticSearch", "ssu", MATCHES),
    Call("HybridSearch", "ssu", MATCHES),
    Call("FindSymbol", "sssu", SYMBOLS),
    Call("FindReferences", "ssu", USAGES),
    Call("GetFileSource", "sss", "ay"),
    Call("ListVersions", "ss", VERSIONS),
    Call("RestoreFile", "sssb", REPORT),
    Call("Repair", "sb", REPORT),
    Call("RepairAndRestore", "sb", REPORT),
    Call("CheckIntegrity", "", REPORT),
    Call("ListProblems", "s", PROBLEMS),
)

# org.codeanalysis1.Vectorizer: what the owner asks the vectorizer.
NEAREST = Call("Nearest", "suaay", "a(ayd)")

"""The bus API's types and signatures, each written once.

Every argument and reply type is a ``typing.Annotated`` alias: the Python type the code
handles, with the D-Bus signature dbus-fast reads from it. The owner's faces annotate
their handlers with these aliases (so both dbus-fast and the type checker read them), and
every client (the workers' ``OwnerClient``, ``codeanalysisctl``, the owner's call to the
vectorizer) sends with the in-signature of the same ``Call``. ``tests/unit/test_bus_api.py``
checks that what the faces introspect equals this table, so neither side can drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, get_args

from dbus_fast import Variant
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusDict,
    DBusDouble,
    DBusInt64,
    DBusSignature,
    DBusStr,
    DBusUInt32,
    DBusUInt64,
)

# Structs arrive from dbus-fast as lists and may be sent as lists or tuples; the aliases
# name their fields' types in order.
Str = DBusStr
Bool = DBusBool
UInt32 = DBusUInt32
UInt64 = DBusUInt64
Int64 = DBusInt64
Double = DBusDouble
Bytes = DBusBytes
Report = DBusDict  # a{sv}: a reply of named values
StrList = Annotated[list[str], DBusSignature("as")]

# Compound types, named for what they carry.
FileRow = tuple[str, int, int, bytes, str, int]
FileBatch = Annotated[list[FileRow], DBusSignature("a(sxxaysu)")]  # (path, size, mtime_ns, source, facts JSON, mode)
StateRow = tuple[str, int, int, bytes, str]
FileStates = Annotated[list[StateRow], DBusSignature("a(sxxays)")]  # (path, size, mtime_ns, sha256, state)
Stats = Annotated[list[tuple[str, int, int]], DBusSignature("a(sxx)")]  # same content, new stat
SyntaxPending = Annotated[list[tuple[str, bytes]], DBusSignature("a(say)")]  # (path, sha256) to verify
# (path, sha256, syntax nodes as indexed, 0: not counted) to verify
SyntaxToVerify = Annotated[list[tuple[str, bytes, int]], DBusSignature("a(sayt)")]
SyntaxVerdicts = Annotated[list[tuple[str, bytes, str]], DBusSignature("a(says)")]  # (path, sha256, verdict)
Skipped = Annotated[list[tuple[str, str]], DBusSignature("a(ss)")]  # (path, why it is not followed)
ReconcileEntries = Annotated[list[tuple[str, bool, int, int, bytes]],
                             DBusSignature("a(sbxxay)")]  # (path, on disk, size, mtime_ns, sha256)
# (path, repair action): done by the owner, or (an action of repair.plan.NEEDS_CONTENT) for the worker to read and send
BatchActions = Annotated[list[tuple[str, str]], DBusSignature("a(ss)")]
Counters = Annotated[dict[str, int], DBusSignature("a{st}")]  # records.Counters by name
Model = Annotated[tuple[int, int], DBusSignature("(ut)")]  # (model id, vectors stored of it)
ChunksPage = Annotated[tuple[list[tuple[bytes, str]], int], DBusSignature("(a(ays)t)")]  # ((key, text)..., next)
VectorsIn = Annotated[list[tuple[bytes, bytes]], DBusSignature("a(ayay)")]  # (key, float32 vector)
VectorsStored = Annotated[list[tuple[int, bytes]], DBusSignature("a(tay)")]  # (id, key)
VectorsPage = Annotated[list[tuple[int, bytes, bytes]], DBusSignature("a(tayay)")]  # (id, key, vector)
ModelDone = Annotated[tuple[bool, int], DBusSignature("(bt)")]  # (complete, vectors of the model)
Keys = Annotated[list[bytes], DBusSignature("aay")]
Ranked = Annotated[list[tuple[bytes, float]], DBusSignature("a(ayd)")]  # (key, cosine similarity), best first
# The watcher's backlog: (project, paths changed on disk not indexed yet, last change seen: unix time, 0 none,
# its reconcile scan running, files sent and files in all of its current work: 0 while not counted yet,
# whether that work is showing files ahead of their facts: then done and total count the files shown)
PendingRow = tuple[str, int, float, bool, int, int, bool]
Pending = Annotated[list[PendingRow], DBusSignature("a(sudbuub)")]

Projects = Annotated[list[tuple[str, str, str, int, str]], DBusSignature("a(sssus)")]  # records.ProjectInfo
# records.ProjectInfo whole, for the workers: with the owner's uid and the root's identity (device, inode)
ProjectsFull = Annotated[list[tuple[str, str, str, int, str, int, int, int]], DBusSignature("a(sssusutt)")]
WorkerRows = Annotated[list[dict[str, Variant]], DBusSignature("aa{sv}")]
Hits = Annotated[list[tuple[str, str, int, str, str, float]],
                 DBusSignature("a(ssussd)")]  # project, path, line, symbol, line text, score
Matches = Annotated[list[tuple[str, str, str, int, int, float, str]],
                    DBusSignature("a(sssuuds)")]  # project, path, symbol, first, last line, score, first line
Symbols = Annotated[list[tuple[str, str, str, str, int, int, int, str, str]],
                    DBusSignature("a(ssssuuuss)")]  # project, path, qualname, kind, line, column, end, signature, doc
Usages = Annotated[list[tuple[str, str, str, str, str, int, int]],
                   DBusSignature("a(sssssuu)")]  # project, path, name, kind, enclosing symbol, line, column
# Structure (owner/structure.py). A reply cut at its bound ends with one more row whose first
# field is "": its first number is how many rows were left out (at least), its text says so.
OutlineRows = Annotated[list[tuple[str, str, int, int, int, str]],
                        DBusSignature("a(ssuuus)")]  # qualname, kind, line, end line, depth, signature
ImportRows = Annotated[list[tuple[str, str, str, int]],
                       DBusSignature("a(sssu)")]  # importer, imported, importer's path, line
ClassRows = Annotated[list[tuple[str, str, str, int, int]],
                      DBusSignature("a(sssuu)")]  # class, module, path, line, depth
CallRows = Annotated[list[tuple[str, str, str, str, int, str]],
                     DBusSignature("a(ssssus)")]  # caller, callee, path, enclosing symbol, line, resolution
UsageRows = Annotated[list[tuple[str, str, str, str, str, int, int, str]],
                      DBusSignature("a(sssssuus)")]  # project, path, enclosing symbol, kind, text, line, column,
#                                                     resolution
Versions = Annotated[list[tuple[int, str, float, int, str, bool, str]],
                     DBusSignature("a(usdtsbs)")]  # number, sha256, time, size, reason, present, other path
Problems = Annotated[list[tuple[str, str, str]], DBusSignature("a(sss)")]  # project, path, reasons
EmbeddingModels = Annotated[list[tuple[str, int, bool, int]], DBusSignature("a(subt)")]
Freshness = Annotated[list[tuple[str, int, int, float, bool, str]],
                      DBusSignature("a(suudbs)")]  # project, files indexed, pending, last change, stale, why
Progress = Annotated[list[tuple[str, str, int, int, int, str]],
                     DBusSignature("a(ssuuus)")]  # project, phase, files done, files in all, files indexed, why
REPAIR_ACTIONS = "a(ssss)"  # path, case, action, detail: inside a Report
# The repair worker's work per project: project, files checked, files repaired, the last action,
# the path it was taken on, when (unix time). Reported by the worker, and inside RepairWorkerStatus.
REPAIR_PROJECTS = "a(sttssd)"
RepairProjectRow = tuple[str, int, int, str, str, float]
RepairProjects = Annotated[list[RepairProjectRow], DBusSignature(REPAIR_PROJECTS)]
# The repair worker's schedule as StartRepairWorker set it: project ("" = all), batch size,
# poll interval (0 = the worker's configured [Repair] value)
RepairSchedule = Annotated[tuple[str, int, float], DBusSignature("sud")]
# What 0 stands for in the repair worker: its own [Repair] BatchSize= and PollInterval=
RepairConfigured = Annotated[tuple[int, float], DBusSignature("(ud)")]
TO_RESTORE = "a(su)"  # path, version: inside RepairAndRestore's Report, the files the caller writes back

# ListProjects and ListProblems answer in pages, (offset, limit) in the caller's view: limit 0
# asks for this many rows, and no page holds more. A page shorter than its limit is the last.
LIST_PAGE = 1000


def signature(*types: Any) -> str:
    """The D-Bus signature of a sequence of annotated types."""
    out = ""
    for alias in types:
        found = [a for a in get_args(alias) if isinstance(a, DBusSignature)]
        if len(found) != 1:
            raise TypeError(f"{alias!r} carries no D-Bus signature")
        out += found[0].signature
    return out


@dataclass(frozen=True)
class Call:
    member: str
    args: str = ""  # the in-signature
    returns: str = ""  # the out-signature


def _call(member: str, args: tuple[Any, ...] = (), returns: tuple[Any, ...] = ()) -> Call:
    return Call(member, signature(*args), signature(*returns))


def _table(*calls: Call) -> dict[str, Call]:
    return {c.member: c for c in calls}


# org.codeanalysis1.Worker: what the workers call on the owner.
WORKER = _table(
    _call("ReportProgress", (Str, Str, Counters)),
    _call("ReportPending", (Pending, Double)),  # projects, read_to
    _call("Projects", (UInt32, UInt32), (ProjectsFull,)),  # offset, limit
    _call("FileStates", (Str,), (FileStates,)),
    _call("IndexFiles", (Str, FileBatch), (UInt32,)),
    _call("ShowFiles", (Str, FileBatch), (UInt32,)),
    _call("RemoveFiles", (Str, StrList), (UInt32,)),
    _call("MoveFile", (Str, Str, Str, Int64, Int64), (Bool,)),
    _call("TouchFiles", (Str, Stats)),
    _call("SyntaxToVerify", (Str, UInt32, Str), (SyntaxToVerify,)),
    _call("SyntaxPending", (Str, UInt32, Str), (SyntaxPending,)),
    _call("RecordSyntax", (Str, SyntaxVerdicts), (UInt32,)),
    _call("SetSkipped", (Str, Str, Skipped)),
    _call("SetProjectState", (Str, Str, Str)),
    _call("RepairPaths", (Str,), (StrList,)),
    _call("ReconcileFiles", (Str, ReconcileEntries, Double), (BatchActions,)),  # project, entries, looked_at
    _call("WatcherHas", (), (StrList,)),
    _call("RepairFiles", (Str, FileBatch), (UInt32,)),
    _call("RepairSchedule", (), (RepairSchedule,)),
    # cycle, its files, done, repaired; the worker's configured (batch size, poll interval); per project
    _call("ReportRepair", (UInt32, UInt32, UInt32, UInt32, RepairConfigured, RepairProjects)),
    _call("RegisterModel", (Str, UInt32), (Model,)),
    _call("PendingChunks", (UInt32, UInt64, UInt32), (ChunksPage,)),
    _call("StoreVectors", (UInt32, VectorsIn), (VectorsStored,)),
    _call("ModelVectors", (UInt32, UInt64, UInt32), (VectorsPage,)),
    _call("FinishModel", (UInt32,), (ModelDone,)),
)

# org.codeanalysis1.Manager: the public API (dbus/org.codeanalysis1.xml).
MANAGER = _table(
    _call("AddProject", (Str,), (Str,)),
    _call("RemoveProject", (Str,)),
    _call("ListProjects", (UInt32, UInt32), (Projects,)),  # offset, limit
    _call("WorkerStatus", (), (WorkerRows,)),
    _call("StartWorker", (Str,)),
    _call("StopWorker", (Str,)),
    _call("RestartWorker", (Str,)),
    _call("StartRepairWorker", (Str, UInt32, Double), (Report,)),  # project, batch size, poll interval
    _call("StopRepairWorker", (Double, Bool), (Report,)),  # timeout, force
    _call("RepairWorkerStatus", (Str,), (Report,)),  # project
    _call("Search", (Str, Str, UInt32), (Hits,)),
    _call("SemanticSearch", (Str, Str, UInt32), (Matches,)),
    _call("HybridSearch", (Str, Str, UInt32), (Matches,)),
    _call("FindSymbol", (Str, Str, Str, UInt32), (Symbols,)),
    _call("FindReferences", (Str, Str, UInt32), (Usages,)),
    _call("GetFileSource", (Str, Str, Str), (Bytes,)),
    _call("ListVersions", (Str, Str), (Versions,)),
    _call("RestoreFile", (Str, Str, Str, Bool), (Report,)),
    _call("RecordRestore", (Str, Str, UInt32, Int64, Bool, Bytes, UInt32), (Report,)),
    _call("Repair", (Str, Bool), (Report,)),
    _call("RepairAndRestore", (Str, Bool), (Report,)),
    _call("CheckIntegrity", (), (Report,)),
    _call("ListProblems", (Str, UInt32, UInt32), (Problems,)),  # project, offset, limit
    _call("Outline", (Str, Str), (OutlineRows,)),  # project, path
    _call("Imports", (Str, Str, Str, UInt32), (ImportRows,)),  # project, module, direction, depth
    _call("ImportChain", (Str, Str, Str), (StrList,)),  # project, importer, imported
    _call("ClassHierarchy", (Str, Str, Str), (ClassRows,)),  # project, class, direction
    _call("CallGraph", (Str, Str, Str, UInt32), (CallRows,)),  # project, symbol, direction, depth
    _call("FindUsages", (Str, Str, UInt32), (UsageRows,)),  # target, project, limit
    _call("IndexStatus", (Str,), (Freshness,)),
    _call("IndexProgress", (Str,), (Progress,)),
)

# org.codeanalysis1.Vectorizer: what the owner asks the vectorizer.
VECTORIZER = _table(
    _call("Nearest", (Str, UInt32, Keys), (Ranked,)),
)

"""The names every part of the suite agrees on: bus, object, interfaces, units."""

BUS_NAME = "org.codeanalysis1"
OBJECT_PATH = "/org/codeanalysis1"
MANAGER_INTERFACE = "org.codeanalysis1.Manager"
# Worker -> DB owner calls. The bus policy admits only the service user (and root) to it.
WORKER_INTERFACE = "org.codeanalysis1.Worker"
# The vectorizer answers the owner's semantic queries: it holds the model and the vectors in memory.
VECTORIZER_NAME = "org.codeanalysis1.Vectorizer"
VECTORIZER_PATH = "/org/codeanalysis1/Vectorizer"
VECTORIZER_INTERFACE = "org.codeanalysis1.Vectorizer"
ERROR_PREFIX = "org.codeanalysis1.Error."

# Who may call the Manager (besides root), and who may also control the units and check the
# databases. The service's own user and group, "codeanalysis", is nobody else's.
USERS_GROUP = "codeanalysis-users"
ADMIN_GROUP = "codeanalysis-admin"

TARGET_UNIT = "codeanalysisd.target"
OWNER_UNIT = "codeanalysisd-db.service"
# Worker name (as used on the bus and the command line) -> systemd unit.
WORKER_UNITS = {
    "watcher": "codeanalysisd-watcher.service",
    "vectorizer": "codeanalysisd-vectorizer.service",
    "repair": "codeanalysisd-repair.service",
}
# The parser units (a template): libcst verification of concrete syntax, one instance per core
# by default ([Parser] Units=), started by the DB owner through systemd. Numbered from 1.
PARSER_TEMPLATE = "codeanalysisd-parser@.service"


def parser_unit(number: int) -> str:
    """The unit of parser instance ``number`` (1-based)."""
    return f"codeanalysisd-parser@{number}.service"


def parser_name(number: int) -> str:
    """A parser unit's name in WorkerStatus and its progress reports."""
    return f"parser@{number}"

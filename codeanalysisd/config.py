"""Configuration in systemd's style: a main INI file plus drop-ins, validated at start.

``/etc/codeanalysisd/codeanalysisd.conf``, then ``codeanalysisd.conf.d/*.conf`` in lexical
order, later files overriding earlier ones key by key. A bad value is an error that names
the key and the file it came from.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_CONFIG = Path("/etc/codeanalysisd/codeanalysisd.conf")


def user_config() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "codeanalysisd" / "codeanalysisd.conf"


PRECISIONS = ("int8", "exact")
# What [Repair] accepts; StartRepairWorker holds a schedule it sets to the same bounds.
REPAIR_BATCH_RANGE = (1, 100_000)  # files per batch
REPAIR_INTERVAL_RANGE = (0.1, 86400.0)  # seconds between batches
PARSER_UNITS_RANGE = (1, 64)
MAX_SYNTAX_NODES_RANGE = (0, 1_000_000_000)  # 0: no bound


def default_parser_units() -> int:
    """One parser unit per CPU this process may run on (what [Parser] Units= defaults to)."""
    return max(PARSER_UNITS_RANGE[0], min(PARSER_UNITS_RANGE[1], len(os.sched_getaffinity(0))))


class ConfigError(ValueError):
    pass


# Every (section, key) the files may set; anything else is refused. The manual page
# codeanalysisd.conf(5) lists exactly these.
KEYS: tuple[tuple[str, str], ...] = (
    ("Database", "Path"), ("Workers", "ReportInterval"), ("Projects", "MaxPerUser"),
    ("Index", "MaxParseSize"), ("Index", "Exclude"), ("Index", "MaxWatches"), ("Index", "RescanInterval"),
    ("History", "MaxVersions"), ("History", "MaxAge"), ("Repair", "PollInterval"), ("Repair", "BatchSize"),
    ("Vectorizer", "Precision"), ("Parser", "Units"), ("Parser", "MaxSyntaxNodes"),
)


@dataclass(frozen=True)
class Config:
    database_path: str = ""  # empty: index.sqlite3 in the state directory
    report_interval: float = 5.0  # seconds between a worker's progress reports to the owner
    # Parsing costs ~160x the source size in memory for dense code; larger files get full text only.
    max_parse_size: int = 1024 * 1024
    exclude: tuple[str, ...] = ()  # extra .gitignore-style patterns, relative to each project root
    max_watches: int = 0  # inotify watches the watcher may use; 0: as many as the kernel allows
    rescan_interval: float = 30.0  # seconds between rescans of directories left without a watch
    max_versions: int = 100  # versions kept per file (the latest is always kept)
    max_age: float = 365 * 86400.0  # seconds; older versions are pruned (0 = keep regardless of age)
    repair_interval: float = 10.0  # seconds from the start of one repair worker batch to the next
    repair_batch: int = 200  # files the repair worker checks per batch
    precision: str = "int8"  # the vectorizer's model: "int8" (quantized ONNX graph) or "exact" (float32 numpy)
    max_projects: int = 50  # projects one user (root excepted) may register
    parser_units: int = field(default_factory=default_parser_units)  # libcst verification, one unit each
    # Files with more ast nodes are not given to libcst: its tree took 1.4 to 6.7 KB a node
    # (bench/syntax_memory.py), 235 MB at most at this bound, and the unit's own 35 to 50 MB
    # come on top: under 300 MB. No file of the standard library has more than 25,000.
    max_syntax_nodes: int = 35_000
    sources: tuple[str, ...] = ()


def _files(main: Path) -> list[Path]:
    files = [main] if main.is_file() else []
    dropins = main.parent / (main.name + ".d")
    if dropins.is_dir():
        files += sorted(p for p in dropins.iterdir() if p.suffix == ".conf" and p.is_file())
    return files


class _Parser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # keys keep systemd-style CamelCase


def load(main: Path) -> Config:
    values: dict[tuple[str, str], tuple[str, str]] = {}
    files = _files(main)
    for path in files:
        parser = _Parser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot parse: {exc}") from None
        for section in parser.sections():
            for key, value in parser.items(section):
                values[(section, key)] = (value.strip(), str(path))
    for (section, key), (_value, where) in values.items():
        if (section, key) not in KEYS:
            raise ConfigError(f"{where}: unknown key {key}= in [{section}]")
    cfg: dict[str, object] = {"sources": tuple(str(p) for p in files)}
    if ("Database", "Path") in values:
        value, where = values[("Database", "Path")]
        if value and not value.startswith("/"):
            raise ConfigError(f"{where}: [Database] Path= must be an absolute path, got {value!r}")
        cfg["database_path"] = value
    if ("Workers", "ReportInterval") in values:
        value, where = values[("Workers", "ReportInterval")]
        try:
            seconds = float(value.removesuffix("s"))
        except ValueError:
            seconds = -1.0
        if not 0.1 <= seconds <= 3600:
            raise ConfigError(
                f"{where}: [Workers] ReportInterval= must be seconds between 0.1 and 3600, got {value!r}"
            )
        cfg["report_interval"] = seconds
    if ("Index", "MaxParseSize") in values:
        value, where = values[("Index", "MaxParseSize")]
        cfg["max_parse_size"] = _size(value, where, "[Index] MaxParseSize=")
    if ("Index", "Exclude") in values:
        cfg["exclude"] = tuple(values[("Index", "Exclude")][0].split())
    if ("Index", "MaxWatches") in values:
        cfg["max_watches"] = _count(*values[("Index", "MaxWatches")], "[Index] MaxWatches=", 0, 10_000_000)
    if ("Index", "RescanInterval") in values:
        cfg["rescan_interval"] = _timespan(*values[("Index", "RescanInterval")], "[Index] RescanInterval=", 0.5, 86400)
    if ("History", "MaxVersions") in values:
        cfg["max_versions"] = _count(*values[("History", "MaxVersions")], "[History] MaxVersions=", 1, 1_000_000)
    if ("History", "MaxAge") in values:
        cfg["max_age"] = _timespan(*values[("History", "MaxAge")], "[History] MaxAge=", 0, 100 * 365 * 86400)
    if ("Repair", "PollInterval") in values:
        cfg["repair_interval"] = _timespan(*values[("Repair", "PollInterval")], "[Repair] PollInterval=",
                                            *REPAIR_INTERVAL_RANGE)
    if ("Repair", "BatchSize") in values:
        cfg["repair_batch"] = _count(*values[("Repair", "BatchSize")], "[Repair] BatchSize=", *REPAIR_BATCH_RANGE)
    if ("Projects", "MaxPerUser") in values:
        cfg["max_projects"] = _count(*values[("Projects", "MaxPerUser")], "[Projects] MaxPerUser=", 0, 100_000)
    if ("Parser", "Units") in values and values[("Parser", "Units")][0]:  # empty: one per CPU, as if unset
        cfg["parser_units"] = _count(*values[("Parser", "Units")], "[Parser] Units=", *PARSER_UNITS_RANGE)
    if ("Parser", "MaxSyntaxNodes") in values:
        cfg["max_syntax_nodes"] = _count(*values[("Parser", "MaxSyntaxNodes")], "[Parser] MaxSyntaxNodes=",
                                         *MAX_SYNTAX_NODES_RANGE)
    if ("Vectorizer", "Precision") in values:
        value, where = values[("Vectorizer", "Precision")]
        if value not in PRECISIONS:
            raise ConfigError(f"{where}: [Vectorizer] Precision= must be one of {', '.join(PRECISIONS)}, got {value!r}")
        cfg["precision"] = value
    return Config(**cfg)  # type: ignore[arg-type]


def _count(value: str, path: str, key: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise ConfigError(f"{path}: {key} must be a whole number from {low} to {high}, got {value!r}")
    return number


# systemd.time(7) spans, the subset that makes sense here: "90", "90s", "5min", "2h", "30d", "1w", "1y".
_SPANS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def _timespan(value: str, path: str, key: str, low: float, high: float) -> float:
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    try:
        seconds = float(number) * _SPANS[value[len(number):]]
    except (ValueError, KeyError):
        seconds = -1.0
    if not low <= seconds <= high:
        raise ConfigError(f"{path}: {key} must be a time span from {low:g} s to {high:g} s "
                          f"(e.g. 30s, 5min, 2h, 90d), got {value!r}")
    return seconds


_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}


def _size(value: str, path: str, key: str) -> int:
    number, unit = value.rstrip("KMGkmg"), value[len(value.rstrip("KMGkmg")):].upper()
    try:
        size = int(number) * _UNITS[unit]
    except (ValueError, KeyError):
        size = -1
    if size < 0:
        raise ConfigError(f"{path}: {key} must be a size in bytes (suffix K, M or G allowed), got {value!r}")
    return size

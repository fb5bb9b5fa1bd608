import pytest

from codeanalysisd.config import Config, ConfigError, load


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_defaults_when_absent(tmp_path):
    assert load(tmp_path / "codeanalysisd.conf") == Config()


def test_dropins_override_in_order(tmp_path):
    main = tmp_path / "codeanalysisd.conf"
    write(main, "[Workers]\nReportInterval=5\n")
    write(tmp_path / "codeanalysisd.conf.d" / "20-b.conf", "[Workers]\nReportInterval=2s\n")
    write(tmp_path / "codeanalysisd.conf.d" / "10-a.conf", "[Workers]\nReportInterval=9\n[Database]\nPath=/x.db\n")
    write(tmp_path / "codeanalysisd.conf.d" / "ignored.txt", "garbage")
    cfg = load(main)
    assert cfg.report_interval == 2.0 and cfg.database_path == "/x.db"
    assert [s.rsplit("/", 1)[-1] for s in cfg.sources] == ["codeanalysisd.conf", "10-a.conf", "20-b.conf"]


@pytest.mark.parametrize("text, message", [
    ("[Workers]\nReportInterval=soon\n", r"codeanalysisd.conf: \[Workers\] ReportInterval= must be seconds"),
    ("[Database]\nPath=relative.db\n", r"\[Database\] Path= must be an absolute path"),
    ("[Workers]\nSpeed=9\n", r"unknown key Speed= in \[Workers\]"),
    ("no section\n", "cannot parse"),
])
def test_bad_values_name_key_and_file(tmp_path, text, message):
    main = tmp_path / "codeanalysisd.conf"
    write(main, text)
    with pytest.raises(ConfigError, match=message):
        load(main)


def test_index_keys(tmp_path):
    main = tmp_path / "codeanalysisd.conf"
    write(main, "[Index]\nMaxParseSize=2M\nExclude=generated/ *_pb2.py\n")
    cfg = load(main)
    assert cfg.max_parse_size == 2 * 1024 * 1024 and cfg.exclude == ("generated/", "*_pb2.py")
    write(main, "[Index]\nMaxParseSize=lots\n")
    with pytest.raises(ConfigError, match=r"\[Index\] MaxParseSize= must be a size in bytes"):
        load(main)


@pytest.mark.parametrize("span, seconds", [
    ("90d", 90 * 86400.0), ("12h", 43200.0), ("30s", 30.0), ("5min", 300.0), ("2m", 120.0), ("1w", 604800.0),
    ("45", 45.0), ("0", 0.0),
])
def test_history_and_repair_keys(tmp_path, span, seconds):
    main = tmp_path / "codeanalysisd.conf"
    write(main, f"[History]\nMaxVersions=7\nMaxAge={span}\n[Repair]\nPollInterval=2.5min\nBatchSize=50\n")
    cfg = load(main)
    assert (cfg.max_versions, cfg.max_age, cfg.repair_interval, cfg.repair_batch) == (7, seconds, 150.0, 50)


def test_history_and_repair_defaults():
    cfg = Config()
    assert (cfg.max_versions, cfg.max_age, cfg.repair_interval, cfg.repair_batch) == (100, 365 * 86400.0, 10.0, 200)


@pytest.mark.parametrize("text, message", [
    ("[History]\nMaxVersions=0\n", r"\[History\] MaxVersions= must be a whole number from 1 to 1000000, got '0'"),
    ("[History]\nMaxVersions=many\n", r"\[History\] MaxVersions= must be a whole number"),
    ("[History]\nMaxVersions=2.5\n", r"\[History\] MaxVersions= must be a whole number"),
    ("[History]\nMaxAge=5x\n", r"\[History\] MaxAge= must be a time span .*got '5x'"),
    ("[History]\nMaxAge=-1d\n", r"\[History\] MaxAge= must be a time span"),
    ("[History]\nMaxAge=200y\n", r"\[History\] MaxAge= must be a time span"),
    ("[History]\nMaxAge=d\n", r"\[History\] MaxAge= must be a time span"),
    ("[History]\nMaxAge=\n", r"\[History\] MaxAge= must be a time span"),
    ("[Repair]\nPollInterval=0\n", r"\[Repair\] PollInterval= must be a time span from 0.1 s to 86400 s"),
    ("[Repair]\nPollInterval=2d\n", r"\[Repair\] PollInterval= must be a time span"),
    ("[Repair]\nBatchSize=100001\n", r"\[Repair\] BatchSize= must be a whole number from 1 to 100000"),
    ("[Repair]\nBatchSize=\n", r"\[Repair\] BatchSize= must be a whole number"),
])
def test_bad_history_and_repair_values_name_key_and_dropin(tmp_path, text, message):
    main = tmp_path / "codeanalysisd.conf"
    write(main, "[History]\nMaxVersions=5\n")
    write(tmp_path / "codeanalysisd.conf.d" / "50-x.conf", text)
    with pytest.raises(ConfigError, match=r"codeanalysisd.conf.d/50-x.conf: " + message):
        load(main)


def test_parser_max_syntax_nodes(tmp_path):
    main = tmp_path / "codeanalysisd.conf"
    assert load(main).max_syntax_nodes == 35_000
    write(main, "[Parser]\nMaxSyntaxNodes=0\n")
    assert load(main).max_syntax_nodes == 0  # no bound
    write(main, "[Parser]\nMaxSyntaxNodes=200000\n")
    assert load(main).max_syntax_nodes == 200_000
    for bad in ("-1", "50k", ""):
        write(main, f"[Parser]\nMaxSyntaxNodes={bad}\n")
        with pytest.raises(ConfigError, match=r"codeanalysisd.conf: \[Parser\] MaxSyntaxNodes= must be a whole "
                                              r"number from 0 to 1000000000"):
            load(main)

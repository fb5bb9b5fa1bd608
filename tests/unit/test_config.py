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

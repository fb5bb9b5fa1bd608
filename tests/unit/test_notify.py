from codeanalysisd.notify import _safe


def test_status_text_is_made_ascii_safe():
    # sdnotify encodes latin-1 and would silently drop this status
    assert _safe("indexing \u00e9t\u00e9/\u2603.py\nnext") == "indexing \\xe9t\\xe9/\\u2603.py next"


def test_a_long_start_asks_systemd_for_more_time_over_the_notify_socket(tmp_path, monkeypatch):
    """The datagram systemd reads: EXTEND_TIMEOUT_USEC= in microseconds."""
    import socket

    from codeanalysisd.notify import Notifier

    path = str(tmp_path / "notify")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    notifier = Notifier()
    try:
        notifier.extend_start(60)
        assert server.recv(4096) == b"EXTEND_TIMEOUT_USEC=60000000"
    finally:
        notifier.close()
        server.close()

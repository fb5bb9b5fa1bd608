from codeanalysisd.notify import _safe


def test_status_text_is_made_ascii_safe():
    # sdnotify encodes latin-1 and would silently drop this status
    assert _safe("indexing \u00e9t\u00e9/\u2603.py\nnext") == "indexing \\xe9t\\xe9/\\u2603.py next"

"""A small package the query language is tried on, by the unit tests (the index's SQLite in
process) and the system tests (the installed suite): the same files, the same expectations."""

COPY_FILES = {
    "pkg/shutil_like.py": (
        "import os\n\n\n"
        "def copytree(src, dst):\n"
        '    """Recursively copy a directory tree."""\n'
        "    return _copytree(src, dst)\n\n\n"
        "def _copytree(src, dst):\n"
        "    os.makedirs(dst)  # Copy the tree\n\n\n"
        "class TreeCopier:\n"
        "    def copy(self, src):\n"
        "        return copytree(src, src + '.bak')\n\n\n"
        "async def copy_later(src):\n"
        "    return copytree(src, 'x')\n"),
    "tests/test_copy.py": "from pkg.shutil_like import copytree\n\n\ndef test_copytree():\n    copytree('a', 'b')\n",
}

"""codeanalysisd: a live, exact, searchable index of Python code bases."""

__version__ = "0.1.0"

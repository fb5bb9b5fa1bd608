"""The preset dictionary the full-text windows are packed with (``stored_text.pack_window``).

A window is 30 lines, about a kilobyte: too short for DEFLATE to find much to repeat within
it, and most of what it would repeat is Python's own (keywords, ``self.``, the shapes of a
class, a method, a docstring). Given as a dictionary, those repeat from the first line
(bench/window_dictionary.py). The text is written by hand, a generic module of Python, not
drawn from a corpus the benchmarks measure.

Never edit it: every window in an index was packed with these bytes and is read with them.
A better dictionary is a new constant and a migration that packs every window again.
"""

DICTIONARY = b'''\
#!/usr/bin/env python3
# -*- coding: utf-8 -*-
from __future__ import annotations

import os
import sys
import re
import json
import logging
from typing import Any, Optional, Union, List, Dict, Tuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

__all__ = [

class Error(Exception):
    """Raised when


@dataclass
class Base(object):
    """Return the

    Args:
        name: The name of the
    Returns:
        The
    Raises:
        ValueError: If the

    Parameters
    ----------
    value : str, optional
        The default is None.

    :param name: the name of the
    :type name: str
    :return: the
    :rtype: bool
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = name
        self._value = None

    def __repr__(self):
        return f"{self.__class__.__name__}({self.name!r})"

    def __eq__(self, other):
        if not isinstance(other, self.__class__):
            return NotImplemented
        return self.value == other.value

    @property
    def value(self) -> str:
        return self._value

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Base":
        return cls(**data)

    @staticmethod
    def _check(value):
        if value is None:
            raise ValueError("value must not be None")
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield item
        else:
            raise TypeError("expected %s, got %r" % (type(value).__name__, value))

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default
        finally:
            pass

    def items(self):
        result = []
        for i in range(len(self)):
            result.append(self[i])
        return result


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) > 0, "empty"
    while True:
        break
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

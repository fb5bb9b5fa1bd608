"""python -m codeanalysisd.manpages --tree SRC --out MANDIR: write the manual pages."""

from __future__ import annotations

import argparse
from pathlib import Path

from codeanalysisd.manpages import write


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m codeanalysisd.manpages", description=__doc__)
    parser.add_argument("--tree", type=Path, default=Path.cwd(),
                        help="the source tree (its units/, dbus/ and packaging/config/); default: here")
    parser.add_argument("--out", type=Path, required=True, help="where man1/, man5/ and man8/ go")
    parser.add_argument("--libdir", default="/usr/lib/codeanalysisd", help="where the program is installed")
    args = parser.parse_args()
    for path in write(args.tree, args.out, args.libdir):
        print(path)


if __name__ == "__main__":
    main()

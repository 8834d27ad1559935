"""How every benchmark prints: the command that reproduces it, then aligned rows."""

from __future__ import annotations

import sys


def print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"$ python {' '.join(sys.argv)}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")

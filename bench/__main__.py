"""Run every benchmark module in bench/ (or those named on the command line)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(names: list[str]) -> None:
    here = Path(__file__).parent
    modules = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    for name in names or modules:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n## {name}\n")
        module.main()


if __name__ == "__main__":
    main(sys.argv[1:])

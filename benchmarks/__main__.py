"""``python -m benchmarks``            run every benchmark module (those defining ``main``);
``python -m benchmarks NAME [ARGS]``   run one (e.g. ``pages``, ``dossiers --rows 1000000``);
``python -m benchmarks --list``        list them.

A benchmark is any module in this folder with ``main(argv: list[str] | None) -> int``;
helper modules (names starting with ``_`` or ``gen_``) are skipped.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    names = []
    for info in pkgutil.iter_modules([str(HERE)]):
        if info.ispkg or info.name.startswith(("_", "gen_")):
            continue
        source = (HERE / f"{info.name}.py").read_text(encoding="utf-8")
        if "\ndef main(" in source:
            names.append(info.name)
    return sorted(names)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = discover()
    if argv and argv[0] in ("-h", "--help", "--list"):
        print(__doc__)
        print("benchmarks:", ", ".join(names))
        return 0
    if argv and not argv[0].startswith("-"):
        name, rest = argv[0], argv[1:]
        if name not in names:
            print(f"unknown benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        return int(importlib.import_module(f"benchmarks.{name}").main(rest) or 0)
    status = 0
    for name in names:
        print(f"\n=== benchmarks.{name} ===", flush=True)
        start = time.perf_counter()
        code = int(importlib.import_module(f"benchmarks.{name}").main([]) or 0)
        print(f"=== benchmarks.{name}: exit {code} in {time.perf_counter() - start:.1f} s ===", flush=True)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Run the benchmarks (`make bench`). Each module's ``run()`` prints its own figures.

`python -m bench NAME ...` runs only the named ones (e.g. `python -m bench producer`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from bench import BENCHES

NAMES = [module.rsplit(".", 1)[-1] for module in BENCHES]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the benchmarks; each prints its figures.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"only these benchmarks, of: {', '.join(NAMES)}")
    names = parser.parse_args(argv).names
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)} (there are: {', '.join(NAMES)})")
    selected = [m for m, name in zip(BENCHES, NAMES, strict=True) if not names or name in names]
    for module in selected:
        print(f"\n== {module}", flush=True)
        started = time.monotonic()
        saved = dict(os.environ)
        try:
            importlib.import_module(module).run()
        finally:
            # a benchmark points this process at its private stack (stack.apply_env): the next one
            # must not start from it (a stack's token left behind made bench.page's API refuse its
            # driver's messages in the full run)
            os.environ.clear()
            os.environ.update(saved)
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

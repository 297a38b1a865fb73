"""Run the benchmarks (`make bench`). Each module's ``run()`` prints its own figures.

`python -m bench NAME ...` runs only the named ones (e.g. `python -m bench producer`).
"""

from __future__ import annotations

import importlib
import sys
import time

from bench import BENCHES


def main(names: list[str]) -> int:
    selected = [m for m in BENCHES if not names or m.rsplit(".", 1)[-1] in names]
    for module in selected:
        print(f"\n== {module}", flush=True)
        started = time.monotonic()
        importlib.import_module(module).run()
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run the benchmarks (`make bench`). Each module's ``run()`` prints its own figures.

`python -m bench NAME ...` runs only the named ones (e.g. `python -m bench producer`).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
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
    selected = [(m, name) for m, name in zip(BENCHES, NAMES, strict=True) if not names or name in names]
    if len(selected) == 1:
        module, _ = selected[0]
        print(f"\n== {module}", flush=True)
        started = time.monotonic()
        importlib.import_module(module).run()
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
        return 0
    # each in a process of its own, so none inherits what the one before left: its environment
    # (a private stack's settings), a JVM (Spark's stays up until its Python exits), a heap the
    # collector walks (bench.api's load generator, after bench.lake in the same process, saw p99
    # 86-120 ms against 8-9 ms on its own)
    failed = [name for _, name in selected if subprocess.run([sys.executable, "-m", "bench", name]).returncode]
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The CLI's edge: settings errors become one line and an exit code; a closed pipe is not an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(argv: list[str], env: dict[str, str], pipe_to_head: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "alleycat.cli", *argv]
    if pipe_to_head:
        # the reader takes one line and goes away while the writer still has thousands to print
        shell = " ".join(command) + " | head -n 1"
        return subprocess.run(shell, shell=True, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_a_malformed_setting_is_one_line_and_exit_code_2() -> None:
    done = run(["env"], {**os.environ, "ALLEYCAT_SHARDS": "four"})
    assert done.returncode == 2
    assert done.stderr.strip() == "error: ALLEYCAT_SHARDS='four' is not a whole number"


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    argv = ["simulate", "--no-send", "--out", "/dev/stdout", "--racers", "200", "--race-seconds", "60",
            "--seed", "1", "--speed", "0"]  # fmt: skip
    done = run(argv, {**os.environ, "ALLEYCAT_HOME": str(tmp_path)}, pipe_to_head=True)
    assert done.returncode == 0
    assert done.stdout.count("\n") == 1 and '"uuid"' in done.stdout
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr


def command_modules_imported(argv: list[str]) -> list[str]:
    """The ``alleycat.cli`` modules a fresh interpreter has imported once it built the parser for ``argv``."""
    script = (
        "import sys; from alleycat.cli import build_parser; build_parser(sys.argv[1:]); "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('alleycat.cli.'))))"
    )
    done = subprocess.run([sys.executable, "-c", script, *argv], cwd=REPO, capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_a_command_other_processes_run_imports_only_its_own_module() -> None:
    """``alleycat consume`` and ``simulate`` start in other processes (the stack, the benchmarks):
    they do not pay for FastAPI and Spark's wiring. Help lists every command."""
    assert command_modules_imported(["--log-level", "INFO", "consume"]) == ["alleycat.cli.consume"]
    assert command_modules_imported(["simulate", "--seed", "1"]) == ["alleycat.cli.simulate"]
    assert {"alleycat.cli.api", "alleycat.cli.lake", "alleycat.cli.stack"} <= set(command_modules_imported(["--help"]))
